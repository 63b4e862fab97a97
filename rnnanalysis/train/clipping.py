"""Gradient clipping as small pure transforms: each returns the clipped gradients and what it saw.

``grads`` is a dict name -> array (any names); nothing is modified in place.

References:
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", Algorithm 1 and the authors' code (NaN/Inf fallback); Brock, De, Smith &
    Simonyan (2021), "High-performance large-scale image recognition without normalization",
    sec. 4.1 (adaptive gradient clipping); PyTorch ``clip_grad_norm_`` / ``clip_grad_value_``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._results import Result

__all__ = ["Clipped", "global_norm", "clip_by_global_norm", "clip_by_value", "clip_adaptive"]


@dataclass(frozen=True)
class Clipped(Result):
    """grads: the clipped gradients; norm: the global L2 norm seen before clipping;
    clipped: whether anything changed; fallback: whether the non-finite fallback fired."""

    grads: dict
    norm: float
    clipped: bool
    fallback: bool = False


def _threshold(name, value):
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}: expected a finite threshold >= 0, got {value!r}")
    return v


def global_norm(grads) -> float:
    """sqrt of the sum of squares of every entry of every array (inf/nan propagate)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_by_global_norm(grads, max_norm, *, params=None, fallback=False) -> Clipped:
    """Rescale all gradients together so their global norm is at most ``max_norm``.

    .. math::
        \\hat g \\leftarrow \\hat g \\cdot \\min(1, \\frac{\\theta}{\\lVert\\hat g\\rVert + 10^{-6}})

    (Pascanu 2013 Algorithm 1, with PyTorch ``clip_grad_norm_``'s 1e-6, so the result equals
    PyTorch's.) ``fallback=True`` (needs ``params``) applies the authors' code when the norm
    is NaN/Inf or above 1e10: the ``weight_hh`` gradient becomes ``0.02 * weight_hh`` and the
    others 0.

    Example:
        >>> import numpy as np
        >>> out = clip_by_global_norm({"w": np.array([3.0, 4.0])}, 1.0)
        >>> round(out.norm, 6), out.grads["w"].round(4).tolist(), out.clipped
        (5.0, [0.6, 0.8], True)
    """
    theta = _threshold("max_norm", max_norm)
    norm = global_norm(grads)
    if fallback and (not math.isfinite(norm) or norm > 1e10):
        if params is None or "weight_hh" not in params:
            raise ValueError("params: the NaN/Inf fallback needs the parameters (with 'weight_hh')")
        out = {k: (0.02 * np.asarray(params[k]) if k == "weight_hh" else np.zeros_like(g))
               for k, g in grads.items()}
        return Clipped(out, norm, True, True)
    coef = theta / (norm + 1e-6)
    if coef >= 1.0 or not math.isfinite(norm):
        return Clipped(dict(grads), norm, False)
    return Clipped({k: g * np.asarray(coef, dtype=g.dtype) for k, g in grads.items()}, norm, True)


def clip_by_value(grads, clip_value) -> Clipped:
    """Clamp every entry to ``[-clip_value, clip_value]`` (PyTorch ``clip_grad_value_``)."""
    c = _threshold("clip_value", clip_value)
    out = {k: np.clip(g, -c, c) for k, g in grads.items()}
    changed = any(bool(np.any(np.abs(g) > c)) for g in grads.values())
    return Clipped(out, global_norm(grads), changed)


def clip_adaptive(grads, params, clipping=0.01, *, eps=1e-3) -> Clipped:
    """Adaptive gradient clipping (AGC): unit-wise ratio of gradient to parameter norm.

    For each unit i (a row of a matrix; an entry of a vector):

    .. math::
        G_i \\leftarrow \\lambda \\frac{\\max(\\lVert W_i\\rVert, \\epsilon)}{\\lVert G_i\\rVert} G_i
        \\quad\\text{if}\\quad
        \\frac{\\lVert G_i\\rVert}{\\max(\\lVert W_i\\rVert, \\epsilon)} > \\lambda
    """
    lam = _threshold("clipping", clipping)
    if set(grads) - set(params):
        raise ValueError(f"params: missing entries for gradients {sorted(set(grads) - set(params))}")
    out, changed = {}, False
    for k, g in grads.items():
        w = np.asarray(params[k])
        axis = tuple(range(1, g.ndim)) if g.ndim > 1 else None
        w_norm = np.maximum(np.sqrt((w * w).sum(axis=axis, keepdims=True)) if axis else np.abs(w), eps)
        g_norm = np.sqrt((g * g).sum(axis=axis, keepdims=True)) if axis else np.abs(g)
        limit = lam * w_norm
        over = g_norm > limit
        changed = changed or bool(np.any(over))
        out[k] = np.where(over, g * (limit / np.where(over, g_norm, 1.0)), g).astype(g.dtype)
    return Clipped(out, global_norm(grads), changed)
