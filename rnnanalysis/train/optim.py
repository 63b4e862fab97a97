"""Optimisers as pure gradient transformations, with PyTorch's update rules.

Each is a frozen dataclass of hyper-parameters with ``init(params) -> state`` and
``update(grads, state, params=None, *, context=None) -> (updates, new_state)`` (see
:mod:`~rnnanalysis.train.transform`); the updates are added with ``apply_updates``. Nothing is
modified in place. The arithmetic follows ``torch.optim`` operation for operation, so runs can
be compared step by step (the tests feed both the same gradients). Every rule is elementwise, so
it applies unchanged to an ensemble (arrays with a leading member axis).

References:
    Sutskever, Martens, Dahl & Hinton (2013) (momentum, Nesterov); Tieleman & Hinton (2012)
    (RMSprop); Kingma & Ba (2015) (Adam); PyTorch ``torch.optim`` (the exact forms used here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._validate import finite_float

__all__ = ["SGD", "RMSprop", "Adam", "SGDState", "RMSpropState", "AdamState", "make_optimizer", "OPTIMIZERS"]


class SGDState(NamedTuple):
    """count: updates made; buf: momentum buffers (empty without momentum)."""

    count: int
    buf: dict


class RMSpropState(NamedTuple):
    count: int
    v: dict


class AdamState(NamedTuple):
    count: int
    m: dict
    v: dict


@dataclass(frozen=True)
class SGD:
    """``buf = mu buf + g`` (buf = g at step 1); update ``-lr (g + mu buf)`` (Nesterov) or ``-lr buf``."""

    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        finite_float("lr", self.lr, above=0)
        finite_float("momentum", self.momentum, at_least=0, below=1)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov: Nesterov momentum needs momentum > 0")

    def init(self, params) -> SGDState:
        return SGDState(0, {k: np.zeros_like(v) for k, v in params.items()} if self.momentum else {})

    def update(self, grads, state, params=None, *, context=None):
        bufs, out = {}, {}
        for k, g in grads.items():
            if self.momentum:
                buf = g.copy() if state.count == 0 else self.momentum * state.buf[k] + g
                bufs[k] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            out[k] = -(self.lr * g)
        return out, SGDState(state.count + 1, bufs)


@dataclass(frozen=True)
class RMSprop:
    """``v = alpha v + (1 - alpha) g^2``; update ``-lr g / (sqrt(v) + eps)`` (PyTorch defaults)."""

    lr: float = 0.01
    alpha: float = 0.99
    eps: float = 1e-8

    def __post_init__(self):
        finite_float("lr", self.lr, above=0)
        finite_float("alpha", self.alpha, at_least=0, below=1)
        finite_float("eps", self.eps, above=0)

    def init(self, params) -> RMSpropState:
        return RMSpropState(0, {k: np.zeros_like(v) for k, v in params.items()})

    def update(self, grads, state, params=None, *, context=None):
        vs, out = {}, {}
        for k, g in grads.items():
            v = self.alpha * state.v[k] + (1 - self.alpha) * g * g
            vs[k] = v
            out[k] = -(self.lr * g / (np.sqrt(v) + self.eps))
        return out, RMSpropState(state.count + 1, vs)


@dataclass(frozen=True)
class Adam:
    """Adam with bias correction:

    .. math::
        m \\leftarrow \\beta_1 m + (1-\\beta_1) g,\\; v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2,\\\\
        \\Delta p = - \\frac{\\eta}{1-\\beta_1^t} \\frac{m}{\\sqrt{v}/\\sqrt{1-\\beta_2^t} + \\epsilon}
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        finite_float("lr", self.lr, above=0)
        finite_float("beta1", self.beta1, at_least=0, below=1)
        finite_float("beta2", self.beta2, at_least=0, below=1)
        finite_float("eps", self.eps, above=0)

    def init(self, params) -> AdamState:
        return AdamState(0, {k: np.zeros_like(v) for k, v in params.items()},
                         {k: np.zeros_like(v) for k, v in params.items()})

    def update(self, grads, state, params=None, *, context=None):
        t = state.count + 1
        step_size = self.lr / (1 - self.beta1 ** t)
        root_bc2 = math.sqrt(1 - self.beta2 ** t)
        ms, vs, out = {}, {}, {}
        for k, g in grads.items():
            m = self.beta1 * state.m[k] + (1 - self.beta1) * g
            v = self.beta2 * state.v[k] + (1 - self.beta2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_bc2
            denom += self.eps
            ms[k], vs[k] = m, v
            out[k] = -((step_size * m) / denom)
        return out, AdamState(t, ms, vs)


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def make_optimizer(name: str, **kwargs):
    """``make_optimizer("adam", lr=1e-3)``; names: sgd, rmsprop, adam."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown optimiser {name!r}; expected one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](**kwargs)
