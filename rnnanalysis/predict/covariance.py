"""Full-covariance closure: the state's cross-unit covariances, for noisy Elman cells.

The per-unit closure (:mod:`~rnnanalysis.predict.stationary`) takes the units independent, so
each pre-activation's variance is ``sum_j W_ij^2 Var h_j + Var u_i``. Trained weights couple the
units: the state's cross-unit covariances add to it,

.. math::
    C_a = W C_h W^\\top + \\operatorname{Cov}(u),

which the per-unit closure underestimates (a low-rank-plus-noise W: by a factor 1.35, this
closure within 0.5%, ``tests/predict/test_stationary.py``). Here ``C_h`` is iterated whole: each
unit's mean and variance exactly by 1-D quadrature at ``N(E a_i, (C_a)_ii)``, the cross terms
to first order of Price's theorem,
``Cov(phi(a_i), phi(a_j)) ~ E[phi'(a_i)] E[phi'(a_j)] (C_a)_ij`` (the Hermite expansion's first
term; it keeps ``C_h`` positive semidefinite since ``Var phi(a) >= E[phi']^2 Var a``). For
i.i.d. weights the cross terms are O(1/sqrt(n)) and the answer is the per-unit one's.
Solved by the shared Anderson iteration (:func:`~rnnanalysis.predict.fixed_point.anderson_solve`)
over (E h, upper triangle of C_h): O(n^3) per map evaluation, so used up to
``FULL_COVARIANCE_MAX`` units.
"""

from __future__ import annotations

import numpy as np

from .fixed_point import anderson_solve
from .gaussian import gaussian_gain, gaussian_moments

__all__ = ["elman_covariance", "FULL_COVARIANCE_MAX"]

#: noisy Elman cells up to this width get the full-covariance closure (O(n^3) per evaluation);
#: wider ones the per-unit closure (ra.predict's cost at n = 256)
FULL_COVARIANCE_MAX = 128
_DEPTH = 8                   # Anderson history (n^2/2 numbers per entry)
_MAX_EVALS = 300


def elman_covariance(act, W, b, u_mean, u_cov, start):
    """Full-covariance statistics of a noisy Elman cell ``h = phi(W h + b + W_ih x)``.

    act: the activation; W: (n, n); b: (n,) summed biases; u_mean, u_cov: mean (n,) and
    covariance (n, n) of the input drive ``W_ih x``; start: per-unit statistics {"h": (mean,
    var), ...} to start from. Returns ({"a": (mean, var), "h": (mean, var)}, converged,
    map evaluations); ``var`` is each unit's diagonal.
    """
    n = W.shape[0]
    mu_u = b + u_mean
    upper = np.triu_indices(n)                 # C_h is symmetric: iterate its upper triangle
    lower = (upper[1], upper[0])
    diagonal = np.flatnonzero(upper[0] == upper[1]) + n

    def image(x):
        C = np.empty((n, n))
        C[upper] = C[lower] = x[n:]
        mu, Ca = W @ x[:n] + mu_u, W @ C @ W.T + u_cov
        q = np.maximum(np.diag(Ca), 0.0)
        e1, e2 = gaussian_moments(act, mu, q)
        gain = gaussian_gain(act, mu, q)
        var = np.maximum(e2 - e1 ** 2, 0.0)
        Ch = np.outer(gain, gain) * Ca
        np.fill_diagonal(Ch, var)
        return np.concatenate([e1, Ch[upper]]), {"a": (mu, q), "h": (e1, var)}

    def clip(x):                               # variances >= 0 (covariances may be negative)
        x[diagonal] = np.maximum(x[diagonal], 0.0)
        return x

    x = np.concatenate([start["h"][0], np.diag(start["h"][1])[upper]])
    return anderson_solve(image, x, n, depth=_DEPTH, max_evals=_MAX_EVALS, clip=clip)
