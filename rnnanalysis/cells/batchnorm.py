"""Recurrent batch normalisation (Cooijmans et al. 2016) for Elman and LSTM cells.

The recurrent and input projections are normalised separately, with statistics kept *per time
step*; the LSTM also normalises the cell state before its output nonlinearity:

.. math::
    z_t = \\mathrm{BN}(W_{hh} h_{t-1}; \\gamma_h) + \\mathrm{BN}(W_{ih} x_t; \\gamma_x) + b,
    \\\\ \\mathrm{BN}(a; \\gamma) = \\gamma \\frac{a - \\hat\\mu_t}{\\sqrt{\\hat\\sigma_t^2 + \\epsilon}}

Elman: ``h_t = phi(z_t)``. LSTM (gates i, f, g, o of z_t): ``c_t = f c_{t-1} + i g``,
``h_t = o phi(BN(c_t; gamma_c, beta_c))``. The shifts of the two projections' BNs are
dropped (``b`` does their job, as in the paper); gains start at 0.1 (the paper's
recommendation); ``eps = 1e-5`` and running-average momentum 0.1 as ``torch.nn.BatchNorm1d``.

The cell keeps the one-step protocol of :class:`~rnnanalysis.cells.Cell`, with one
difference: in training mode the batch statistics couple the samples of a minibatch, so a step
is a map of the whole batch state ``(B, S)`` and :meth:`backward_step` is the vector-Jacobian
product of that map (the gradients of a loss summed over the batch are exact; a "per-sample"
gradient norm is a row of the batch map's adjoint). :meth:`for_inference` gives the cell with
the running statistics of step ``t`` (of the last trained step for longer sequences), where
samples are independent; :meth:`updated` folds a training pass's batch moments into them.

References:
    Cooijmans, Ballas, Laurent, Gulcehre & Courville (2016), "Recurrent batch normalization",
    eqs. 6-8 and sec. 4 (gain 0.1, per-time-step statistics); Ioffe & Szegedy (2015).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .._validate import as_dtype, finite_float, float_array
from ..activations import get_activation, sigmoid
from ._base import Cell, _outer_sum, _rows
from .elman import Elman
from .lstm import LSTM

__all__ = ["BatchNormRNN"]

EPS, MOMENTUM = 1e-5, 0.1


def _bn_back(d_hat, ahat, inv, batch):
    """Gradient w.r.t. a through BN given the gradient w.r.t. ahat: with batch statistics
    (``batch``, over axis -2) or fixed running ones."""
    if not batch:
        return d_hat * inv
    return inv * (d_hat - d_hat.mean(axis=-2, keepdims=True)
                  - ahat * (d_hat * ahat).mean(axis=-2, keepdims=True))


class BatchNormRNN(Cell):
    """Elman (``kind="elman"``) or LSTM (``kind="lstm"``) cell with recurrent batch norm.

    Weights are drawn exactly as the plain cell of the same kind with the same ``init``,
    ``gain``, ``spectral_radius`` and ``seed`` (the two biases summed into ``bias``).
    Parameters: ``weight_ih``, ``weight_hh``, ``bias``, ``bn_h_weight``, ``bn_x_weight``
    (+ ``bn_c_weight``, ``bn_c_bias`` for LSTM); running statistics in :attr:`stats`;
    ``training`` selects batch (True) or running statistics.
    """

    separate_hh_grad = True

    def __init__(self, kind, hidden, inputs, activation="tanh", *, gamma=0.1, forget_bias=0.0,
                 init="pytorch", gain=1.0, spectral_radius=None, seed=None, dtype=np.float64):
        if kind not in ("elman", "lstm"):
            raise ValueError(f"kind: recurrent batch norm exists for 'elman' and 'lstm', got {kind!r}")
        gamma = finite_float("gamma", gamma)
        cls = Elman if kind == "elman" else LSTM
        extra = {"forget_bias": forget_bias} if kind == "lstm" else {}
        plain = cls(hidden, inputs, activation, init=init, gain=gain, spectral_radius=spectral_radius,
                    seed=seed, dtype=dtype, **extra)
        p = plain.params
        Gn = p["weight_hh"].shape[0]
        params = {"weight_ih": p["weight_ih"], "weight_hh": p["weight_hh"],
                  "bias": p["bias_ih"] + p["bias_hh"],
                  "bn_h_weight": np.full(Gn, gamma), "bn_x_weight": np.full(Gn, gamma)}
        if kind == "lstm":
            params["bn_c_weight"] = np.full(hidden, gamma)
            params["bn_c_bias"] = np.zeros(hidden)
        self._setup(kind, params, plain.activation, plain.dtype, {}, True)

    @classmethod
    def from_params(cls, params, activation="tanh", *, dtype=None, stats=None, training=True):
        """A cell with the given parameters; the kind is LSTM when ``bn_c_weight`` is present."""
        if not hasattr(params, "keys"):
            raise TypeError(f"params: expected a mapping of arrays, got {type(params).__name__}")
        kind = "lstm" if "bn_c_weight" in params else "elman"
        self = cls.__new__(cls)
        dtype = as_dtype(dtype or float_array("weight_hh", params.get("weight_hh", 0.0)).dtype)
        self._setup(kind, params, get_activation(activation), dtype, stats or {}, training)
        return self

    def _setup(self, kind, params, activation, dtype, stats, training):
        names = ["weight_ih", "weight_hh", "bias", "bn_h_weight", "bn_x_weight"]
        names += ["bn_c_weight", "bn_c_bias"] if kind == "lstm" else []
        if set(params) != set(names):
            raise ValueError(f"params for a {kind} BatchNormRNN: expected keys {sorted(names)}, "
                             f"got {sorted(params)}")
        self.kind, self.activation, self.dtype = kind, activation, np.dtype(dtype)
        self.gates = 1 if kind == "elman" else 4
        self.param_names = tuple(names)
        self._params = {k: np.ascontiguousarray(float_array(k, params[k]), dtype=self.dtype) for k in names}
        w_hh = self._params["weight_hh"]
        n = w_hh.shape[-1] if w_hh.ndim == 2 else 0
        if n == 0 or w_hh.shape != (self.gates * n, n):
            raise ValueError(f"weight_hh: expected shape ({self.gates}*n, n), got {w_hh.shape}")
        Gn, w_ih = self.gates * n, self._params["weight_ih"]
        if w_ih.ndim != 2 or w_ih.shape[0] != Gn or w_ih.shape[1] == 0:
            raise ValueError(f"weight_ih: expected shape ({Gn}, m), got {w_ih.shape}")
        for k in names[2:]:
            want = (n,) if k.startswith("bn_c") else (Gn,)
            if self._params[k].shape != want:
                raise ValueError(f"{k}: expected shape {want}, got {self._params[k].shape}")
        self.hidden, self.inputs, self.ensemble = n, w_ih.shape[1], None
        self.stats = MappingProxyType(dict(stats))
        self.training = bool(training)

    @property
    def state_size(self):
        return self.hidden * (2 if self.kind == "lstm" else 1)

    @property
    def samples_independent(self):
        """Batch statistics couple the samples in training mode."""
        return not self.training

    @property
    def time_varying(self):
        """Running statistics are per time step: in inference mode the step depends on t."""
        return not self.training

    @property
    def grad_widths(self):
        Gn = self.gates * self.hidden
        return (Gn + (self.hidden if self.kind == "lstm" else 0), Gn)

    def with_params(self, params, stats=None) -> BatchNormRNN:
        """A new cell with other parameters (same names and shapes), the same running statistics."""
        for k, v in params.items():
            if k in self._params and np.shape(v) != self._params[k].shape:
                raise ValueError(f"{k}: expected shape {self._params[k].shape}, got {np.shape(v)}")
        return type(self).from_params(params, self.activation, dtype=self.dtype,
                                      stats=self.stats if stats is None else stats, training=self.training)

    def astype(self, dtype) -> BatchNormRNN:
        """The same cell (and running statistics) in ``dtype``."""
        dt = as_dtype(dtype)
        return type(self).from_params({k: v.astype(dt) for k, v in self._params.items()}, self.activation,
                                      dtype=dt, stats={k: v.astype(dt) for k, v in self.stats.items()},
                                      training=self.training)

    def for_inference(self) -> BatchNormRNN:
        """The same cell normalising with its running statistics (samples independent)."""
        return type(self).from_params(self._params, self.activation, dtype=self.dtype, stats=self.stats,
                                      training=False)

    def __repr__(self):
        mode = "" if self.training else ", training=False"
        return f"BatchNormRNN(kind={self.kind!r}, hidden={self.hidden}, inputs={self.inputs}{mode})"

    # -- statistics -----------------------------------------------------------------------
    def _normalise(self, a, name):
        """(ahat, inv_sigma) of a: (T, B, d), per time step: batch moments in training mode,
        else the running ones of step t (the last stored step beyond it)."""
        if self.training:
            mean, var = a.mean(axis=-2, keepdims=True), a.var(axis=-2, keepdims=True)
        elif f"{name}_mean" in self.stats:
            m, v = self.stats[f"{name}_mean"], self.stats[f"{name}_var"]
            idx = np.minimum(np.arange(a.shape[0]), m.shape[0] - 1)
            mean, var = m[idx][:, None], v[idx][:, None]
        else:
            mean, var = np.zeros((1, 1, a.shape[-1]), self.dtype), np.ones((1, 1, a.shape[-1]), self.dtype)
        inv = 1.0 / np.sqrt(var + EPS)
        return (a - mean) * inv, np.broadcast_to(inv, (a.shape[0], 1, a.shape[-1]))

    def _moments(self, xs, states):
        """Per-step batch moments of the three normalised quantities of a forward pass."""
        n = self.hidden
        parts = {"x": xs @ self._wT("weight_ih"), "h": states[:-1, :, :n] @ self._wT("weight_hh")}
        if self.kind == "lstm":
            parts["c"] = states[1:, :, n:]
        return {k: (a.mean(axis=1), a.var(axis=1)) for k, a in parts.items()}

    def updated(self, forward_cache) -> BatchNormRNN:
        """The cell with its running statistics moved towards the batch moments of a training
        pass (momentum 0.1, unbiased variances, as ``torch.nn.BatchNorm1d``)."""
        B = forward_cache.inputs.shape[-2]
        stats = dict(self.stats)
        for name, (means, variances) in self._moments(forward_cache.inputs, forward_cache.states).items():
            T, d = means.shape
            old_m = stats.get(f"{name}_mean", np.zeros((0, d), self.dtype))
            old_v = stats.get(f"{name}_var", np.ones((0, d), self.dtype))
            L = max(T, old_m.shape[0])
            m, v = np.zeros((L, d), self.dtype), np.ones((L, d), self.dtype)
            m[:old_m.shape[0]], v[:old_v.shape[0]] = old_m, old_v
            m[:T] = (1 - MOMENTUM) * m[:T] + MOMENTUM * means
            v[:T] = (1 - MOMENTUM) * v[:T] + MOMENTUM * variances * (B / max(B - 1, 1))
            stats[f"{name}_mean"], stats[f"{name}_var"] = m, v
        return self.with_params(self._params, stats)

    # -- the protocol -----------------------------------------------------------------------
    def project(self, xs):
        xhat, _ = self._normalise(xs @ self._wT("weight_ih"), "x")
        return self._params["bn_x_weight"] * xhat + self._params["bias"]

    def forward(self, u, s0):
        n, p, act, T = self.hidden, self._params, self.activation, u.shape[0]
        lstm = self.kind == "lstm"
        s, (vhat, chat, cn) = self._buffers(u, s0, u.shape[-1], n * lstm, n * lstm)
        inv_h = np.empty((T, 1, u.shape[-1]), self.dtype)
        inv_c = np.empty((T, 1, n * lstm), self.dtype)
        eval_h = None if self.training else self._normalise(np.zeros((T, 1, u.shape[-1]), self.dtype), "h")
        eval_c = None if self.training or not lstm else self._normalise(np.zeros((T, 1, n), self.dtype), "c")
        for t in range(T):
            v = s[t, :, :n] @ self._wT("weight_hh")
            vhat[t], inv_h[t] = self._step_norm(v, eval_h, t)
            z = u[t]
            z += p["bn_h_weight"] * vhat[t]                  # u[t] now holds z_t
            if not lstm:
                act.f(z, out=s[t + 1])
                continue
            i, f, o = sigmoid(z[:, :n]), sigmoid(z[:, n:2 * n]), sigmoid(z[:, 3 * n:])
            g = act.f(z[:, 2 * n:3 * n])
            c = s[t + 1, :, n:]
            np.multiply(f, s[t, :, n:], out=c)
            c += i * g
            chat[t], inv_c[t] = self._step_norm(c, eval_c, t)
            cn[t] = p["bn_c_weight"] * chat[t] + p["bn_c_bias"]
            s[t + 1, :, :n] = o * act.f(cn[t])
        cache = (u, vhat, inv_h)
        return s, cache + ((chat, inv_c, cn, s[:-1, :, n:]) if lstm else ())

    def _step_norm(self, a, fixed, t):
        """BN of one step's (B, d) array: batch moments, or the running ones in ``fixed``."""
        if fixed is None:
            mean, var = a.mean(axis=0, keepdims=True), a.var(axis=0, keepdims=True)
            inv = 1.0 / np.sqrt(var + EPS)
            return (a - mean) * inv, inv
        zero_hat, inv = fixed                               # fixed[0][t] = -mean_t * inv_t
        return a * inv[t] + zero_hat[t], inv[t]

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        n, p, act, train = self.hidden, self._params, self.activation, self.training
        z, vhat, inv_h = (c[j] for c in cache[:3])
        g_h = g[..., :n]
        g_ih = np.empty(g.shape[:-1] + (self.grad_widths[0],), self.dtype) if out_ih is None else out_ih
        Gn = z.shape[-1]
        g_z = g_ih[..., :Gn]
        if self.kind == "elman":
            np.multiply(g_h, act.df(z), out=g_z)
        else:
            chat, inv_c, cn, c_prev = (c[j] for c in cache[3:])
            i, f, o = sigmoid(z[:, :n]), sigmoid(z[:, n:2 * n]), sigmoid(z[:, 3 * n:])
            gg = act.f(z[:, 2 * n:3 * n])
            g_cn = np.multiply(g_h * o, act.df(cn), out=g_ih[..., Gn:])
            g_c = g[..., n:] + _bn_back(g_cn * p["bn_c_weight"], chat, inv_c, train)
            g_z[..., :n] = g_c * gg * i * (1 - i)
            g_z[..., n:2 * n] = g_c * c_prev * f * (1 - f)
            g_z[..., 2 * n:3 * n] = g_c * i * act.df(z[:, 2 * n:3 * n])
            g_z[..., 3 * n:] = g_h * act.f(cn) * o * (1 - o)
        d_v = _bn_back(g_z * p["bn_h_weight"], vhat, inv_h, train)
        g_prev = np.empty(g.shape, self.dtype) if out is None else out
        np.matmul(d_v, p["weight_hh"], out=g_prev[..., :n])
        if self.kind == "lstm":
            np.multiply(g_c, f, out=g_prev[..., n:])
        return g_prev, g_ih, d_v

    def param_grads(self, xs, states, g_ih, g_hh, input_grads=True):
        p, n, Gn = self._params, self.hidden, self.gates * self.hidden
        g_z = g_ih[..., :Gn]
        xhat, inv_x = self._normalise(xs @ self._wT("weight_ih"), "x")
        vhat, _ = self._normalise(states[:-1, :, :n] @ self._wT("weight_hh"), "h")
        d_ux = _bn_back(g_z * p["bn_x_weight"], xhat, inv_x, self.training)
        grads = {"weight_ih": _outer_sum(_rows(d_ux, None), _rows(xs, None)),
                 "weight_hh": _outer_sum(_rows(g_hh, None), _rows(states[:-1, :, :n], None)),
                 "bias": g_z.sum(axis=(0, 1)),
                 "bn_h_weight": (g_z * vhat).sum(axis=(0, 1)),
                 "bn_x_weight": (g_z * xhat).sum(axis=(0, 1))}
        if self.kind == "lstm":
            g_cn = g_ih[..., Gn:]
            chat, _ = self._normalise(states[1:, :, n:], "c")
            grads["bn_c_weight"] = (g_cn * chat).sum(axis=(0, 1))
            grads["bn_c_bias"] = g_cn.sum(axis=(0, 1))
        return grads, (d_ux @ p["weight_ih"] if input_grads else None)
