"""A recurrent core plus a linear readout: the model the training loop trains.

The core is any :class:`~rnnanalysis.Cell` (Elman, LSTM, GRU, the layer- and batch-normalised
cells), whose gradients come from :func:`~rnnanalysis.bptt` reusing the forward pass; a core
with running statistics is used through ``for_inference()`` and ``updated()``. The readout maps
the hidden state to outputs:

.. math:: y_t = W_{out} h_t + b_{out}

An ensemble network (:func:`stack_networks`) holds E networks of the same kind whose
parameters carry a leading member axis: one forward and one backward pass train them all, each
on its own inputs ``(E, T, B, m)``; losses and readout gradients are computed member by member,
so a member's numbers are those of the network trained alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import init as _init
from ..cells import Cell
from ..simulate import bptt, simulate
from .losses import LOSSES

__all__ = ["Network", "StepGrads", "make_network", "stack_networks", "loss_and_grads", "predict"]

READOUT = ("readout_weight", "readout_bias")


@dataclass(frozen=True)
class Network:
    """core: a Cell; readout_weight (k, n); readout_bias (k,) — with a leading E on every array
    for an ensemble core."""

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
    def ensemble(self) -> int | None:
        """E for an ensemble network, else None."""
        return getattr(self.core, "ensemble", None)

    def member(self, e: int) -> Network:
        """Member ``e`` of an ensemble network, as a network of its own."""
        if self.ensemble is None:
            raise ValueError("member: this network is not an ensemble")
        core = self.core.with_params({k: v[e] for k, v in self.core.params.items()})
        return Network(core, self.readout_weight[e].copy(), self.readout_bias[e].copy())


@dataclass(frozen=True)
class StepGrads:
    """loss (float, or (E,) for an ensemble); grads (names of :attr:`Network.params`); states
    (T+1, B, n); adjoints (T+1, B, S) dL/ds_k (a leading E for an ensemble); outputs; core: the
    core after the step (BatchNormRNN running statistics updated)."""

    loss: float | np.ndarray
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


def stack_networks(nets) -> Network:
    """One ensemble network from networks of the same kind, activation, shape and dtype."""
    nets = list(nets)
    if not nets or not all(isinstance(n, Network) for n in nets):
        raise TypeError("nets: expected a non-empty sequence of Networks")
    first = nets[0].core
    if not isinstance(first, Cell) or first.ensemble is not None:
        raise TypeError(f"nets: ensembles need plain (non-ensemble) cells, got {type(first).__name__}")
    for n in nets[1:]:
        c = n.core
        if type(c) is not type(first) or c.activation.name != first.activation.name \
                or c.dtype != first.dtype \
                or any(c.params[k].shape != v.shape for k, v in first.params.items()) \
                or n.readout_weight.shape != nets[0].readout_weight.shape:
            raise ValueError("nets: every network must have the same cell kind, activation, shapes and dtype")
    params = {k: np.stack([n.core.params[k] for n in nets]) for k in first.params}
    return Network(first.with_params(params), np.stack([n.readout_weight for n in nets]),
                   np.stack([n.readout_bias for n in nets]))


def _readout(net, H):
    """W_out h + b_out, member by member for an ensemble (H: (..., n) with E first)."""
    if net.ensemble is None:
        return H @ net.readout_weight.T + net.readout_bias
    return np.stack([H[e] @ net.readout_weight[e].T + net.readout_bias[e] for e in range(net.ensemble)])


def predict(net: Network, xs, at: str = "last") -> np.ndarray:
    """Readout outputs (B, k) at the last step or (T, B, k) at every step (eval mode); an
    ensemble takes xs (E, T, B, m) and gives a leading E."""
    with np.errstate(over="ignore", invalid="ignore"):
        states = simulate(net.core.for_inference(), np.asarray(xs, dtype=net.core.dtype)).states
    return _readout(net, _scored(states, at))


def _scored(states, at):
    """The states the readout sees: h_T, or h_1..h_T (time axis -3, after any member axis)."""
    return states[..., -1, :, :] if at == "last" else states[..., 1:, :, :]


def loss_and_grads(net: Network, xs, targets, *, loss: str, at: str) -> StepGrads:
    """Loss of ``net`` on one minibatch and its exact gradient with respect to every parameter.

    xs: (T, B, m); targets as :class:`~rnnanalysis.train.tasks.Batch`; ``loss`` "mse"/"ce";
    ``at`` "last" (readout of h_T) or "every" (readout of h_1..h_T). If the forward pass
    overflows (a diverging model) the loss is NaN/Inf and ``grads`` and ``adjoints`` are None.
    For an ensemble, xs and targets carry a leading E and ``loss`` is an (E,) array; a member
    that overflowed has a NaN/Inf loss and NaN/Inf gradients (the members do not mix).
    """
    core, E = net.core, net.ensemble
    xs = np.asarray(xs, dtype=core.dtype)
    members = [None] if E is None else range(E)
    with np.errstate(over="ignore", invalid="ignore"):
        trace = simulate(core, xs)
        states = trace.states
        H = _scored(states, at)
        out = _readout(net, H)
        scored = [LOSSES[loss](out if e is None else out[e], targets if e is None else targets[e])
                  for e in members]
    values = np.array([v for v, _ in scored])
    ok = [bool(np.isfinite(v) and np.all(np.isfinite(d))) for v, d in scored]
    if E is None and not ok[0]:
        return StepGrads(float("nan") if np.isfinite(values[0]) else float(values[0]), None, states, None,
                         out, core)
    values = np.where(np.array(ok) | ~np.isfinite(values), values, np.nan)
    d_out = [d.astype(core.dtype, copy=False) if good else np.zeros_like(d, dtype=core.dtype)
             for (_, d), good in zip(scored, ok, strict=True)]       # a bad member sends nothing back
    W = net.readout_weight
    dH = d_out[0] @ W if E is None else np.stack([d_out[e] @ W[e] for e in members])
    with np.errstate(over="ignore", invalid="ignore"):     # only an ensemble gets here with a bad member
        res = bptt(core, xs, dH, at=at, trajectory=trace, input_grads=False)
    grads, adjoints, new_core = dict(res.grads), res.adjoints, core.updated(trace.forward)
    readout = []
    for e in members:
        d, h = (d_out[0], H) if e is None else (d_out[e], H[e])
        flat_out, flat_H = d.reshape(-1, d.shape[-1]), h.reshape(-1, h.shape[-1])
        readout.append((flat_out.T @ flat_H, flat_out.sum(axis=0)))
    grads["readout_weight"] = readout[0][0] if E is None else np.stack([r[0] for r in readout])
    grads["readout_bias"] = readout[0][1] if E is None else np.stack([r[1] for r in readout])
    return StepGrads(float(values[0]) if E is None else values, grads, states, adjoints, out, new_core)
