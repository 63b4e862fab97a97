"""A recurrent core plus a linear readout: the model the training loop trains.

The core is any :class:`~rnnanalysis.Cell` (Elman, LSTM, GRU, the layer- and batch-normalised
cells), whose gradients come from :func:`~rnnanalysis.bptt` reusing the forward pass; a core
with running statistics is used through ``for_inference()`` and ``updated()``. The readout maps
the hidden state to outputs:

.. math:: y_t = W_{out} h_t + b_{out}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import init as _init
from ..cells import Cell
from ..simulate import bptt, simulate
from .losses import LOSSES

__all__ = ["Network", "StepGrads", "make_network", "loss_and_grads", "predict"]

READOUT = ("readout_weight", "readout_bias")


@dataclass(frozen=True)
class Network:
    """core: a Cell; readout_weight (k, n); readout_bias (k,)."""

    core: object
    readout_weight: np.ndarray
    readout_bias: np.ndarray

    @property
    def params(self) -> dict:
        """All parameters: the core's names plus ``readout_weight``, ``readout_bias``."""
        return {**self.core.params, "readout_weight": self.readout_weight, "readout_bias": self.readout_bias}

    def with_params(self, params) -> Network:
        core = self.core.with_params({k: v for k, v in params.items() if k not in READOUT})
        return Network(core, np.asarray(params["readout_weight"], dtype=core.dtype),
                       np.asarray(params["readout_bias"], dtype=core.dtype))

    @property
    def recurrent_weight(self) -> np.ndarray:
        return self.core.params["weight_hh"]


@dataclass(frozen=True)
class StepGrads:
    """loss; grads (names of :attr:`Network.params`); states (T+1, B, n); adjoints (T+1, B, S)
    dL/ds_k; outputs; core: the core after the step (BatchNormRNN running statistics updated)."""

    loss: float
    grads: dict
    states: np.ndarray
    adjoints: np.ndarray
    outputs: np.ndarray
    core: object


def make_network(core, outputs: int, seed=None) -> Network:
    """``core`` with a Xavier-uniform readout to ``outputs`` units (bias 0)."""
    from .._validate import positive_int, rng_from

    if not isinstance(core, Cell):
        raise TypeError(f"core: expected an rnnanalysis cell, got {type(core).__name__}")
    k = positive_int("outputs", outputs)
    w = _init.xavier_uniform((k, core.hidden), rng_from(seed))
    return Network(core, w.astype(core.dtype), np.zeros(k, dtype=core.dtype))


def predict(net: Network, xs, at: str = "last") -> np.ndarray:
    """Readout outputs (B, k) at the last step or (T, B, k) at every step (eval mode)."""
    with np.errstate(over="ignore", invalid="ignore"):
        states = simulate(net.core.for_inference(), np.asarray(xs, dtype=net.core.dtype)).states
    H = states[-1] if at == "last" else states[1:]
    return H @ net.readout_weight.T + net.readout_bias


def loss_and_grads(net: Network, xs, targets, *, loss: str, at: str) -> StepGrads:
    """Loss of ``net`` on one minibatch and its exact gradient with respect to every parameter.

    xs: (T, B, m); targets as :class:`~rnnanalysis.train.tasks.Batch`; ``loss`` "mse"/"ce";
    ``at`` "last" (readout of h_T) or "every" (readout of h_1..h_T). If the forward pass
    overflows (a diverging model) the loss is NaN/Inf and ``grads`` and ``adjoints`` are None.
    """
    core = net.core
    xs = np.asarray(xs, dtype=core.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        trace = simulate(core, xs)
        states = trace.states
        H = states[-1] if at == "last" else states[1:]
        out = H @ net.readout_weight.T + net.readout_bias
        value, d_out = LOSSES[loss](out, targets)
    if not (np.isfinite(value) and np.all(np.isfinite(d_out))):
        return StepGrads(float("nan") if np.isfinite(value) else value, None, states, None, out, core)
    d_out = d_out.astype(core.dtype, copy=False)
    dH = d_out @ net.readout_weight
    flat_out, flat_H = d_out.reshape(-1, d_out.shape[-1]), H.reshape(-1, H.shape[-1])
    res = bptt(core, xs, dH, at=at, trajectory=trace, input_grads=False)
    grads, adjoints, new_core = dict(res.grads), res.adjoints, core.updated(trace.forward)
    grads["readout_weight"] = flat_out.T @ flat_H
    grads["readout_bias"] = flat_out.sum(axis=0)
    return StepGrads(value, grads, states, adjoints, out, new_core)
