"""The figure registry: every figure of the project, made from scratch from a seed.

``run(outdir, quick=False, only=None)`` computes each figure's data (the functions of
:mod:`.gradients`, :mod:`.spectra`, :mod:`.training`), draws it with :mod:`rnnanalysis.plots`
and writes ``<name>.png`` and ``<name>.pdf`` (and the data as ``<name>.json``) to ``outdir``.
``quick=True`` uses small networks and short runs (for CI); the figure titles say which sizes
they used. ``rnnanalysis figures --outdir DIR [--quick]`` and
``scripts/make_figures.py`` call it.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._threads import single_blas_thread
from . import gradients, spectra, training

__all__ = ["FIGURES", "FigureSpec", "PUBLISHED_LAMBDA_MAX", "run", "main"]

#: lambda_max (nats/step) of h_{t+1} = W tanh(h_t), mean-field values listed as *derived* in
#: shared/reference/published.md (Sompolinsky et al. 1988; Poole et al. 2016 formula).
PUBLISHED_LAMBDA_MAX = {1.5: 0.065, 2.0: 0.155, 3.0: 0.310}


@dataclass(frozen=True)
class FigureSpec:
    """name: file stem; what: one line; full / quick: keyword arguments of ``compute``."""

    name: str
    what: str
    compute: object
    plot: str
    full: dict
    quick: dict


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
        dict(
            sigma_w=np.linspace(0.3, 3.0, 8),
            sigma_b=np.linspace(0.0, 1.0, 4),
            hidden=24,
            T=60,
            batch=2,
            chi_points=5,
        ),
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
    ),
    FigureSpec(
        "e_cells",
        "gradient flow in Elman vs LSTM vs GRU under two initialisers",
        gradients.cell_flow,
        "plot_cell_flow",
        dict(hidden=64, T=300, batch=8),
        dict(hidden=16, T=60, batch=4),
    ),
    FigureSpec(
        "f_remedies",
        "remedies on temporal order: training curves and success rate vs T",
        training.remedy_study,
        "plot_remedies",
        dict(seeds=5, budget=1000),
        dict(lengths=(5, 10), seeds=1, budget=40, hidden=8, workers=1),
    ),
    FigureSpec(
        "g_wall",
        "Pascanu 2013's error-surface wall with and without clipping",
        training.error_surface,
        "plot_error_surface",
        {},
        dict(w=np.linspace(1.0, 9.0, 81), b=np.linspace(-5.0, 2.0, 71)),
    ),
)


def _seeded(spec, seed):
    return {"seed": seed} if "seed" in inspect.signature(spec.compute).parameters else {}


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def run(
    outdir="figures",
    quick=False,
    only=None,
    *,
    seed=0,
    formats=("png", "pdf"),
    dpi=150,
    data=True,
    progress=_stderr,
) -> dict:
    """Make the figures named in ``only`` (default all; names or their letters "a".."g").

    Returns ``{name: (result, figure)}``; writes ``<name>.<fmt>`` for each format and the data as
    ``<name>.json`` (unless ``data=False``). ``progress``: a function of one string (None for silence).
    """
    names = {s.name for s in FIGURES}
    wanted = (
        None
        if only is None
        else {
            o if o in names else next((n for n in names if n[0] == o), o)
            for o in ([only] if isinstance(only, str) else only)
        }
    )
    unknown = set() if wanted is None else wanted - names
    if unknown:
        raise ValueError(
            f"only: unknown figure(s) {sorted(unknown)}; expected names or letters of {sorted(names)}"
        )
    from .. import plots

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    made = {}
    with single_blas_thread():              # every problem here is small: one BLAS thread is faster
        for spec in FIGURES:
            if wanted is not None and spec.name not in wanted:
                continue
            t0 = time.perf_counter()
            result = spec.compute(**(spec.quick if quick else spec.full), **_seeded(spec, seed))
            extra = {"published": PUBLISHED_LAMBDA_MAX} if spec.name == "d_lyapunov" else {}
            fig = getattr(plots, spec.plot)(result, **extra)
            for fmt in formats:
                fig.savefig(out / f"{spec.name}.{fmt}", dpi=dpi)
            if data:
                result.save(out / f"{spec.name}.json")
            made[spec.name] = (result, fig)
            if progress:
                progress(f"{spec.name}: {time.perf_counter() - t0:.1f} s  ({spec.what})")
    return made


def main(argv=None) -> int:
    """``python -m rnnanalysis.figures [--outdir DIR] [--quick] [--only a b ...] [--seed S] [--dpi D]``."""
    ap = argparse.ArgumentParser(prog="rnnanalysis figures", description=__doc__.splitlines()[0])
    ap.add_argument("--outdir", default="figures")
    ap.add_argument("--quick", action="store_true", help="small networks, short runs")
    ap.add_argument("--only", nargs="+", help="figure names or letters a..g")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dpi", type=int, default=150)
    ap.add_argument("--formats", nargs="+", default=["png", "pdf"])
    ap.add_argument("--no-data", action="store_true", help="do not write the figures' data (.json)")
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    t0 = time.perf_counter()
    run(
        args.outdir,
        args.quick,
        args.only,
        seed=args.seed,
        formats=args.formats,
        dpi=args.dpi,
        data=not args.no_data,
    )
    _stderr(f"all figures: {time.perf_counter() - t0:.1f} s -> {args.outdir}")
    return 0
