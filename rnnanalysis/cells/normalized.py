"""Layer-normalised Elman and LSTM cells (Ba, Kiros & Hinton 2016, eq. 4).

The summed pre-activation of each gate block is normalised over its n units, then scaled
and shifted by learned per-unit parameters ``ln_weight`` (gain, init 1) and ``ln_bias``
(init 0):

.. math::
    a_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}, \\qquad
    y_t = \\gamma \\odot \\frac{a_t - \\mu_t}{\\sigma_t} + \\beta, \\qquad
    \\mu_t = \\tfrac1n \\textstyle\\sum_i a_{t,i},\\;
    \\sigma_t = \\sqrt{\\tfrac1n \\textstyle\\sum_i (a_{t,i}-\\mu_t)^2 + \\epsilon}

Elman: ``h_t = phi(y_t)``. LSTM: the four gate blocks (i, f, g, o) are normalised separately
and ``y_t`` replaces the LSTM's gate pre-activations (the paper's extra normalisation of
``c_t`` is not applied). ``eps = 1e-5`` as ``torch.nn.LayerNorm``. Layer statistics are
per sample, so these cells keep the per-sample one-step contract of :class:`Cell` and work
with :func:`~rnnanalysis.simulate`, :func:`~rnnanalysis.bptt` and
:func:`~rnnanalysis.gradient_profile` unchanged.

Contract note: ``backward_step`` (writing into ``out``/``out_ih`` when given) hands back the
gradient with respect to the *normalised* pre-activation ``y``; ``param_grads`` recomputes
the statistics from the states (two GEMMs) and maps it back through the normalisation to
``a`` for the weight gradients.

References:
    Ba, Kiros & Hinton (2016), "Layer normalization", eq. 4 and sec. 3.1.
"""

from __future__ import annotations

import numpy as np

from .._buffers import empty
from ..activations import derivative
from ._base import PARAM_NAMES, Cell, _batch_sum
from .elman import Elman
from .lstm import LSTM

__all__ = ["LayerNormElman", "LayerNormLSTM"]

EPS = 1e-5


def _ln_stats(a, blocks):
    """a: (..., blocks*n) -> (ahat, inv_sigma) with ahat (..., blocks*n), inv (..., blocks, 1)."""
    ab = a.reshape(a.shape[:-1] + (blocks, -1))
    c = ab - ab.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt((c * c).mean(axis=-1, keepdims=True) + EPS)
    return (c * inv).reshape(a.shape), inv


def _ln_backward(d_ahat, ahat, inv, blocks):
    """Gradient w.r.t. a given the gradient w.r.t. ahat (per block of n units).

    .. math:: \\bar a = \\sigma^{-1}\\,(\\bar{\\hat a} - \\operatorname{mean}\\bar{\\hat a}
              - \\hat a\\, \\operatorname{mean}(\\bar{\\hat a} \\odot \\hat a))
    """
    shape = d_ahat.shape
    d = d_ahat.reshape(shape[:-1] + (blocks, -1))
    ah = ahat.reshape(ahat.shape[:-1] + (blocks, -1))
    out = inv * (d - d.mean(axis=-1, keepdims=True) - ah * (d * ah).mean(axis=-1, keepdims=True))
    return out.reshape(shape)


class _LayerNormMixin:
    """Extra parameters and the weight-gradient recomputation shared by the LN cells."""

    param_names = PARAM_NAMES + ("ln_weight", "ln_bias")

    def _extra_params(self, n, lead):
        G = self.gates
        return {"ln_weight": np.ones(lead + (G * n,)), "ln_bias": np.zeros(lead + (G * n,))}

    def _set(self, params, activation, dtype):
        lead_n = params["weight_hh"].shape[:-2] + (params["weight_hh"].shape[-2],)
        for name in ("ln_weight", "ln_bias"):
            if np.shape(params[name]) != lead_n:
                raise ValueError(f"{name}: expected shape {lead_n} (one per row of weight_hh), "
                                 f"got {np.shape(params[name])}")
        Cell._set(self, params, activation, dtype)

    def _pre_activations(self, xs, states):
        return self.project(xs) + self._hidden_part(states[:-1]) @ self._wT("weight_hh")

    def param_grads(self, xs, states, g_ih, g_hh, input_grads=True):
        ahat, inv = _ln_stats(self._pre_activations(xs, states), self.gates)
        g_a = _ln_backward(g_ih * self._bias("ln_weight"), ahat, inv, self.gates)
        grads, g_xs = Cell.param_grads(self, xs, states, g_a, g_a, input_grads=input_grads)
        grads["ln_weight"] = _batch_sum(g_ih * ahat, self.ensemble)
        grads["ln_bias"] = _batch_sum(g_ih, self.ensemble)
        return grads, g_xs


