"""The fixed-point solver of the mean-field closures: Anderson-accelerated iteration.

Plain iteration of a mean-field map is the statistics' own one-step dynamics, which at gains
above ~1.8 with biases oscillates around the fixed point; Anderson's extrapolation from the last
residuals (Walker & Ni 2011, type II, no damping) reaches it in under 150 map evaluations
(``tests/predict/test_stationary.py``). One loop serves the per-unit closure
(:mod:`~rnnanalysis.predict.stationary`) and the full-covariance ones
(:mod:`~rnnanalysis.predict.covariance`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["anderson_solve", "converged", "TOL", "WARM"]

#: relative tolerance of a fixed point: the step ``max|dm| + max|dv|`` below TOL x its level
TOL = 1e-10
#: plain steps before the extrapolation starts
WARM = 20
#: Anderson's normal equations: eigenvalues below this share of the largest are left out
_GRAM_CUTOFF = 1e-14


def _anderson(x, g, history, depth):
    """Anderson-accelerated next iterate from the iterate ``x``, its image ``g`` under the map
    and the last ``depth`` pairs of differences kept in ``history`` = [(x, g), ...]:
    ``x+ = g - dG gamma`` with ``gamma`` the least-squares fit of the residual ``f = g - x`` by
    the residual differences ``dF``, solved on the depth x depth normal equations
    ``(dF dF^T) gamma = dF f`` by their eigenvectors, those below _GRAM_CUTOFF of the largest
    eigenvalue left out (a singular value below sqrt(_GRAM_CUTOFF) of the largest: a nearly
    dependent history). Why not an SVD of dF itself (``lstsq``): at size 512 it took ~200 us per
    evaluation, most of an Elman cell's statistics at n = 256 with inputs of non-zero mean
    (``scripts/benchmarks/predict_cost.py``); the predictions of the 240 random networks of
    ``scripts/benchmarks/predictions.py --configs 60 --trained 0`` stayed within 1e-6
    log10/step, every regime the same."""
    history.append((x, g))
    del history[:-depth - 1]
    if len(history) < 2:
        return g
    xs = np.array([h[0] for h in history])
    gs = np.array([h[1] for h in history])
    f = gs - xs
    dF, dG = np.diff(f, axis=0), np.diff(gs, axis=0)
    w, V = np.linalg.eigh(dF @ dF.T)
    V = V[:, w > _GRAM_CUTOFF * w[-1]]
    gamma = V @ ((V.T @ (dF @ f[-1])) / w[-V.shape[1]:])
    return g - gamma @ dG


def converged(x, g, size):
    """True when ``g`` (means ``[:size]``, then second moments) is within TOL of ``x``."""
    delta = float(np.max(np.abs(g[:size] - x[:size])) + np.max(np.abs(g[size:] - x[size:])))
    return delta <= TOL * max(float(np.max(np.abs(g[:size])) + np.max(g[size:])), 1e-3), delta


def anderson_solve(image, x, size, *, depth, max_evals, clip=None):
    """Fixed point of ``x -> image(x)[0]``; returns (stats, converged, map evaluations).

    x: the start, means first (``size`` of them), then the second moments; image(x) gives
    (the next x, the statistics it stands for). ``WARM`` plain steps, then Anderson with history
    ``depth``; a step whose residual is over ten times the best seen restarts the history from
    its image (restarting from the best iterate instead settled less often: a trained 24-unit
    Elman cell's full-covariance closure stalled at residual 0.01, per-unit closures of the
    2400 random networks of ``scripts/benchmarks/predictions.py`` at either seed: 99.58% settle
    vs 99.63%). clip(x): keeps an extrapolated iterate valid (e.g. variances >= 0).
    Stops at a non-finite image. Not converged: the statistics of the smallest residual.
    """
    history, best = [], (math.inf, None)
    stats = None
    for it in range(1, max_evals + 1):
        g, stats = image(x)
        if not np.all(np.isfinite(g)):
            return (best[1] or stats), False, it
        ok, delta = converged(x, g, size)
        if ok:
            return stats, True, it
        if it <= WARM:
            x = g
            continue
        if delta < best[0]:
            best = (delta, stats)
        elif delta > 10 * best[0]:     # extrapolation went astray: restart from its image
            history.clear()
            x = g
            continue
        x = _anderson(x, g, history, depth)
        if clip is not None:
            x = clip(x)
    return (best[1] or stats), False, max_evals
