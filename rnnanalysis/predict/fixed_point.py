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
from scipy.linalg import lapack

__all__ = ["anderson_solve", "converged", "TOL", "WARM"]

#: relative tolerance of a fixed point: the step ``max|dm| + max|dv|`` below TOL x its level
TOL = 1e-10
#: plain steps before the extrapolation starts
WARM = 20
#: Anderson's normal equations: their ridge, as a share of their trace
_GRAM_CUTOFF = 1e-14


class _History:
    """Anderson's history: the differences ``dF``, ``dG`` of the last ``depth`` consecutive
    residuals ``f = g - x`` and images ``g`` (a ring of rows: the least squares do not depend on
    their order) and their Gram matrix ``dF dF^T``, updated by one row per step."""

    def __init__(self, depth, size):
        self.dF, self.dG = np.empty((depth, size)), np.empty((depth, size))
        self.gram = np.empty((depth, depth))
        self.clear()

    def clear(self):
        self.last, self.count = None, 0

    def next(self, x, g):
        """Anderson-accelerated next iterate from the iterate ``x`` and its image ``g``:
        ``x+ = g - dG^T gamma`` with ``gamma`` the least-squares fit of the residual
        ``f = g - x`` by ``dF``, solved on the normal equations ``(dF dF^T) gamma = dF f`` with a
        ridge of _GRAM_CUTOFF times their trace (a nearly dependent history, singular values
        below sqrt(_GRAM_CUTOFF) of the largest, is damped as a truncation there would drop it;
        by eigenvectors, those below the cutoff left out, if rounding leaves the ridged matrix
        not positive definite). Why not an SVD of dF (``lstsq``) rebuilt from the history, or
        an eigendecomposition: ~200 us and ~70 us per evaluation against ~5 us for the
        Cholesky solve (the 24-deep history at size 512: an Elman cell's statistics at n = 256
        with inputs of non-zero mean, ``scripts/benchmarks/predict_cost.py``); the rates of the
        240 random networks of ``scripts/benchmarks/predictions.py --configs 60 --trained 0``
        and of its 60 trained ones stayed within 1e-6 log10/step, every regime the same, except
        where the drift orbit decides (a chaotic orbit's finite-time exponent moves with its
        start, the stationary standard deviations: by up to 0.006 on 7 of the 240)."""
        f = g - x
        last, self.last = self.last, (f, g)
        if last is None:
            return g
        depth = self.dF.shape[0]
        row = self.count % depth
        self.count += 1
        k = min(self.count, depth)
        np.subtract(f, last[0], out=self.dF[row])
        np.subtract(g, last[1], out=self.dG[row])
        self.gram[row, :k] = self.gram[:k, row] = self.dF[:k] @ self.dF[row]
        gram, rhs = self.gram[:k, :k], self.dF[:k] @ f
        ridge = gram + _GRAM_CUTOFF * np.trace(gram) * np.eye(k)
        gamma, info = lapack.dposv(ridge, rhs)[1:]
        if info != 0:                   # not positive definite in rounding: by eigenvectors
            w, V = np.linalg.eigh(gram)
            V = V[:, w > _GRAM_CUTOFF * w[-1]]
            gamma = V @ ((V.T @ rhs) / w[-V.shape[1]:])
        return g - gamma @ self.dG[:k]


def converged(x, g, size, tol=TOL):
    """(whether ``g`` is within ``tol`` (relative) of ``x``, the step ``max|dm| + max|dv|``):
    means ``[:size]``, then second moments."""
    delta = float(np.max(np.abs(g[:size] - x[:size])) + np.max(np.abs(g[size:] - x[size:])))
    return delta <= tol * max(float(np.max(np.abs(g[:size])) + np.max(g[size:])), 1e-3), delta


def anderson_solve(image, x, size, *, depth, max_evals, clip=None, tol=TOL, precondition=None):
    """Fixed point of ``x -> image(x)[0]``; returns (stats, converged, map evaluations).

    x: the start, means first (``size`` of them), then the second moments; image(x) gives
    (the next x, the statistics it stands for). ``WARM`` plain steps, then Anderson with history
    ``depth``; a step whose residual is over ten times the best seen restarts the history from
    its image (restarting from the best iterate instead settled less often: a trained 24-unit
    Elman cell's full-covariance closure stalled at residual 0.01, per-unit closures of the
    2400 random networks of ``scripts/benchmarks/predictions.py`` at either seed: 99.58% settle
    vs 99.63%). clip(x): keeps an extrapolated iterate valid (e.g. variances >= 0).
    precondition(x, g): asked once, after the plain steps, with the iterate and its image:
    (P or None, map evaluations it made); Anderson then extrapolates the preconditioned
    residuals ``P(g - x)`` (a fixed point is where ``g = x`` either way; the tolerance is on
    ``g - x``). Stops at a non-finite image. Not converged: the statistics of the smallest residual.
    """
    history, best = _History(depth, x.size), (math.inf, None)
    stats, P, evals = None, None, 0
    while evals < max_evals:
        evals += 1
        g, stats = image(x)
        if not np.all(np.isfinite(g)):
            return (best[1] or stats), False, evals
        ok, delta = converged(x, g, size, tol)
        if ok:
            return stats, True, evals
        if evals <= WARM:
            x = g
            continue
        if precondition is not None:
            P, more = precondition(x, g)
            precondition, evals = None, evals + more
        if P is not None:
            g = x + P(g - x)
        if delta < best[0]:
            best = (delta, stats)
        elif delta > 10 * best[0]:     # extrapolation went astray: restart from its image
            history.clear()
            x = g
            continue
        x = history.next(x, g)
        if clip is not None:
            x = clip(x)
    return (best[1] or stats), False, evals
