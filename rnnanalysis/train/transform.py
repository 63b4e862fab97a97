"""Training as composition: a gradient transformation is a pair of pure functions.

``init(params) -> state`` and ``update(grads, state, params=None, *, context=None) ->
(updates, new_state)``; nothing is modified in place. Optimisers, clipping and Pascanu's
Omega are such transformations, composed with :func:`chain` (applied left to right) and the
result added to the parameters with :func:`apply_updates`::

    tx = chain(ClipByGlobalNorm(1.0), SGD(lr=0.01))
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = apply_updates(params, updates)

``context`` (a :class:`StepContext`) carries what a transformation may need beyond the
gradients: the ensemble size E (arrays then have a leading member axis and norms are taken per
member) and the step's forward and backward pass (Omega needs them).

References:
    The optax library (DeepMind): ``GradientTransformation(init, update)`` and ``chain``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._threads import single_blas_thread

__all__ = ["GradientTransformation", "StepContext", "Chain", "chain", "apply_updates", "member_norms"]


@runtime_checkable
class GradientTransformation(Protocol):
    """Anything with pure ``init(params)`` and ``update(grads, state, params=None, *, context=None)``."""

    def init(self, params) -> Any: ...

    def update(self, grads, state, params=None, *, context=None) -> tuple: ...


@dataclass(frozen=True)
class StepContext:
    """What one training step knows besides the gradients.

    ensemble: None, or E when every array has a leading member axis of size E; core: the
    recurrent core; xs (T, B, m) or (E, T, B, m); states (T+1, B, n) or (E, T+1, B, n);
    adjoints dL/ds_k, (T+1, B, S) or (E, T+1, B, S).
    """

    ensemble: int | None = None
    core: Any = None
    xs: np.ndarray | None = None
    states: np.ndarray | None = None
    adjoints: np.ndarray | None = None


def member_norms(grads, ensemble=None):
    """Global L2 norm over every entry of every array: a float, or (E,) per member (inf/nan propagate).

    On one BLAS thread: OpenBLAS splits a long dot product over its threads (the sum then
    depends on their number), and its threads then spin for a while, taking the cores from the
    next step's time loops."""
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():
        if ensemble is None:
            return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
        return np.array([math.sqrt(sum(float(np.vdot(g[e], g[e])) for g in grads.values()))
                         for e in range(ensemble)])


@dataclass(frozen=True)
class Chain:
    """Transformations applied in order; the state is the tuple of their states."""

    transforms: tuple

    def init(self, params):
        return tuple(t.init(params) for t in self.transforms)

    def update(self, grads, state, params=None, *, context=None):
        new = []
        for t, s in zip(self.transforms, state, strict=True):
            grads, s = t.update(grads, s, params, context=context)
            new.append(s)
        return grads, tuple(new)


def chain(*transforms) -> Chain:
    """Compose transformations (``None`` entries are skipped), applied left to right."""
    ts = tuple(t for t in transforms if t is not None)
    for t in ts:
        if not isinstance(t, GradientTransformation):
            raise TypeError(f"chain: expected gradient transformations (init/update), got {type(t).__name__}")
    return Chain(ts)


def apply_updates(params, updates) -> dict:
    """New parameters ``p + u`` (a new dict of new arrays)."""
    return {k: p + updates[k] for k, p in params.items()}
