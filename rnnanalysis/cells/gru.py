"""GRU cell with PyTorch's equations and gate order (r, z, n).

.. math::
    r = \\sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\\quad
    z = \\sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),\\\\
    n = \\phi(W_{in} x + b_{in} + r \\odot (W_{hn} h + b_{hn})),\\quad
    h_t = (1 - z) \\odot n + z \\odot h_{t-1}

References:
    Cho et al. (2014); PyTorch ``nn.GRU`` (the reset gate multiplies W_hn h + b_hn).
"""

from __future__ import annotations

import numpy as np

from .._buffers import empty
from ..activations import derivative, sigmoid
from ._base import Cell


class GRU(Cell):
    """GRU cell (PyTorch's variant); see :class:`Cell` for the arguments."""

    kind = "gru"
    gates = 3
    separate_hh_grad = True

    def _folded_bias(self):
        return self._bias("bias_ih")             # b_hn sits inside r * (.), so b_hh is not folded

    def forward(self, u, s0):
        n, T = self.hidden, u.shape[0]
        act = self.activation
        h, (hn, cand) = self._buffers(u, s0, n, n)
        tmp = empty(u.shape[1:], self.dtype)
        w_t, b_hh = self._wT("weight_hh"), self._bias("bias_hh")
        for t in range(T):
            a = u[t]
            np.matmul(h[t], w_t, out=tmp)
            tmp += b_hh
            rz = a[..., : 2 * n]
            rz += tmp[..., : 2 * n]
            sigmoid(rz, out=rz)
            hn[t] = tmp[..., 2 * n:]
            a[..., 2 * n:] += a[..., :n] * hn[t]      # a_n, the candidate's pre-activation
            act.f(a[..., 2 * n:], out=cand[t])
            np.subtract(h[t], cand[t], out=h[t + 1])
            h[t + 1] *= a[..., n: 2 * n]
            h[t + 1] += cand[t]
        r, z, a_n = (u[..., k * n: (k + 1) * n] for k in range(3))
        k_n, k_z, k_r, r_c, z_c, one_minus = (empty(cand.shape, self.dtype) for _ in range(6))
        np.subtract(1.0, z, out=one_minus)
        np.multiply(one_minus, derivative(act, a_n, cand, out=k_n), out=k_n)   # d h_t / d a_n
        np.subtract(h[:-1], cand, out=k_z)            # d h_t / d a_z = (h - n) z (1 - z)
        k_z *= z
        k_z *= one_minus
        np.multiply(hn, r, out=k_r)                   # d a_n / d a_r = hn r (1 - r)
        k_r *= np.subtract(1.0, r, out=one_minus)
        r_c[...], z_c[...] = r, z
        return h, (k_n, k_z, k_r, r_c, z_c)

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        n = self.hidden
        k_n, k_z, k_r, r, z = (c[j] for c in cache)
        g_ih = np.empty(g.shape[:-1] + (3 * n,), dtype=g.dtype) if out_ih is None else out_ih
        g_an = np.multiply(g, k_n, out=g_ih[..., 2 * n:])
        np.multiply(g_an, k_r, out=g_ih[..., :n])
        np.multiply(g, k_z, out=g_ih[..., n: 2 * n])
        g_hh = g_ih.copy()
        g_hh[..., 2 * n:] *= r
        g_prev = np.matmul(g_hh, self._params["weight_hh"], out=out)
        g_prev += g * z
        return g_prev, g_ih, g_hh
