"""Optimisers over dicts of arrays, with PyTorch's update rules (so runs can be compared step by step).

An optimiser is built with its hyper-parameters; ``opt.init(params)`` returns its state and
``opt.update(params, grads, state)`` returns ``(new_params, new_state)``. For speed the state's
buffers are updated in place; ``params`` are not modified (new arrays are returned).

References:
    Sutskever, Martens, Dahl & Hinton (2013) (momentum, Nesterov); Tieleman & Hinton (2012)
    (RMSprop); Kingma & Ba (2015) (Adam); PyTorch ``torch.optim`` (the exact forms used here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SGD", "RMSprop", "Adam", "make_optimizer", "OPTIMIZERS"]


def _positive(name, value, *, allow_zero=False, below_one=False):
    v = float(value)
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0) and (v < 1 if below_one else True)
    if not ok:
        rng = "[0, 1)" if below_one else (">= 0" if allow_zero else "> 0")
        raise ValueError(f"{name}: expected a finite number {rng}, got {value!r}")
    return v


@dataclass(frozen=True)
class SGD:
    """``buf = mu buf + g`` (buf = g at step 1); ``p -= lr (g + mu buf)`` (Nesterov) or ``lr buf``."""

    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        _positive("lr", self.lr)
        _positive("momentum", self.momentum, allow_zero=True, below_one=True)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov: Nesterov momentum needs momentum > 0")

    def init(self, params):
        return {"step": 0, "buf": {k: np.zeros_like(v) for k, v in params.items()}}

    def update(self, params, grads, state):
        first, out = state["step"] == 0, {}
        for k, p in params.items():
            g = grads[k]
            if self.momentum:
                buf = state["buf"][k]
                if first:
                    buf[...] = g
                else:
                    buf *= self.momentum
                    buf += g
                g = g + self.momentum * buf if self.nesterov else buf
            out[k] = p - self.lr * g
        state["step"] += 1
        return out, state


@dataclass(frozen=True)
class RMSprop:
    """``v = alpha v + (1 - alpha) g^2``; ``p -= lr g / (sqrt(v) + eps)`` (PyTorch defaults)."""

    lr: float = 0.01
    alpha: float = 0.99
    eps: float = 1e-8

    def __post_init__(self):
        _positive("lr", self.lr)
        _positive("alpha", self.alpha, allow_zero=True, below_one=True)
        _positive("eps", self.eps)

    def init(self, params):
        return {"step": 0, "v": {k: np.zeros_like(v) for k, v in params.items()}}

    def update(self, params, grads, state):
        out = {}
        for k, p in params.items():
            g, v = grads[k], state["v"][k]
            v *= self.alpha
            v += (1 - self.alpha) * g * g
            out[k] = p - self.lr * g / (np.sqrt(v) + self.eps)
        state["step"] += 1
        return out, state


@dataclass(frozen=True)
class Adam:
    """Adam with bias correction:

    .. math::
        m \\leftarrow \\beta_1 m + (1-\\beta_1) g,\\; v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2,\\\\
        p \\leftarrow p - \\frac{\\eta}{1-\\beta_1^t} \\frac{m}{\\sqrt{v}/\\sqrt{1-\\beta_2^t} + \\epsilon}
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        _positive("lr", self.lr)
        _positive("beta1", self.beta1, allow_zero=True, below_one=True)
        _positive("beta2", self.beta2, allow_zero=True, below_one=True)
        _positive("eps", self.eps)

    def init(self, params):
        return {"step": 0, "m": {k: np.zeros_like(v) for k, v in params.items()},
                "v": {k: np.zeros_like(v) for k, v in params.items()}}

    def update(self, params, grads, state):
        state["step"] += 1
        t = state["step"]
        step_size = self.lr / (1 - self.beta1 ** t)
        root_bc2 = math.sqrt(1 - self.beta2 ** t)
        out = {}
        for k, p in params.items():
            g, m, v = grads[k], state["m"][k], state["v"][k]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_bc2
            denom += self.eps
            out[k] = p - (step_size * m) / denom
        return out, state


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def make_optimizer(name: str, **kwargs):
    """``make_optimizer("adam", lr=1e-3)``; names: sgd, rmsprop, adam."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown optimiser {name!r}; expected one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](**kwargs)
