"""Weight initialisers for recurrent and input matrices.

Each takes a shape ``(rows, cols)`` (or a square size) and a ``numpy.random.Generator`` and
returns a float64 array; :func:`scale_to_spectral_radius` rescales an existing matrix.

References:
    Glorot & Bengio (2010) (Xavier); He et al. (2015); Saxe, McClelland & Ganguli (2014)
    (orthogonal); Le, Jaitly & Hinton (2015) (identity / IRNN); Pascanu, Mikolov & Bengio (2013)
    (sparse "smart tanh" rescaled to spectral radius 0.95).
"""

from __future__ import annotations

import numpy as np

from ._validate import float_array, positive_int

__all__ = [
    "pytorch_default", "xavier_uniform", "xavier_normal", "he_normal", "orthogonal", "identity",
    "gaussian", "sparse", "spectral_radius", "scale_to_spectral_radius", "INITIALISERS",
]


def pytorch_default(shape, rng, *, hidden):
    """PyTorch's RNN default: every entry U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    k = 1.0 / np.sqrt(hidden)
    return rng.uniform(-k, k, size=shape)


def xavier_uniform(shape, rng, *, gain=1.0):
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    a = gain * np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-a, a, size=shape)


def xavier_normal(shape, rng, *, gain=1.0):
    """Glorot normal: N(0, gain^2 * 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, gain * np.sqrt(2.0 / (shape[0] + shape[1])), size=shape)


def he_normal(shape, rng, *, gain=1.0):
    """He normal: N(0, gain^2 * 2 / fan_in), fan_in = shape[1]."""
    return rng.normal(0.0, gain * np.sqrt(2.0 / shape[1]), size=shape)


def gaussian(shape, rng, *, gain=1.0):
    """iid N(0, gain^2 / fan_in): spectral radius -> gain as n grows (circular law)."""
    return rng.normal(0.0, gain / np.sqrt(shape[1]), size=shape)


def orthogonal(shape, rng, *, gain=1.0):
    """Haar-random orthogonal (semi-orthogonal if not square) times ``gain`` (Saxe et al. 2014)."""
    rows, cols = shape
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))  # sign fix makes Q Haar-distributed
    return gain * (q if rows >= cols else q.T)


def identity(shape, rng=None, *, gain=1.0):
    """``gain`` times the identity (IRNN, Le et al. 2015); rectangular: ones on the diagonal."""
    return gain * np.eye(*shape)


def sparse(shape, rng, *, nonzeros=15, gain=1.0):
    """Pascanu et al. (2013) "smart tanh": ``nonzeros`` N(0, 1) entries per row, rest 0.

    Rescale with :func:`scale_to_spectral_radius` (0.95 in the paper).
    """
    rows, cols = shape
    k = min(positive_int("nonzeros", nonzeros), cols)
    w = np.zeros(shape)
    for i in range(rows):
        w[i, rng.choice(cols, size=k, replace=False)] = rng.normal(size=k)
    return gain * w


def spectral_radius(w) -> float:
    """max |eigenvalue| of a square matrix."""
    w = float_array("w", w, ndim=2)
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"w: expected a square matrix, got shape {w.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(w)))) if w.size else 0.0


def scale_to_spectral_radius(w, rho: float):
    """``w * rho / spectral_radius(w)``: the same matrix with spectral radius exactly ``rho``."""
    current = spectral_radius(w)
    if current == 0.0:
        raise ValueError("w: spectral radius is 0 (nilpotent or zero matrix); cannot rescale it")
    return np.asarray(w, dtype=float) * (float(rho) / current)


INITIALISERS = {
    "pytorch": pytorch_default,
    "xavier": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he": he_normal,
    "gaussian": gaussian,
    "orthogonal": orthogonal,
    "identity": identity,
    "sparse": sparse,
}
