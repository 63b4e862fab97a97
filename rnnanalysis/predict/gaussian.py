"""Gaussian expectations of an activation, elementwise: the quadrature every mean-field closure uses.

``E[phi(a)]``, ``E[phi(a)^2]`` and ``E[phi'(a)]`` for ``a ~ N(mean, var)`` by 32-point
Gauss-Hermite quadrature (probabilists' weight), closed forms for ReLU and linear.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["gaussian_moments", "gaussian_gain"]

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(32)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def gaussian_moments(act, mean, var):
    """(E[phi(a)], E[phi(a)^2]) for a ~ N(mean, var), elementwise (var = 0 gives phi(mean))."""
    mean, sd = np.asarray(mean, dtype=float), np.sqrt(np.maximum(var, 0.0))
    if act.name == "linear":
        return mean, mean ** 2 + sd ** 2
    if act.name == "relu":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > 0, mean / sd, np.copysign(np.inf, mean))
        cdf, pdf = special.ndtr(t), np.exp(-0.5 * np.minimum(t * t, 1e300)) / math.sqrt(2 * math.pi)
        return mean * cdf + sd * pdf, (mean ** 2 + sd ** 2) * cdf + mean * sd * pdf
    a = mean[..., None] + sd[..., None] * _NODES
    y = act.f(a)
    return y @ _WEIGHTS, (y * y) @ _WEIGHTS


def gaussian_gain(act, mean, var):
    """E[phi'(a)] for a ~ N(mean, var), elementwise, by the same quadrature."""
    mean, sd = np.asarray(mean, dtype=float), np.sqrt(np.maximum(var, 0.0))
    return act.df(mean[..., None] + sd[..., None] * _NODES) @ _WEIGHTS
