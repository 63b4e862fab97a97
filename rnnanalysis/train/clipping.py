"""Gradient clipping as pure gradient transformations, and as one-call functions.

The transformations (:class:`ClipByGlobalNorm`, :class:`ClipByValue`, :class:`AdaptiveClip`)
keep the protocol of :mod:`~rnnanalysis.train.transform`; their state is a :class:`ClipState`
recording the global norm they saw before clipping and whether they changed anything (per
member for an ensemble, whose arrays carry a leading member axis). The functions
(:func:`clip_by_global_norm`, …) apply one of them to a dict of gradients and return a
:class:`Clipped`. Nothing is modified in place.

References:
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", Algorithm 1 and the authors' code (NaN/Inf fallback); Brock, De, Smith &
    Simonyan (2021), "High-performance large-scale image recognition without normalization",
    sec. 4.1 (adaptive gradient clipping); PyTorch ``clip_grad_norm_`` / ``clip_grad_value_``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._results import Result
from .._validate import finite_float
from .transform import member_norms

__all__ = ["Clipped", "ClipState", "ClipByGlobalNorm", "ClipByValue", "AdaptiveClip", "global_norm",
           "clip_by_global_norm", "clip_by_value", "clip_adaptive"]


@dataclass(frozen=True)
class Clipped(Result):
    """grads: the clipped gradients; norm: the global L2 norm seen before clipping;
    clipped: whether anything changed; fallback: whether the non-finite fallback fired."""

    grads: dict
    norm: float
    clipped: bool
    fallback: bool = False


class ClipState(NamedTuple):
    """What the last update saw: norm (global L2 norm before clipping), clipped, fallback —
    floats/bools, or (E,) arrays for an ensemble; NaN/False before the first update."""

    norm: float | np.ndarray
    clipped: bool | np.ndarray
    fallback: bool | np.ndarray


def _ensemble(context):
    return None if context is None else context.ensemble


def _per_member(values, ensemble, kind):
    return kind(values[0]) if ensemble is None else np.array(values, dtype=kind)


def global_norm(grads) -> float:
    """sqrt of the sum of squares of every entry of every array (inf/nan propagate)."""
    return member_norms(grads)


@dataclass(frozen=True)
class ClipByGlobalNorm:
    """Rescale all gradients together so their global norm is at most ``max_norm``.

    .. math::
        \\hat g \\leftarrow \\hat g \\cdot \\min(1, \\frac{\\theta}{\\lVert\\hat g\\rVert + 10^{-6}})

    (Pascanu 2013 Algorithm 1, with PyTorch ``clip_grad_norm_``'s 1e-6, so the result equals
    PyTorch's.) ``fallback=True`` (the update then needs ``params``) applies the authors' code
    when the norm is NaN/Inf or above 1e10: the ``weight_hh`` gradient becomes
    ``0.02 * weight_hh`` and the others 0.
    """

    max_norm: float
    fallback: bool = False

    def __post_init__(self):
        finite_float("max_norm", self.max_norm, at_least=0)

    def init(self, params) -> ClipState:
        return ClipState(math.nan, False, False)

    def update(self, grads, state, params=None, *, context=None):
        E = _ensemble(context)
        norms = np.atleast_1d(member_norms(grads, E))
        theta = float(self.max_norm)
        fell = [self.fallback and not (math.isfinite(v) and v <= 1e10) for v in norms]
        if any(fell) and (params is None or "weight_hh" not in params):
            raise ValueError("params: the NaN/Inf fallback needs the parameters (with 'weight_hh')")
        coefs = [theta / (v + 1e-6) for v in norms]
        clipped = [f or (c < 1.0 and math.isfinite(v)) for f, c, v in zip(fell, coefs, norms, strict=True)]
        if not any(clipped):
            out = dict(grads)
        elif E is None:
            out = ({k: (0.02 * np.asarray(params[k]) if k == "weight_hh" else np.zeros_like(g))
                    for k, g in grads.items()} if fell[0] else
                   {k: g * np.asarray(coefs[0], dtype=g.dtype) for k, g in grads.items()})
        else:
            out = {}
            for k, g in grads.items():
                rows = []
                for e in range(E):
                    if fell[e]:
                        rows.append(0.02 * np.asarray(params[k][e]) if k == "weight_hh"
                                    else np.zeros_like(g[e]))
                    else:
                        rows.append(g[e] * np.asarray(coefs[e], dtype=g.dtype) if clipped[e] else g[e])
                out[k] = np.stack(rows)
        return out, ClipState(_per_member(norms, E, float), _per_member(clipped, E, bool),
                              _per_member(fell, E, bool))


@dataclass(frozen=True)
class ClipByValue:
    """Clamp every entry to ``[-clip_value, clip_value]`` (PyTorch ``clip_grad_value_``)."""

    clip_value: float

    def __post_init__(self):
        finite_float("clip_value", self.clip_value, at_least=0)

    def init(self, params) -> ClipState:
        return ClipState(math.nan, False, False)

    def update(self, grads, state, params=None, *, context=None):
        E, c = _ensemble(context), float(self.clip_value)
        over = [np.abs(g) > c for g in grads.values()]
        changed = [bool(any(np.any(o[e]) for o in over)) for e in range(E)] if E else \
            [any(bool(np.any(o)) for o in over)]
        norms = np.atleast_1d(member_norms(grads, E))
        return ({k: np.clip(g, -c, c) for k, g in grads.items()},
                ClipState(_per_member(norms, E, float), _per_member(changed, E, bool), _per_member(
                    [False] * len(changed), E, bool)))


@dataclass(frozen=True)
class AdaptiveClip:
    """Adaptive gradient clipping (AGC): unit-wise ratio of gradient to parameter norm.

    For each unit i (a row of a matrix; an entry of a vector):

    .. math::
        G_i \\leftarrow \\lambda \\frac{\\max(\\lVert W_i\\rVert, \\epsilon)}{\\lVert G_i\\rVert} G_i
        \\quad\\text{if}\\quad
        \\frac{\\lVert G_i\\rVert}{\\max(\\lVert W_i\\rVert, \\epsilon)} > \\lambda
    """

    clipping: float = 0.01
    eps: float = 1e-3

    def __post_init__(self):
        finite_float("clipping", self.clipping, at_least=0)

    def init(self, params) -> ClipState:
        return ClipState(math.nan, False, False)

    def update(self, grads, state, params=None, *, context=None):
        if params is None or set(grads) - set(params):
            missing = sorted(set(grads) - set(params or {}))
            raise ValueError(f"params: missing entries for gradients {missing}")
        E = _ensemble(context)
        lead = 0 if E is None else 1
        lam, out, changed = float(self.clipping), {}, np.zeros(E or 1, dtype=bool)
        for k, g in grads.items():
            w = np.asarray(params[k])
            axis = tuple(range(lead + 1, g.ndim)) if g.ndim > lead + 1 else None
            w_norm = np.maximum(np.sqrt((w * w).sum(axis=axis, keepdims=True)) if axis else np.abs(w),
                                self.eps)
            g_norm = np.sqrt((g * g).sum(axis=axis, keepdims=True)) if axis else np.abs(g)
            limit = lam * w_norm
            over = g_norm > limit
            changed |= over.reshape(E or 1, -1).any(axis=1)
            out[k] = np.where(over, g * (limit / np.where(over, g_norm, 1.0)), g).astype(g.dtype)
        norms = np.atleast_1d(member_norms(grads, E))
        return out, ClipState(_per_member(norms, E, float), _per_member(changed, E, bool),
                              _per_member([False] * norms.size, E, bool))


def _apply(transform, grads, params=None) -> Clipped:
    out, st = transform.update(grads, transform.init(grads), params)
    return Clipped(out, st.norm, st.clipped, st.fallback)


def clip_by_global_norm(grads, max_norm, *, params=None, fallback=False) -> Clipped:
    """:class:`ClipByGlobalNorm` applied once to ``grads`` (a dict name -> array).

    Example:
        >>> import numpy as np
        >>> out = clip_by_global_norm({"w": np.array([3.0, 4.0])}, 1.0)
        >>> round(out.norm, 6), out.grads["w"].round(4).tolist(), out.clipped
        (5.0, [0.6, 0.8], True)
    """
    return _apply(ClipByGlobalNorm(max_norm, fallback), grads, params)


def clip_by_value(grads, clip_value) -> Clipped:
    """:class:`ClipByValue` applied once: every entry clamped to ``[-clip_value, clip_value]``."""
    return _apply(ClipByValue(clip_value), grads)


def clip_adaptive(grads, params, clipping=0.01, *, eps=1e-3) -> Clipped:
    """:class:`AdaptiveClip` applied once (unit-wise gradient/parameter norm ratio at most ``clipping``)."""
    return _apply(AdaptiveClip(clipping, eps), grads, params)
