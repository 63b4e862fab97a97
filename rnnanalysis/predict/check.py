"""Hold every prediction against the simulator: predicted vs measured gradient rates, side by side.

The measured rate is the slope of ``log10 ||dh_T/ds_k||`` over the lag ``T - k`` (from
:func:`rnnanalysis.gradient_profile`), fitted per sample after the first ``skip`` lags (the
transient while the adjoint aligns with the most unstable direction). The Pascanu bound must
hold at *every* step: the largest one-step growth observed is compared with it.

References:
    Pascanu, Mikolov & Bengio (2013); Mikhaeil, Monfared & Durstewitz (NeurIPS 2022);
    Sen (1968), "Estimates of the regression coefficient based on Kendall's tau" (Theil-Sen fit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .._results import Result
from .._threads import FEW_VECTORS, SINGLE_THREAD_MAX, single_blas_thread
from .._validate import finite_float, positive_int
from ..cells import check_cell
from ..cells.layout import prepare_inputs
from ..simulate import gradient_profile, lstsq_log10_rate
from ._regime import CRITICAL_BAND_LOG10, classify
from .lyapunov import lyapunov_spectrum
from .spectral import predict

__all__ = ["PredictorRow", "PredictionCheck", "check_predictions", "fit_log10_rate", "FITS"]

FITS = ("theil-sen", "mean", "lstsq")
_FIT_POINTS = 400            # Theil-Sen on at most this many evenly spaced lags
_BOUND_TOL = 1e-9            # log10 slack for rounding when testing the bound step by step


def fit_log10_rate(log10_norms, skip=0, fit="theil-sen") -> np.ndarray:
    """Per-sample slope of log10 norm over lag, lags >= ``skip``: (T+1, B) -> (B,) log10 per step.

    fit: "theil-sen" (median of pairwise slopes on <= 400 evenly spaced lags, robust to
    outliers), "mean" (mean one-step growth = end-to-end slope, the Lyapunov time average), or
    "lstsq" (least squares: :func:`rnnanalysis.simulate.lstsq_log10_rate`, the rate every profile
    and sweep reports). Negative = vanishing. A sample whose profile reaches exactly zero (-inf) gets -inf.
    """
    if fit not in FITS:
        raise ValueError(f"fit: expected one of {FITS}, got {fit!r}")
    if fit == "lstsq":
        return lstsq_log10_rate(log10_norms, skip)
    y = np.asarray(log10_norms, dtype=float)[::-1][skip:]          # lag skip, skip+1, ...
    lag = np.arange(skip, skip + y.shape[0], dtype=float)
    out = np.empty(y.shape[1:])
    for b in np.ndindex(*y.shape[1:]):
        yb = y[(slice(None),) + b]
        if np.any(yb == -np.inf):
            out[b] = -np.inf
        elif fit == "mean":
            out[b] = (yb[-1] - yb[0]) / (lag[-1] - lag[0])
        else:
            idx = np.unique(np.linspace(0, yb.size - 1, min(yb.size, _FIT_POINTS)).round().astype(int))
            out[b] = stats.theilslopes(yb[idx], lag[idx]).slope
    return out


@dataclass(frozen=True)
class PredictorRow(Result):
    """One predictor: its regime, its rate and error (log10 per step), whether its bound held."""

    predictor: str
    regime: str
    log10_rate: float
    error_log10: float
    bound_held: bool | None
    note: str


@dataclass(frozen=True)
class PredictionCheck(Result):
    """Predictions against the measured gradient rate of one cell on one input sequence.

    rows: one :class:`PredictorRow` per predictor (pascanu_bound, linear_rho, mean_field_chi,
    stochastic_linearisation — what ``ra.predict(cell, inputs=xs)`` says —, lyapunov_lambda1);
    measured_log10_rate: median over samples of ``measured_log10_rates``
    (B,); max_step_growth_log10: the largest one-step growth of the gradient norm observed.
    """

    rows: tuple
    measured_log10_rate: float
    measured_log10_rates: np.ndarray
    measured_regime: str
    max_step_growth_log10: float
    skip: int
    steps: int
    fit: str
    band: float

    def row(self, predictor: str) -> PredictorRow:
        for r in self.rows:
            if r.predictor == predictor:
                return r
        raise KeyError(f"predictor: expected one of {[r.predictor for r in self.rows]}, got {predictor!r}")

    def to_text(self) -> str:
        """A fixed-width table, rates in log10 per step."""
        head = f"{'predictor':<26}{'regime':<11}{'log10/step':>12}{'error':>11}  bound held"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            held = "" if r.bound_held is None else ("yes" if r.bound_held else "NO")
            lines.append(f"{r.predictor:<26}{r.regime:<11}{_fixed(r.log10_rate, 12)}"
                         f"{_fixed(r.error_log10, 11)}  {held}")
        lines.append(f"{'measured':<26}{self.measured_regime:<11}{self.measured_log10_rate:>+12.5f}")
        lines.append(f"(T = {self.steps}, first {self.skip} lags skipped, {self.fit} fit, "
                     f"critical band +-{self.band:g})")
        lines.append("(log10/step: slope of the log10 gradient norm over lag, < 0 vanishing; "
                     "error: predicted - measured;\n |rate| <= band: critical; terms defined in "
                     "docs/conventions.md)")
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()

    def to_latex(self, document: bool = False) -> str:
        """The same table as a LaTeX tabular ruled with ``\\hline`` (texlive-latex-base has no
        booktabs); ``document=True``: a standalone article that compiles with pdflatex."""
        def num(x):
            return "--" if math.isnan(x) else ("$-\\infty$" if x == -math.inf else f"${x:+.4f}$")

        lines = ["\\begin{tabular}{llrrl}", "\\hline\\hline",
                 "predictor & regime & $\\log_{10}$/step & error & bound held \\\\", "\\hline"]
        for r in self.rows:
            held = "" if r.bound_held is None else ("yes" if r.bound_held else "no")
            lines.append(f"{r.predictor.replace('_', chr(92) + '_')} & {r.regime} & {num(r.log10_rate)} & "
                         f"{num(r.error_log10)} & {held} \\\\")
        measured = f"measured & {self.measured_regime} & {num(self.measured_log10_rate)} & & \\\\"
        lines += ["\\hline", measured,
                  "\\hline\\hline", "\\end{tabular}"]
        table = "\n".join(lines)
        return ("\\documentclass{article}\n\\begin{document}\n\\begin{center}\n"
                f"{table}\n\\end{{center}}\n\\end{{document}}" if document else table)


def check_predictions(cell, xs, h0=None, *, skip=None, fit="theil-sen", direction=None,
                      band=CRITICAL_BAND_LOG10, seed=0) -> PredictionCheck:
    """Run the simulator and every predictor on (cell, xs: (T, B, m)); return the comparison table.

    skip: lags left out of the fit and used as the Lyapunov warm-up (default T // 10).
    fit: see :func:`fit_log10_rate`. band: rates within +-band (log10 per step) are "critical".
    Rates are log10 per step (Lyapunov exponents converted from nats by 1/ln 10).

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> cell = ra.Elman(8, 1, activation="linear", init="orthogonal", gain=0.9, seed=0)
        >>> table = ra.check_predictions(cell, np.zeros((200, 1, 1)))
        >>> table.row("linear_rho").regime, table.measured_regime
        ('vanishing', 'vanishing')
        >>> round(table.measured_log10_rate, 4)
        -0.0458
    """
    check_cell(cell)
    if cell.ensemble is not None:
        raise ValueError(f"cell: expected a single network, got an ensemble cell with E={cell.ensemble}")
    band = finite_float("band", band, at_least=0, unit="log10 per step")
    xsi = prepare_inputs(cell, xs)
    T = xsi.shape[0]
    skip = T // 10 if skip is None else positive_int("skip", skip, minimum=0)
    if skip >= T:
        raise ValueError(f"skip: expected fewer lags than the sequence length T={T}, got {skip}")
    with single_blas_thread(cell.hidden <= SINGLE_THREAD_MAX or xsi.shape[-2] <= FEW_VECTORS):
        profile = gradient_profile(cell, xs, h0, direction)
    rates = fit_log10_rate(profile.log10_norms, skip, fit)
    measured = float(np.median(rates))
    with np.errstate(invalid="ignore"):
        steps = profile.log10_norms[:-1] - profile.log10_norms[1:]        # growth lag -> lag + 1
    max_growth = float(np.max(steps[np.isfinite(steps)], initial=-np.inf))
    gated = cell.kind != "elman"                  # LSTM, GRU, a Stack: no scalar mean field
    pred = predict(cell, band=band, seed=seed, horizon=0, inputs=xs)
    rows = []
    held = None if gated else bool(max_growth <= pred.log10_rate_bound + _BOUND_TOL)
    rows.append(PredictorRow("pascanu_bound", "vanishing" if pred.vanishing_guaranteed else "undecided",
                             pred.log10_rate_bound, _error(pred.log10_rate_bound, measured), held,
                             "log10(gamma sigma_max)" + (f" of the {pred.source} (local, not a bound)"
                                                         if gated else "")))
    lin = pred.log10_rate_linear
    rows.append(PredictorRow("linear_rho", classify(lin, band), lin, _error(lin, measured), None,
                             f"log10 rho of the {pred.source}"))
    mf = math.nan if gated else pred.log10_rate_mean_field
    note = "mean field is for Elman cells" if gated else "log10(chi)/2, inputs included"
    rows.append(PredictorRow("mean_field_chi", "n/a" if gated else classify(mf, band), mf,
                             _error(mf, measured), None, note))
    st = pred.log10_rate_estimate
    rows.append(PredictorRow("stochastic_linearisation", classify(st, band), st, _error(st, measured), None,
                             f"ra.predict(cell, inputs=xs): {pred.predictor}, from the weights and the "
                             f"inputs' mean and covariance"))
    ly = lyapunov_spectrum(cell, xs, h0, k=1, warmup=skip, seed=seed)
    lam = float(np.median(ly.lambda_max)) / math.log(10.0)
    rows.append(PredictorRow("lyapunov_lambda1", classify(lam, band), lam, _error(lam, measured), None,
                             "median lambda_1 / ln 10 along this trajectory"))
    return PredictionCheck(tuple(rows), measured, rates, classify(measured, band), max_growth,
                           skip, T, fit, band)


def _error(predicted, measured):
    """predicted - measured in log10 per step; 0 when both are the same infinity (an exactly
    zero gradient predicted and measured), not NaN."""
    return 0.0 if predicted == measured else predicted - measured


def _fixed(x, width):
    """A signed fixed-point column; "n/a" for a predictor that does not apply (NaN)."""
    return f"{'n/a':>{width}}" if math.isnan(x) else f"{x:>+{width}.5f}"
