"""Recurrent batch normalisation (Cooijmans et al. 2016) for Elman and LSTM cores.

The recurrent and input projections are normalised separately, with statistics kept *per time
step*; the LSTM also normalises the cell state before its output nonlinearity:

.. math::
    z_t = \\mathrm{BN}(W_{hh} h_{t-1}; \\gamma_h) + \\mathrm{BN}(W_{ih} x_t; \\gamma_x) + b,
    \\\\ \\mathrm{BN}(a; \\gamma) = \\gamma \\frac{a - \\hat\\mu_t}{\\sqrt{\\hat\\sigma_t^2 + \\epsilon}}

Elman: ``h_t = phi(z_t)``. LSTM (gates i, f, g, o of z_t): ``c_t = f c_{t-1} + i g``,
``h_t = o phi(BN(c_t; gamma_c, beta_c))``. The shifts of the two projections' BNs are
dropped (``b`` does their job, as in the paper); gains start at 0.1 (the paper's
recommendation); ``eps = 1e-5`` and running-average momentum 0.1 as ``torch.nn.BatchNorm1d``.

Why not a :class:`~rnnanalysis.Cell`: in training mode the batch statistics couple the samples
of a minibatch, so one sample's step is not a function of that sample alone and the per-sample
Jacobian contract does not hold. This class therefore owns its forward and backward passes
over the whole batch (gradients checked against finite differences in the tests). In eval mode
it uses the running statistics of step ``t`` (of the last trained step for longer sequences).

References:
    Cooijmans, Ballas, Laurent, Gulcehre & Courville (2016), "Recurrent batch normalization",
    eqs. 6-8 and sec. 4 (gain 0.1, per-time-step statistics); Ioffe & Szegedy (2015).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy.special import expit

from .._validate import as_dtype, float_array
from ..cells import LSTM, Elman

__all__ = ["BatchNormRNN", "BNTrace"]

EPS, MOMENTUM = 1e-5, 0.1


def _bn(a, mean=None, var=None):
    """Normalise over the batch axis (-2): (ahat, inv_sigma, batch mean, batch var)."""
    if mean is None:
        mean, var = a.mean(axis=-2, keepdims=True), a.var(axis=-2, keepdims=True)
    inv = 1.0 / np.sqrt(var + EPS)
    return (a - mean) * inv, inv, mean, var


def _bn_back(d_hat, ahat, inv):
    """Gradient w.r.t. a through batch-statistics BN, given the gradient w.r.t. ahat."""
    return inv * (d_hat - d_hat.mean(axis=-2, keepdims=True)
                  - ahat * (d_hat * ahat).mean(axis=-2, keepdims=True))


@dataclass(frozen=True)
class BNTrace:
    """Forward pass record: states (T+1, B, n) (h), cells (T+1, B, n) or None, internals for
    :meth:`BatchNormRNN.backward`, and ``updated`` (the core with new running statistics)."""

    states: np.ndarray
    cells: np.ndarray | None
    xs: np.ndarray
    cache: dict
    updated: object
    train: bool


class BatchNormRNN:
    """Elman (``kind="elman"``) or LSTM (``kind="lstm"``) core with recurrent batch norm.

    Weights are drawn exactly as the plain cell of the same kind with the same ``init``,
    ``gain``, ``spectral_radius`` and ``seed`` (the two biases summed into ``bias``).
    Parameters: ``weight_ih``, ``weight_hh``, ``bias``, ``bn_h_weight``, ``bn_x_weight``
    (+ ``bn_c_weight``, ``bn_c_bias`` for LSTM); running statistics in :attr:`stats`.
    """

    def __init__(self, kind, hidden, inputs, activation="tanh", *, gamma=0.1, forget_bias=0.0,
                 init="pytorch", gain=1.0, spectral_radius=None, seed=None, dtype=np.float64):
        if kind not in ("elman", "lstm"):
            raise ValueError(f"kind: recurrent batch norm exists for 'elman' and 'lstm', got {kind!r}")
        gamma = float(gamma)
        if not np.isfinite(gamma):
            raise ValueError(f"gamma: expected a finite gain, got {gamma!r}")
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
        self._setup(kind, params, plain.activation, plain.dtype, {})

    def _setup(self, kind, params, activation, dtype, stats):
        self.kind, self.activation, self.dtype = kind, activation, np.dtype(dtype)
        self.gates = 1 if kind == "elman" else 4
        self._params = {k: np.ascontiguousarray(float_array(k, v), dtype=self.dtype)
                        for k, v in params.items()}
        self.hidden = self._params["weight_hh"].shape[1]
        self.inputs = self._params["weight_ih"].shape[1]
        self.stats = MappingProxyType(dict(stats))

    @property
    def params(self):
        return MappingProxyType(self._params)

    @property
    def state_size(self):
        return self.hidden * (2 if self.kind == "lstm" else 1)

    def with_params(self, params, stats=None) -> BatchNormRNN:
        """A new core with other parameters (same names and shapes), the same running statistics."""
        if set(params) != set(self._params):
            raise ValueError(f"params: expected keys {sorted(self._params)}, got {sorted(params)}")
        for k, v in params.items():
            if np.shape(v) != self._params[k].shape:
                raise ValueError(f"{k}: expected shape {self._params[k].shape}, got {np.shape(v)}")
        new = object.__new__(BatchNormRNN)
        new._setup(self.kind, params, self.activation, as_dtype(self.dtype),
                   self.stats if stats is None else stats)
        return new

    def astype(self, dtype) -> BatchNormRNN:
        """The same core (and running statistics) in ``dtype``."""
        new = object.__new__(BatchNormRNN)
        dt = as_dtype(dtype)
        new._setup(self.kind, {k: v.astype(dt) for k, v in self._params.items()}, self.activation, dt,
                   {k: v.astype(dt) for k, v in self.stats.items()})
        return new

    def __repr__(self):
        return f"BatchNormRNN(kind={self.kind!r}, hidden={self.hidden}, inputs={self.inputs})"

    # -- running statistics -------------------------------------------------------------
    def _eval_stats(self, name, t, d):
        mean, var = self.stats.get(f"{name}_mean"), self.stats.get(f"{name}_var")
        if mean is None:
            return np.zeros((1, d), self.dtype), np.ones((1, d), self.dtype)
        k = min(t, mean.shape[0] - 1)
        return mean[k][None], var[k][None]

    def _updated(self, batch_stats, B):
        stats = dict(self.stats)
        for name, (means, variances) in batch_stats.items():
            T, d = means.shape
            old_m = stats.get(f"{name}_mean", np.zeros((0, d), self.dtype))
            old_v = stats.get(f"{name}_var", np.ones((0, d), self.dtype))
            L = max(T, old_m.shape[0])
            m, v = np.zeros((L, d), self.dtype), np.ones((L, d), self.dtype)
            m[:old_m.shape[0]], v[:old_v.shape[0]] = old_m, old_v
            unbiased = variances * (B / max(B - 1, 1))
            m[:T] = (1 - MOMENTUM) * m[:T] + MOMENTUM * means
            v[:T] = (1 - MOMENTUM) * v[:T] + MOMENTUM * unbiased
            stats[f"{name}_mean"], stats[f"{name}_var"] = m, v
        return self.with_params(self._params, stats)

    # -- forward / backward ---------------------------------------------------------------
    def forward(self, xs, train: bool = True) -> BNTrace:
        """xs: (T, B, m). ``train``: batch statistics (and updated running ones) or running ones."""
        xs = float_array("xs", xs, dtype=self.dtype, ndim=3)
        T, B, m = xs.shape
        if m != self.inputs or T < 1 or B < 1:
            raise ValueError(f"xs: expected shape (T, B, {self.inputs}) with T, B >= 1, got {xs.shape}")
        n, p, act = self.hidden, self._params, self.activation
        Gn = p["weight_hh"].shape[0]
        ux = xs @ p["weight_ih"].T
        if train:
            xhat, inv_x, mx, vx = _bn(ux)
        else:
            st = [self._eval_stats("x", t, Gn) for t in range(T)]
            xhat, inv_x, mx, vx = _bn(ux, np.stack([s[0] for s in st]), np.stack([s[1] for s in st]))
        z_in = p["bn_x_weight"] * xhat + p["bias"]
        h = np.zeros((T + 1, B, n), self.dtype)
        c = np.zeros((T + 1, B, n), self.dtype) if self.kind == "lstm" else None
        vhat, inv_h = np.empty((T, B, Gn), self.dtype), np.empty((T, 1, Gn), self.dtype)
        z = np.empty((T, B, Gn), self.dtype)
        mh, vh = np.empty((T, Gn), self.dtype), np.empty((T, Gn), self.dtype)
        if c is not None:
            chat, inv_c = np.empty((T, B, n), self.dtype), np.empty((T, 1, n), self.dtype)
            cn = np.empty((T, B, n), self.dtype)
            mc, vc = np.empty((T, n), self.dtype), np.empty((T, n), self.dtype)
        for t in range(T):
            stats = () if train else self._eval_stats("h", t, Gn)
            vhat[t], inv_h[t], mean, var = _bn(h[t] @ p["weight_hh"].T, *stats)
            mh[t], vh[t] = mean[0], var[0]
            z[t] = p["bn_h_weight"] * vhat[t] + z_in[t]
            if c is None:
                h[t + 1] = act.f(z[t])
                continue
            i, f, o = expit(z[t, :, :n]), expit(z[t, :, n:2 * n]), expit(z[t, :, 3 * n:])
            c[t + 1] = f * c[t] + i * act.f(z[t, :, 2 * n:3 * n])
            stats = () if train else self._eval_stats("c", t, n)
            chat[t], inv_c[t], mean, var = _bn(c[t + 1], *stats)
            mc[t], vc[t] = mean[0], var[0]
            cn[t] = p["bn_c_weight"] * chat[t] + p["bn_c_bias"]
            h[t + 1] = o * act.f(cn[t])
        cache = {"xhat": xhat, "inv_x": inv_x, "vhat": vhat, "inv_h": inv_h, "z": z, "h": h}
        batch_stats = {"x": (mx[:, 0], vx[:, 0]), "h": (mh, vh)}
        if c is not None:
            cache.update(c=c, chat=chat, inv_c=inv_c, cn=cn)
            batch_stats["c"] = (mc, vc)
        updated = self._updated(batch_stats, B) if train else self
        return BNTrace(h, c, xs, cache, updated, train)

    def backward(self, trace: BNTrace, grad_h, at: str = "last"):
        """Exact gradients of L given ``grad_h`` = dL/dh_T (B, n) or dL/dh_1..T (T, B, n).

        Returns ``(grads, adjoints)``: parameter gradients and dL/ds_k, (T+1, B, S). Training
        mode only (eval-mode BN is a fixed affine map; train the model in train mode).
        """
        if not trace.train:
            raise ValueError("trace: backward needs a forward pass with train=True")
        if at not in ("last", "every"):
            raise ValueError(f"at: expected 'last' or 'every', got {at!r}")
        C, p, n, act = trace.cache, self._params, self.hidden, self.activation
        T, B, _ = C["z"].shape
        lstm = self.kind == "lstm"
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        adj = np.zeros((T + 1, B, self.state_size), self.dtype)
        g = adj[T].copy()
        g[:, :n] = grad_h if at == "last" else grad_h[T - 1]
        adj[T] = g
        g_z = np.empty_like(C["z"])
        for t in range(T, 0, -1):
            z = C["z"][t - 1]
            g_h = g[:, :n]
            if not lstm:
                g_z[t - 1] = g_h * act.df(z)
            else:
                i, f, o = expit(z[:, :n]), expit(z[:, n:2 * n]), expit(z[:, 3 * n:])
                gg = act.f(z[:, 2 * n:3 * n])
                cn, chat = C["cn"][t - 1], C["chat"][t - 1]
                g_cn = g_h * o * act.df(cn)
                grads["bn_c_weight"] += (g_cn * chat).sum(0)
                grads["bn_c_bias"] += g_cn.sum(0)
                g_c = g[:, n:] + _bn_back(g_cn * p["bn_c_weight"], chat, C["inv_c"][t - 1])
                g_z[t - 1] = np.concatenate([g_c * gg * i * (1 - i), g_c * C["c"][t - 1] * f * (1 - f),
                                             g_c * i * act.df(z[:, 2 * n:3 * n]),
                                             g_h * act.f(cn) * o * (1 - o)], axis=1)
            d_v = _bn_back(g_z[t - 1] * p["bn_h_weight"], C["vhat"][t - 1], C["inv_h"][t - 1])
            grads["weight_hh"] += d_v.T @ C["h"][t - 1]
            g = np.empty_like(g)
            g[:, :n] = d_v @ p["weight_hh"]
            if lstm:
                g[:, n:] = g_c * f
            if at == "every" and t > 1:
                g[:, :n] += grad_h[t - 2]
            adj[t - 1] = g
        grads["bn_h_weight"] = (g_z * C["vhat"]).sum((0, 1))
        grads["bn_x_weight"] = (g_z * C["xhat"]).sum((0, 1))
        grads["bias"] = g_z.sum((0, 1))
        d_ux = _bn_back(g_z * p["bn_x_weight"], C["xhat"], C["inv_x"])
        grads["weight_ih"] = d_ux.reshape(-1, d_ux.shape[-1]).T @ trace.xs.reshape(-1, self.inputs)
        return grads, adj
