"""LSTM cell with PyTorch's gate order (i, f, g, o); state s = (h, c), size 2n.

.. math::
    i, f, o = \\sigma(\\cdot),\\; g = \\phi(\\cdot) \\text{ of } W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}
    \\qquad c_t = f \\odot c_{t-1} + i \\odot g, \\qquad h_t = o \\odot \\phi(c_t)

The state Jacobian is the 2n x 2n block matrix over (h, c); its (c, c) block is the
constant-error carousel ``diag(f_t)``.

References:
    Hochreiter & Schmidhuber (1997); Gers, Schmidhuber & Cummins (2000) (forget gate, bias 1);
    PyTorch ``nn.LSTM``.
"""

from __future__ import annotations

import numpy as np

from .._validate import finite_float
from ..activations import derivative, sigmoid
from ._base import Cell


class LSTM(Cell):
    """LSTM cell; ``forget_bias`` is added to the f-block of ``bias_ih`` at initialisation.

    Other arguments as :class:`Cell`. ``activation`` is phi (tanh in PyTorch).
    """

    kind = "lstm"
    gates = 4
    _forget_bias_param = "bias_ih"    # the bias whose f-block forget_bias shifts

    def __init__(self, hidden, inputs, activation="tanh", *, forget_bias=0.0, **kwargs):
        super().__init__(hidden, inputs, activation, **kwargs)
        fb = finite_float("forget_bias", forget_bias)
        self._params[self._forget_bias_param][..., hidden:2 * hidden] += fb

    @property
    def state_size(self):
        return 2 * self.hidden

    def _hidden_part(self, states):
        return states[..., : self.hidden]

    def forward(self, u, s0):
        n = self.hidden
        s, (k_ifg, k_o, k_hc) = self._buffers(u, s0, 3 * n, n, n)
        tmp = np.empty(u.shape[1:], dtype=self.dtype)
        scratch = np.empty(u.shape[1:-1] + (2 * n,), dtype=self.dtype)
        w_t, matmul = self._wT("weight_hh"), np.matmul
        ss, us, ks = list(s), list(u), list(zip(k_ifg, k_o, k_hc, strict=True))   # views made once
        for t, (a, k) in enumerate(zip(us, ks, strict=True)):
            matmul(ss[t][..., :n], w_t, out=tmp)
            a += tmp
            self._gates_step(a, ss[t], ss[t + 1], *k, scratch)
        return s, (k_ifg, k_o, k_hc, u[..., n: 2 * n])

    def _gates_step(self, a, s_prev, s_next, k_ifg, k_o, k_hc, scratch):
        """One step from the gate pre-activations ``a`` (overwritten by the gate values i, f, g,
        o): c_t = f c_{t-1} + i g and h_t = o phi(c_t) into ``s_next``, and the step's local
        derivatives while its arrays are in cache: the gate pre-activation gradients are
        ``k_ifg * g_c`` (blocks i, f, g), ``k_o * g_h``, with ``g_c = g_c' + k_hc * g_h``.
        ``scratch``: (..., 2n) workspace."""
        n, act = self.hidden, self.activation
        i, f, g, o = (a[..., k * n: (k + 1) * n] for k in range(4))
        c_prev, c = s_prev[..., n:], s_next[..., n:]
        pre_g, phi_c = scratch[..., :n], scratch[..., n:]
        pre_g[...] = g
        sigmoid(a, out=a)                     # all four blocks in one contiguous call; g is redone
        act.f(pre_g, out=g)
        np.multiply(f, c_prev, out=c)
        c += np.multiply(i, g, out=phi_c)
        act.f(c, out=phi_c)
        np.multiply(o, phi_c, out=s_next[..., :n])
        k_if = k_ifg[..., : 2 * n]            # sigma' = s (1 - s), times g for i and c_{t-1} for f
        np.subtract(1.0, a[..., : 2 * n], out=k_if)
        k_if *= a[..., : 2 * n]
        k_ifg[..., :n] *= g
        k_ifg[..., n: 2 * n] *= c_prev
        k_g = derivative(act, pre_g, g, out=k_ifg[..., 2 * n:])
        k_g *= i
        np.subtract(1.0, o, out=k_o)
        k_o *= o
        k_o *= phi_c
        derivative(act, c, phi_c, out=k_hc)
        k_hc *= o

    def _gate_adjoint(self, k_ifg, k_o, k_hc, g, out_ih=None):
        """(total gradient on c_t, gradient on the 4 gate pre-activations) from g on (h_t, c_t)."""
        n = self.hidden
        g_h, g_c = g[..., :n], g[..., n:]
        g_ct = g_c + g_h * k_hc
        g_a = (np.empty(g.shape[:-1] + (4, n), dtype=g.dtype) if out_ih is None
               else out_ih.reshape(g.shape[:-1] + (4, n)))
        np.multiply(g_ct[..., None, :], k_ifg.reshape(k_ifg.shape[:-1] + (3, n)), out=g_a[..., :3, :])
        np.multiply(g_h, k_o, out=g_a[..., 3, :])
        return g_ct, g_a.reshape(g.shape[:-1] + (4 * n,))

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        k_ifg, k_o, k_hc, f = (c[j] for c in cache[:4])
        g_ct, g_a = self._gate_adjoint(k_ifg, k_o, k_hc, g, out_ih)
        g_prev = np.empty(g.shape, dtype=g.dtype) if out is None else out
        np.matmul(g_a, self._params["weight_hh"], out=g_prev[..., : self.hidden])
        np.multiply(g_ct, f, out=g_prev[..., self.hidden:])
        return g_prev, g_a, g_a
