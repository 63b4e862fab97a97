"""Stacked recurrent layers (PyTorch's ``num_layers``) as one cell.

Layer ℓ reads, at time t, the output h^{ℓ-1}_t of the layer below (layer 1 reads x_t). The
stack's state is every layer's full state, bottom to top, ``s_t = (s^1_t, s^2_t, …, s^L_t)``
(an LSTM layer's block is (h, c)), and its output is the top layer's h:

.. math::
    s^1_t = F^1(s^1_{t-1}, x_t), \\qquad s^\\ell_t = F^\\ell(s^\\ell_{t-1}, h^{\\ell-1}_t)

so the step Jacobian ``∂s_t/∂s_{t-1}`` is block lower-triangular: block (ℓ, ℓ) is layer ℓ's own
Jacobian J^ℓ_t, block (ℓ, ℓ-1) is ``∂F^ℓ/∂h^{ℓ-1}_t · J^{ℓ-1}_t`` (and so on down). Its adjoint runs
top-down within a step: the cotangent on h^{ℓ-1}_t gains ``g_{a^ℓ} W^ℓ_{ih}`` from the layer above.

References:
    Pascanu, Gulcehre, Cho & Bengio (2014), "How to construct deep recurrent neural networks";
    PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` with ``num_layers > 1`` (same parameter names, ``_l<k>``).
"""

from __future__ import annotations

import re
from types import MappingProxyType

import numpy as np

from .._validate import as_dtype
from ._base import Cell
from .elman import Elman
from .gru import GRU
from .lstm import LSTM

__all__ = ["Stack"]

#: layer kinds whose pre-activation gradient g_ih gives the input gradient as g_ih W_ih
LAYER_TYPES = (Elman, LSTM, GRU)
_SUFFIX = re.compile(r"^(?P<name>.+)_l(?P<layer>\d+)$")


