"""The project's figures: which experiment computes each one's data and which plot draws it.

``run(outdir, quick=False, only=None)`` computes each figure's data (functions of
:mod:`rnnanalysis.experiments`, grids on :func:`rnnanalysis.sweep`), draws it with
:mod:`rnnanalysis.plots` and writes ``<name>.png`` and ``<name>.pdf`` (and the data as
``<name>.json``) to ``outdir``. Figure (f) reads the committed remedies study
(``papers/remedies/``) unless ``recompute=True``. ``quick=True`` uses small networks and short
runs (for CI); the figures say which sizes they used. The command line is
``rnnanalysis figures`` (:mod:`rnnanalysis.cli`); ``scripts/make_figures.py`` calls it.
"""

from __future__ import annotations

import inspect
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._threads import single_blas_thread
from .experiments import gradients, spectra, training
from .experiments.pool import one_blas_thread

__all__ = ["FIGURES", "FigureSpec", "PUBLISHED_LAMBDA_MAX", "run"]

#: lambda_max (nats/step) of h_{t+1} = W tanh(h_t) at g = 1.5, 2, 3: mean-field values derived
#: from Sompolinsky, Crisanti & Sommers (1988) with the formula of Poole et al. (2016); see
#: papers/published.md.
PUBLISHED_LAMBDA_MAX = {1.5: 0.065, 2.0: 0.155, 3.0: 0.310}


@dataclass(frozen=True)
class FigureSpec:
    """name: file stem; what: one line; compute: the experiment; plot: the plots function's name;
    full / quick: keyword arguments of ``compute``; committed: a function of no arguments giving
    the figure's data from committed results (used unless recomputing), or None; plot_kw: keyword
    arguments of the plot."""

    name: str
    what: str
    compute: object
    plot: str
    full: dict
    quick: dict
    committed: object = field(default=None)
    plot_kw: dict = field(default_factory=dict)


FIGURES = (
    FigureSpec(
        "a_gradient_vs_lag",
        "log10 gradient norm vs lag for several gains, each predictor's slope overlaid",
        gradients.gain_profiles,
        "plot_gain_profiles",
        dict(hidden=128, T=300, batch=8),
        dict(hidden=32, T=60, batch=4),
    ),
    FigureSpec(
        "b_phase_diagram",
        "measured gradient rate over (sigma_w, sigma_b) with the predicted boundaries",
        gradients.phase_diagram,
        "plot_phase_diagram",
        dict(sigma_w=np.linspace(0.3, 3.0, 19), sigma_b=np.linspace(0.0, 1.0, 11), hidden=100, T=300),
        dict(sigma_w=np.linspace(0.3, 3.0, 8), sigma_b=np.linspace(0.0, 1.0, 4), hidden=24, T=60, batch=2,
             chi_points=5),
    ),
    FigureSpec(
        "c_random_matrix",
        "eigenvalues vs the circular law, singular values vs the quarter-circle law",
        spectra.random_matrix_spectrum,
        "plot_random_matrix",
        dict(n=600),
        dict(n=150),
    ),
    FigureSpec(
        "d_lyapunov",
        "Lyapunov spectra at several gains and lambda_max(g) vs mean field",
        spectra.lyapunov_by_gain,
        "plot_lyapunov",
        dict(hidden=64, hidden_max=200, T=1000, repeats=3),
        dict(hidden=16, hidden_max=50, T=200, repeats=2, gains=np.linspace(0.25, 3.0, 6)),
        plot_kw={"published": PUBLISHED_LAMBDA_MAX},
    ),
    FigureSpec(
        "e_cells",
        "gradient flow in Elman vs LSTM vs GRU under two initialisers, and why they differ",
        gradients.cell_flow,
        "plot_cell_flow",
        dict(hidden=64, T=300, batch=8),
        dict(hidden=16, T=60, batch=4),
    ),
    FigureSpec(
        "f_remedies",
        "remedies: success rate against T on temporal order and adding",
        training.remedy_study,
        "plot_remedies",
        dict(seeds=5, budget=400, lengths=(50, 100, 200)),
        dict(tasks=("temporal_order",), remedies=("tanh", "lstm"), lengths=(5, 10), seeds=1, budget=40,
             hidden=8),
        committed=training.load_remedy_study,
    ),
    FigureSpec(
        "g_wall",
        "Pascanu 2013's error-surface wall with and without clipping",
        training.error_surface,
        "plot_error_surface",
        {},
        dict(w=np.linspace(1.0, 9.0, 81), b=np.linspace(-5.0, 2.0, 71)),
    ),
    FigureSpec(
        "h_singular_spectrum",
        "singular values of the Jacobian product by lag: measured vs free probability",
        spectra.singular_spectrum_comparison,
        "plot_singular_spectrum",
        dict(hidden=200, lags=(1, 5, 20), T=60, batch=2, points=200),
        dict(hidden=40, lags=(1, 5), T=20, batch=1, points=60),
    ),
)


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def _wanted(only):
    names = [s.name for s in FIGURES]
    if only is None:
        return set(names)
    wanted = {o if o in names else next((n for n in names if n[0] == o), o)
              for o in ([only] if isinstance(only, str) else only)}
    unknown = wanted - set(names)
    if unknown:
        raise ValueError(f"only: unknown figure(s) {sorted(unknown)}; expected names or letters of {names}")
    return wanted


def run(outdir="figures", quick=False, only=None, *, seed=0, recompute=False, formats=("png", "pdf"),
        dpi=150, data=True, workers=2, progress=_stderr) -> dict:
    """Make the figures named in ``only`` (default all; names or their letters "a".."g").

    recompute: also recompute the figures made from committed results (f: the remedies study);
    workers: processes the experiments' grids run on. Returns ``{name: (result, figure)}``;
    writes ``<name>.<fmt>`` for each format and the data as ``<name>.json`` (unless
    ``data=False``). ``progress``: a function of one string (None for silence).
    """
    wanted = _wanted(only)
    from . import plots

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    made = {}
    with ProcessPoolExecutor(workers, initializer=one_blas_thread) as ex, single_blas_thread():
        for spec in FIGURES:
            if spec.name not in wanted:
                continue
            t0 = time.perf_counter()
            if spec.committed is not None and not recompute:
                result, how = spec.committed(), "from committed results"
            else:
                params = inspect.signature(spec.compute).parameters
                kw = {**(spec.quick if quick else spec.full),
                      **({"seed": seed} if "seed" in params else {}),
                      **({"executor": ex} if "executor" in params else {})}
                result, how = spec.compute(**kw), "computed"
            fig = getattr(plots, spec.plot)(result, **spec.plot_kw)
            for fmt in formats:
                fig.savefig(out / f"{spec.name}.{fmt}", dpi=dpi)
            if data:
                result.save(out / f"{spec.name}.json")
            made[spec.name] = (result, fig)
            if progress:
                progress(f"{spec.name}: {time.perf_counter() - t0:.1f} s, {how}  ({spec.what})")
    return made
