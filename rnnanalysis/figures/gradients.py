"""Figure data on gradient flow: gain profiles with every predictor, the phase diagram, cell kinds.

Each function draws its networks and inputs from ``seed`` and returns a frozen result; the
plotting lives in :mod:`rnnanalysis.plots`. Cells are Elman tanh with ``W_hh`` entries iid
``N(0, g^2/n)`` (``init="gaussian"``) unless said otherwise.

References:
    Pascanu, Mikolov & Bengio (2013), sec. 2.1 (the bound); Poole et al. (2016) and
    Chen, Pennington & Schoenholz (2018) (mean field, chi = 1); Mikhaeil, Monfared &
    Durstewitz (NeurIPS 2022) (lambda_1 > 0 implies diverging gradients).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import Result
from .._validate import rng_from
from ..cells import GRU, LSTM, Elman
from ..predict import check_predictions, critical_sigma_w, fit_log10_rate, lyapunov_spectrum, predict
from ..simulate import gradient_profile

__all__ = [
    "GainProfiles",
    "gain_profiles",
    "PhaseDiagram",
    "phase_diagram",
    "CellFlow",
    "cell_flow",
    "PREDICTORS",
]

PREDICTORS = ("pascanu_bound", "linear_rho", "mean_field_chi", "lyapunov_lambda1")


@dataclass(frozen=True)
class GainProfiles(Result):
    """Per-lag gradient norms at several gains, with each predictor's rate.

    gains: (G,); log10_norms: (G, T+1, B), ``log10 ||d(v.h_T)/dh_{T-lag}||`` in lag order
    (lag 0 first); measured: (G,) fitted rate (log10 per step, median over the batch, lags
    >= skip); predicted: predictor -> (G,) rates (log10 per step) from
    :func:`rnnanalysis.check_predictions`.
    """

    gains: np.ndarray
    log10_norms: np.ndarray
    measured: np.ndarray
    predicted: dict
    skip: int
    hidden: int
    input_scale: float


def gain_profiles(
    gains=(0.5, 0.9, 1.2, 1.6, 2.5), *, hidden=128, T=200, batch=8, input_scale=0.5, seed=0
) -> GainProfiles:
    """Elman tanh cells at each gain, driven by ``x_t ~ N(0, input_scale^2)``: profiles and predictions."""
    rng = rng_from(seed)
    logs, measured, pred = [], [], {p: [] for p in PREDICTORS}
    skip = T // 10
    for g in gains:
        cell = Elman(hidden, 1, "tanh", init="gaussian", gain=float(g), seed=rng)
        xs = input_scale * rng.standard_normal((T, batch, 1))
        check = check_predictions(cell, xs, skip=skip, seed=0)
        logs.append(gradient_profile(cell, xs).log10_norms[::-1])
        measured.append(check.measured_log10_rate)
        for p in PREDICTORS:
            pred[p].append(check.row(p).log10_rate)
    return GainProfiles(
        np.asarray(gains, float),
        np.stack(logs),
        np.asarray(measured),
        {p: np.asarray(v) for p, v in pred.items()},
        skip,
        hidden,
        float(input_scale),
    )


@dataclass(frozen=True)
class PhaseDiagram(Result):
    """Measured gradient rate over (sigma_w, sigma_b) with the predicted boundaries.

    log10_rate, lambda1_nats, log10_gamma_sigma_max, log10_rho: (Q, P) over
    ``sigma_b`` (Q,) x ``sigma_w`` (P,) — the measured rate (log10 per step, median over the
    batch), the measured top Lyapunov exponent (nats per step), and the two spectral predictors
    of each drawn W; chi_sigma_b / chi_sigma_w: the mean-field critical line chi = 1.
    """

    sigma_w: np.ndarray
    sigma_b: np.ndarray
    log10_rate: np.ndarray
    lambda1_nats: np.ndarray
    log10_gamma_sigma_max: np.ndarray
    log10_rho: np.ndarray
    chi_sigma_b: np.ndarray
    chi_sigma_w: np.ndarray
    hidden: int
    T: int


def phase_diagram(
    sigma_w=None, sigma_b=None, *, hidden=100, T=300, batch=4, chi_points=25, seed=0
) -> PhaseDiagram:
    """Autonomous Elman tanh (zero input, ``h_0 ~ N(0, 1)``) with biases ``b_i ~ N(0, sigma_b^2)``.

    sigma_w, sigma_b: grid values (default 16 from 0.3 to 3, 9 from 0 to 1). The
    chi = 1 line is :func:`rnnanalysis.critical_sigma_w` at ``chi_points`` values of sigma_b.
    """
    rng = rng_from(seed)
    sw = np.linspace(0.3, 3.0, 16) if sigma_w is None else np.asarray(sigma_w, float)
    sb = np.linspace(0.0, 1.0, 9) if sigma_b is None else np.asarray(sigma_b, float)
    shape = (sb.size, sw.size)
    rate, lam, bound, rho = (np.empty(shape) for _ in range(4))
    xs = np.zeros((T, batch, 1))
    skip = T // 10
    for i, b in enumerate(sb):
        for j, w in enumerate(sw):
            cell = Elman(hidden, 1, "tanh", init="gaussian", gain=float(w), seed=rng)
            params = dict(cell.params, bias_hh=b * rng.standard_normal(hidden))
            cell = cell.with_params(params)
            h0 = rng.standard_normal((batch, hidden))
            rate[i, j] = np.median(fit_log10_rate(gradient_profile(cell, xs, h0).log10_norms, skip))
            lam[i, j] = np.median(lyapunov_spectrum(cell, xs, h0, k=1, warmup=skip).lambda_max)
            p = predict(cell, horizon=0)
            bound[i, j], rho[i, j] = p.log10_rate_bound, p.log10_rate_linear
    fine_b = np.linspace(sb.min(), sb.max(), chi_points)
    chi_w = np.array([critical_sigma_w("tanh", b) for b in fine_b])
    return PhaseDiagram(sw, sb, rate, lam, bound, rho, fine_b, chi_w, hidden, T)


@dataclass(frozen=True)
class CellFlow(Result):
    """Per-lag gradient norms of Elman, LSTM and GRU cells under the same inputs.

    log10_norms: ``"kind|init"`` -> (T+1, B) in lag order (lag 0 first); for LSTM the norm is
    over the full state (h, c).
    """

    kinds: tuple
    inits: tuple
    log10_norms: dict
    hidden: int
    T: int


def cell_flow(
    kinds=("elman", "lstm", "gru"), inits=("pytorch", "orthogonal"), *, hidden=64, T=200, batch=8, seed=0
) -> CellFlow:
    """Each cell kind at each initialiser (gain 1) on inputs ``x_t ~ N(0, 1)`` (4 channels)."""
    rng = rng_from(seed)
    xs = rng.standard_normal((T, batch, 4))
    classes = {"elman": Elman, "lstm": LSTM, "gru": GRU}
    out = {}
    for init in inits:
        for kind in kinds:
            cell = classes[kind](hidden, 4, "tanh", init=init, seed=rng)
            out[f"{kind}|{init}"] = gradient_profile(cell, xs).log10_norms[::-1]
    return CellFlow(tuple(kinds), tuple(inits), out, hidden, T)