class Stack(Cell):
    """Layers of Elman/LSTM/GRU cells, each fed the h of the layer below; see the module docstring.

    Args:
        layers: two or more cells (single networks, one dtype); layer ℓ's ``inputs`` must equal
            layer ℓ-1's ``hidden``.

    ``hidden`` is the top layer's n (the output the loss sees), ``inputs`` the bottom layer's m,
    ``state_size`` the sum of the layers' state sizes. ``params``/``state_dict()`` use PyTorch's
    multi-layer names (``weight_ih_l0``, …, ``bias_hh_l{L-1}``). ``state_blocks`` gives each
    layer's slice of the state (e.g. to split ``bptt(...).adjoints``); ``gradient_profile`` of a
    stack also reports each layer's block of the adjoint (``layer_log10_norms``).

    Example:
        >>> import rnnanalysis as ra
        >>> stack = ra.Stack([ra.LSTM(4, 2, seed=0), ra.GRU(3, 4, seed=1)])
        >>> stack.hidden, stack.inputs, stack.state_size, stack.state_blocks
        (3, 2, 11, (slice(0, 8, None), slice(8, 11, None)))
    """

    kind = "stack"

    def __init__(self, layers):
        layers = tuple(layers) if isinstance(layers, (list, tuple)) else None
        if not layers or len(layers) < 2:
            raise ValueError("layers: expected a list of two or more cells")
        for k, cell in enumerate(layers):
            if type(cell) not in LAYER_TYPES:
                raise TypeError(f"layers[{k}]: expected an Elman, LSTM or GRU cell, "
                                f"got {type(cell).__name__}")
            if cell.ensemble is not None:
                raise ValueError(f"layers[{k}]: expected a single network, "
                                 f"got an ensemble of {cell.ensemble}")
            if cell.dtype != layers[0].dtype:
                raise ValueError(f"layers[{k}]: dtype {cell.dtype} differs from layer 0's "
                                 f"{layers[0].dtype}")
            if k and cell.inputs != layers[k - 1].hidden:
                raise ValueError(f"layers[{k}]: expected inputs = layer {k - 1}'s hidden size "
                                 f"{layers[k - 1].hidden}, got {cell.inputs}")
        self.layers = layers
        self.dtype = layers[0].dtype
        self.hidden, self.inputs, self.ensemble = layers[-1].hidden, layers[0].inputs, None
        names = {c.activation.name for c in layers}
        self.activation = layers[0].activation if len(names) == 1 else None
        self.separate_hh_grad = any(c.separate_hh_grad for c in layers)
        self._params = {f"{k}_l{i}": v for i, c in enumerate(layers) for k, v in c.params.items()}
        self._blocks = _slices(c.state_size for c in layers)
        self._ih = _slices(c.grad_widths[0] for c in layers)       # each layer's part of g_ih, g_hh
        self._hh = _slices(c.grad_widths[1] for c in layers)
        self._ncache = tuple(len(c.run(np.zeros((1, 1, c.inputs), c.dtype),     # cache arrays per layer
                                       np.zeros((1, c.state_size), c.dtype)).cache) for c in layers)

    # -- description ----------------------------------------------------------------------
    @property
    def state_size(self) -> int:
        return self._blocks[-1].stop

    @property
    def state_blocks(self) -> tuple:
        return self._blocks

    @property
    def output_slice(self) -> slice:
        top, out = self._blocks[-1], self.layers[-1].output_slice
        return slice(top.start + out.start, top.start + out.stop)

    @property
    def grad_widths(self) -> tuple:
        return (self._ih[-1].stop, self._hh[-1].stop)

    def state_dict(self) -> dict:
        """Copies of the parameters under PyTorch's multi-layer names (``weight_ih_l0`` …)."""
        return {k: v.copy() for k, v in self._params.items()}

    @property
    def params(self):
        return MappingProxyType(self._params)

    def with_params(self, params) -> Stack:
        """A stack of the same layer kinds and activations with other parameters (``*_l<k>`` names)."""
        if not hasattr(params, "keys"):
            raise TypeError(f"params: expected a mapping of arrays, got {type(params).__name__}")
        per_layer = [{} for _ in self.layers]
        for key in params.keys():
            m = _SUFFIX.match(key) if isinstance(key, str) else None
            if m is None or int(m["layer"]) >= len(self.layers):
                raise ValueError(f"params: unexpected key {key!r}; expected names like "
                                 f"weight_hh_l0 .. weight_hh_l{len(self.layers) - 1}")
            per_layer[int(m["layer"])][m["name"]] = params[key]
        return Stack([c.with_params(p) for c, p in zip(self.layers, per_layer, strict=True)])

    def astype(self, dtype) -> Stack:
        return Stack([c.astype(as_dtype(dtype)) for c in self.layers])

    def __repr__(self):
        inner = ", ".join(repr(c) for c in self.layers)
        return f"Stack([{inner}])"

    # -- the cell protocol ------------------------------------------------------------------
    def _layer_caches(self, cache):
        out, a = [], 0
        for k in self._ncache:
            out.append(cache[a:a + k])
            a += k
        return out

    def project(self, xs):
        return self.layers[0].project(xs)

    def forward(self, u, s0):
        states, caches = [], []
        for k, (cell, blk) in enumerate(zip(self.layers, self._blocks, strict=True)):
            st, cache = cell.forward(u, np.ascontiguousarray(s0[..., blk]))
            states.append(st)
            caches.extend(cache)
            if k + 1 < len(self.layers):
                u = self.layers[k + 1].project(np.ascontiguousarray(st[1:, ..., cell.output_slice]))
        return np.concatenate(states, axis=-1), tuple(caches)

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        lead = g.shape[:-1]
        g_prev = np.empty(g.shape, dtype=g.dtype) if out is None else out
        g_ih = np.empty(lead + (self._ih[-1].stop,), dtype=g.dtype) if out_ih is None else out_ih
        g_hh = np.empty(lead + (self._hh[-1].stop,), dtype=g.dtype) if self.separate_hh_grad else g_ih
        carry = None                                   # cotangent on this layer's h_t from the layer above
        layers = zip(self.layers, self._blocks, self._ih, self._hh, self._layer_caches(cache), strict=True)
        for k, (cell, blk, ih, hh, lc) in reversed(list(enumerate(layers))):
            g_l = g[..., blk]
            if carry is not None:
                g_l = g_l.copy()
                g_l[..., cell.output_slice] += carry
            gp, gi, gh = cell.backward_step(lc, j, g_l)
            g_prev[..., blk] = gp
            g_ih[..., ih] = gi
            if g_hh is not g_ih:
                g_hh[..., hh] = gh
            if k:
                carry = gi @ cell.params["weight_ih"]
        return g_prev, g_ih, g_hh

    def param_grads(self, xs, states, g_ih, g_hh, input_grads=True):
        grads, g_xs, inputs = {}, None, xs
        layers = zip(self.layers, self._blocks, self._ih, self._hh, strict=True)
        for k, (cell, blk, ih, hh) in enumerate(layers):
            st = states[..., blk]
            gi = g_ih[..., ih]
            gh = g_hh[..., hh] if cell.separate_hh_grad else gi      # a layer's own convention
            layer, gx = cell.param_grads(inputs, st, gi, gh, input_grads=input_grads and k == 0)
            grads.update({f"{name}_l{k}": v for name, v in layer.items()})
            g_xs = gx if k == 0 else g_xs
            inputs = st[1:, ..., cell.output_slice]
        return grads, g_xs


def _slices(widths):
    """Consecutive slices of the given widths: (slice(0, w0), slice(w0, w0 + w1), ...)."""
    ends = np.cumsum([0, *widths])
    return tuple(slice(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:], strict=True))
