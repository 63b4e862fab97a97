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

from .. import _kernel
from .._buffers import empty
from .._kernel import along, part
from ..activations import derivative, sigmoid
from . import step_products
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

        def program(prog):                   # the loop below, replayed from C
            mul, add = np.multiply, np.add
            a, ht, ht1, c = along(u), along(h), along(h, 1), along(cand)
            r, z, a_n = (part(a, np.s_[..., k * n: (k + 1) * n]) for k in range(3))
            rz, tmp_rz, tmp_n = part(a, np.s_[..., :2 * n]), (tmp[..., :2 * n], 0), (tmp[..., 2 * n:], 0)
            step_products.record(prog, ht, (w_t, 0), (tmp, 0))
            prog.ufunc(add, (tmp, 0), (np.broadcast_to(b_hh, tmp.shape).copy(), 0), (tmp, 0))
            prog.ufunc(add, rz, tmp_rz, rz)
            _kernel.sigmoid(prog, rz, rz)
            prog.ufunc(np.positive, tmp_n, along(hn))              # hn[t] = tmp[..., 2n:]
            prog.ufunc(mul, r, along(hn), (r_hn, 0))
            prog.ufunc(add, a_n, (r_hn, 0), a_n)
            _kernel.activation(prog, act, a_n, c)
            prog.ufunc(np.subtract, ht, c, ht1)
            prog.ufunc(mul, ht1, z, ht1)
            prog.ufunc(add, ht1, c, ht1)

        r_hn = np.empty(u.shape[1:-1] + (n,), self.dtype)
        if not _kernel.replay(self.dtype, T, program):
            for t in range(T):
                a = u[t]
                step_products.matmul(h[t], w_t, tmp)
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
        g_prev = step_products.matmul(g_hh, self._params["weight_hh"], out)
        g_prev += g * z
        return g_prev, g_ih, g_hh

    def _backward_program(self, cache, lo, hi, g, out, out_ih, out_hh):
        n, k_n = self.hidden, cache[0]
        if g.shape != k_n.shape[1:] or type(self).backward_step is not GRU.backward_step:
            return None
        lead = g.shape[:-1]
        scratch = np.empty(lead + (n,), g.dtype)

        def moving(buf):                      # buf[j - lo] for j = hi-2, ..., lo, or a scratch row
            return (np.empty(lead + (3 * n,), g.dtype), 0) if buf is None else along(buf, hi - 2 - lo, -1)

        g_ih, g_hh = moving(out_ih), moving(out_hh)
        x, y = along(out, hi - 1 - lo, -1), along(out, hi - 2 - lo, -1)
        k_n, k_z, k_r, r, z = (along(c, hi - 2, -1) for c in cache)

        def program(prog):
            mul = np.multiply
            g_an = part(g_ih, np.s_[..., 2 * n:])
            prog.ufunc(mul, x, k_n, g_an)
            prog.ufunc(mul, g_an, k_r, part(g_ih, np.s_[..., :n]))
            prog.ufunc(mul, x, k_z, part(g_ih, np.s_[..., n: 2 * n]))
            prog.ufunc(np.positive, g_ih, g_hh)                    # g_hh = g_ih.copy()
            prog.ufunc(mul, part(g_hh, np.s_[..., 2 * n:]), r, part(g_hh, np.s_[..., 2 * n:]))
            step_products.record(prog, g_hh, (self._params["weight_hh"], 0), y)
            prog.ufunc(mul, x, z, (scratch, 0))
            prog.ufunc(np.add, y, (scratch, 0), y)

        return program