class LayerNormElman(_LayerNormMixin, Elman):
    """Elman cell with layer normalisation of the summed pre-activation (Ba et al. 2016, eq. 4).

    Arguments as :class:`~rnnanalysis.Elman`; extra parameters ``ln_weight`` (n,), ``ln_bias`` (n,).

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> from rnnanalysis.cells import LayerNormElman
        >>> cell = LayerNormElman(hidden=4, inputs=2, seed=0)
        >>> sorted(cell.params)[:2]
        ['bias_hh', 'bias_ih']
    """

    kind = "ln_elman"

    def forward(self, u, s0):
        T = u.shape[0]
        h, (ahat, inv) = self._buffers(u, s0, u.shape[-1], 1)
        inv = inv[..., None]
        w_t, gamma, beta = self._wT("weight_hh"), self._bias("ln_weight"), self._bias("ln_bias")
        for t in range(T):
            np.matmul(h[t], w_t, out=h[t + 1])
            u[t] += h[t + 1]                                  # a_t
            ahat[t], inv[t] = _ln_stats(u[t], 1)
            np.multiply(ahat[t], gamma, out=u[t])
            u[t] += beta                                      # u[t] now holds y_t
            self.activation.f(u[t], out=h[t + 1])
        return h, (derivative(self.activation, u, h[1:], out=u), ahat, inv)

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        dfy, ahat, inv = (c[j] for c in cache)
        g_y = np.multiply(g, dfy, out=out_ih)
        g_a = _ln_backward(g_y * self._bias("ln_weight"), ahat, inv, 1)
        return np.matmul(g_a, self._params["weight_hh"], out=out), g_y, g_y


class LayerNormLSTM(_LayerNormMixin, LSTM):
    """LSTM with each gate block's summed pre-activation layer-normalised (Ba et al. 2016).

    Arguments as :class:`~rnnanalysis.LSTM`; ``forget_bias`` is added to the f-block of
    ``ln_bias`` (after normalisation, where a shift survives). Extra parameters
    ``ln_weight`` (4n,), ``ln_bias`` (4n,).
    """

    kind = "ln_lstm"
    _forget_bias_param = "ln_bias"

    def forward(self, u, s0):
        T = u.shape[0]
        n, lead = self.hidden, s0.shape[:-1]
        s, (ahat, inv, k_o, k_hc, f) = self._buffers(u, s0, u.shape[-1], 4, n, n, n)
        inv = inv[..., None]
        k_ifg = empty((T, 3) + lead + (n,), self.dtype)
        c = empty((T + 1,) + lead + (n,), self.dtype)
        c[0] = s0[..., n:]
        g, phi = np.empty(lead + (n,), dtype=self.dtype), np.empty(lead + (n,), dtype=self.dtype)
        w_t, gamma, beta = self._wT("weight_hh"), self._bias("ln_weight"), self._bias("ln_bias")
        for t in range(T):
            a = u[t]
            a += s[t, ..., :n] @ w_t
            ahat[t], inv[t] = _ln_stats(a, 4)
            np.multiply(ahat[t], gamma, out=a)
            a += beta                                         # a now holds y_t (4 blocks)
            gates = self._gate_major(a, 0)
            self._gates_step(c[t], c[t + 1], s[t + 1, ..., :n], gates, g, k_ifg[t], k_o[t], k_hc[t], phi)
            f[t] = gates[1]
        s[1:, ..., n:] = c[1:]
        return s, (np.moveaxis(k_ifg, 1, -2), k_o, k_hc, f, ahat, inv)

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        k_ifg, k_o, k_hc, f, ahat, inv = (c[j] for c in cache)
        g_ct, g_y = self._gate_adjoint(k_ifg, k_o, k_hc, g, out_ih)
        g_a = _ln_backward(g_y * self._bias("ln_weight"), ahat, inv, 4)
        g_prev = np.empty(g.shape, dtype=g.dtype) if out is None else out
        np.matmul(g_a, self._params["weight_hh"], out=g_prev[..., : self.hidden])
        np.multiply(g_ct, f, out=g_prev[..., self.hidden:])
        return g_prev, g_y, g_y
