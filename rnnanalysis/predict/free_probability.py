"""The whole singular spectrum of an Elman network's Jacobian product, by free probability.

For ``J = D_L W ... D_1 W`` with ``D_t = diag(phi'(a_t))`` the squared singular values are the
eigenvalues of ``A = J J^T``. Treating the factors as free (i.i.d. weights, independent steps),
S-transforms multiply (Pennington, Schoenholz & Ganguli 2017, 2018):

.. math::
    S_A(m) = \\big(S_{D^2}(m)\\,S_{W W^T}(m)\\big)^L, \\qquad
    S_{WW^T}(m) = \\frac{1}{\\sigma_w^2 (1 + m)}, \\qquad
    S_X(m) = \\frac{1 + m}{m\\,M_X^{-1}(m)}

with ``M_X(z) = E[x / (z - x)]``. Writing ``z`` for ``M_{D^2}^{-1}(m)`` gives, explicitly in z,

.. math::
    m = \\mathbb{E}\\Big[\\frac{x}{z - x}\\Big]_{x = \\phi'(a)^2}, \\qquad
    \\lambda = \\frac{1 + m}{m}\\,(\\sigma_w^2\\, m\\, z)^L, \\qquad
    \\rho_A(\\lambda) = -\\frac{\\operatorname{Im} m}{\\pi \\lambda},

so each point of the density is one complex root of ``lambda(z) = lambda + i0``, found by
Newton's method continued from above the spectrum's edge. The law of ``x`` is the mixture over
units of ``phi'(a_i)^2``, ``a_i ~ N(mu_i, q_i)`` from
:func:`~rnnanalysis.predict.stationary_statistics`; ``sigma_w^2 = ||W_hh||_F^2 / n``.
The recurrent W is the same at every step; the free (untied) theory is its large-n
approximation (Chen, Pennington & Schoenholz 2018); ``ra.jacobian_products`` measures the tied
product, which is what the figure compares it with.

References:
    Pennington, Schoenholz & Ganguli (2017), "Resurrecting the sigmoid in deep learning through
    dynamical isometry"; (2018), "The emergence of spectral universality in deep networks";
    Chen, Pennington & Schoenholz (2018), "Dynamical isometry and a mean field theory of RNNs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .._results import Result
from .._validate import float_array, positive_int
from .stationary import stationary_statistics

__all__ = ["SingularSpectrum", "singular_value_density"]

_LN10 = math.log(10.0)


@dataclass(frozen=True)
class SingularSpectrum(Result):
    """Predicted density of ``log10 sigma`` for the singular values sigma of ``J_T ... J_{T-L+1}``.

    lags: (K,) the product lengths L; log10_sigma: (K, G) one ascending grid per lag; density:
    (K, G), each row a probability density over log10 sigma (integrates to ~1 over its grid
    when the grid covers the support); sigma_w: the weight scale used; converged: (K, G)
    whether Newton's method met its tolerance at that point (the density is NaN where not).
    """

    lags: np.ndarray
    log10_sigma: np.ndarray
    density: np.ndarray
    sigma_w: float
    converged: np.ndarray


def _x_law(cell, stats, atoms=64):
    """Atoms and weights of the law of x = phi'(a)^2: per unit, ``atoms`` equal-probability
    quantiles of N(mu_i, q_i) (a density, not a quadrature: spread evenly in probability, they
    keep the predicted spectrum free of the spikes that clustered quadrature nodes make)."""
    mu, q = stats.means["a"], stats.variances["a"]
    z = special.ndtri((np.arange(atoms) + 0.5) / atoms)
    a = mu[:, None] + np.sqrt(q)[:, None] * z
    x = cell.activation.df(a) ** 2
    w = np.full(x.shape, 1.0 / x.size)
    keep = x.ravel() > 0                      # atoms at 0 add nothing to E[x / (z - x)]
    return x.ravel()[keep], w.ravel()[keep]


def _density_on_grid(x, w, s2, L, lam, step_log10=0.05):
    """rho_A at the points ``lam`` (descending), by damped Newton continuation in u = ln z.

    The continuation starts 10^3 above the first point (deep outside the spectrum, where
    m ~ (sigma_w^2 E[x])^L / lambda is small) and moves the target down in geometric steps of
    at most ``step_log10`` decades, each solved from the last root; a Newton step in u is
    capped at 0.25 (z changes by at most ~30% per step).
    """
    ex = float(np.sum(w * x))
    out = np.full(lam.size, math.nan)
    ok = np.zeros(lam.size, dtype=bool)
    start = lam[0] * 1e3
    u = complex(math.log(ex) - math.log((s2 * ex) ** L / start) if (s2 * ex) ** L > 0 else 0.0)

    def solve(u, target, iterations=40):
        t = complex(target, 1e-9 * target)
        log_t = np.log(t)
        for _ in range(iterations):
            z = np.exp(u)
            r = w * x / (z - x)
            m = complex(np.sum(r))
            dm = complex(-np.sum(r / (z - x))) * z                 # dm/du
            if m == 0:
                return u, m, False
            f = np.log((1 + m) / m) + L * np.log(s2 * m * z) - log_t
            f = complex(f.real, math.remainder(f.imag, 2 * math.pi))
            df = dm / (1 + m) - dm / m + L * (dm / m + 1)
            step = f / df
            if abs(step) > 0.25:
                step *= 0.25 / abs(step)
            u -= step
            if abs(step) < 1e-12 * max(1.0, abs(u)):
                z = np.exp(u)
                return u, complex(np.sum(w * x / (z - x))), True
        return u, m, False

    previous = start
    for i, target in enumerate(lam):
        substeps = max(1, math.ceil(math.log10(previous / target) / step_log10))
        for t in np.geomspace(previous, target, substeps + 1)[1:]:
            u, m, converged = solve(u, t)
        if converged and m.imag > -1e-7 * abs(m):     # a real root: inside the bulk it is the
            for kick in (0.05, 0.2, 0.6, 1.5):         # spurious one; look below the real axis
                u_try, m_try, ok_try = solve(u + complex(0.0, kick), target)
                if ok_try and m_try.imag < -1e-7 * abs(m_try):
                    u, m = u_try, m_try
                    break
        previous = target
        ok[i] = converged
        if converged:
            out[i] = max(-m.imag / (math.pi * target), 0.0)
    return out, ok


def singular_value_density(cell, lags, *, log10_sigma=None, points=200, inputs=None, input_std=None,
                           input_variance=None) -> SingularSpectrum:
    """Predicted densities of log10 singular values of an Elman cell's Jacobian products.

    lags: product lengths L (ints >= 1). log10_sigma: the grid (default: ``points`` values
    around the Fuss-Catalan edge). Input statistics as for :func:`rnnanalysis.predict`.
    Cost: weights and input moments only; O(continuation steps x Newton steps x 64 n) per lag.

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> from rnnanalysis.predict import singular_value_density
        >>> s = singular_value_density(ra.Elman(100, 1, init="gaussian", gain=1.0, seed=0), [1])
        >>> bool(abs(np.trapezoid(s.density[0], s.log10_sigma[0]) - 1) < 0.05)
        True
    """
    if getattr(cell, "kind", None) != "elman":
        raise ValueError(f"cell: the free-probability spectrum is for Elman cells, got "
                         f"{getattr(cell, 'kind', type(cell).__name__)!r}")
    lags = np.atleast_1d(np.asarray(lags))
    if lags.dtype.kind not in "iu" or lags.ndim != 1 or np.any(lags < 1):
        raise ValueError(f"lags: expected integers >= 1, got {lags!r}")
    points = positive_int("points", points, minimum=2)
    stats = stationary_statistics(cell, inputs=inputs, input_std=input_std, input_variance=input_variance)
    W = np.asarray(cell.params["weight_hh"], dtype=np.float64)
    s2 = float(np.sum(W * W)) / W.shape[0]
    x, w = _x_law(cell, stats)
    if x.size == 0 or s2 == 0:
        raise ValueError("cell: every step's Jacobian is zero (phi' = 0 or W = 0): no spectrum to predict")
    ex = float(np.sum(w * x))
    grids, dens, conv = [], [], []
    for L in lags.astype(int):
        if log10_sigma is None:            # around the Fuss-Catalan edge of L Gaussian factors
            top = 0.5 * (L * math.log10(s2 * ex) + (L + 1) * math.log10(L + 1) - L * math.log10(L))
            grid = np.linspace(top + 0.3, top - 3.0 - L, points)
        else:
            grid = np.sort(float_array("log10_sigma", np.asarray(log10_sigma, dtype=float), ndim=1))[::-1]
        lam = 10.0 ** (2 * grid)
        rho, ok = _density_on_grid(x, w, s2, int(L), lam)
        grids.append(grid[::-1])
        dens.append((rho * 2 * _LN10 * lam)[::-1])          # density of log10 sigma
        conv.append(ok[::-1])
    return SingularSpectrum(lags=lags.astype(int), log10_sigma=np.array(grids), density=np.array(dens),
                            sigma_w=math.sqrt(s2), converged=np.array(conv))
