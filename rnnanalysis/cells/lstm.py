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

from .._buffers import empty
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
        T = u.shape[0]
        s, (pre_g, phi_c) = self._buffers(u, s0, self.hidden, self.hidden)
        tmp = np.empty(u.shape[1:], dtype=self.dtype)
        w_t = self._wT("weight_hh")
        for t in range(T):
            np.matmul(s[t, ..., : self.hidden], w_t, out=tmp)
            u[t] += tmp
            self._gates_step(u[t], s[t], s[t + 1], pre_g[t], phi_c[t])
        return s, self._gate_derivatives(u, s, pre_g, phi_c)

    def _gates_step(self, a, s_prev, s_next, pre_g, phi_c):
        """Gates from their pre-activations ``a`` (overwritten by the gate values), then
        c_t = f c_{t-1} + i g and h_t = o phi(c_t) into ``s_next``; keeps g's pre-activation
        and phi(c_t) for the derivatives."""
        n, act = self.hidden, self.activation
        pre_g[...] = a[..., 2 * n: 3 * n]
        sigmoid(a, out=a)                     # all four blocks in one contiguous call; g is redone
        act.f(pre_g, out=a[..., 2 * n: 3 * n])
        c_new = s_next[..., n:]
        np.multiply(a[..., n: 2 * n], s_prev[..., n:], out=c_new)
        c_new += a[..., :n] * a[..., 2 * n: 3 * n]
        act.f(c_new, out=phi_c)
        np.multiply(a[..., 3 * n:], phi_c, out=s_next[..., :n])

    def _gate_derivatives(self, gates, s, pre_g, phi_c):
        """Local derivatives for all steps: the gate pre-activation gradients are
        ``k_ifg * g_c`` (blocks i, f, g), ``k_o * g_h`` and ``g_c = g_c' + k_hc * g_h``.
        (In place, without temporaries of the trajectory's size: this is a hot spot.)"""
        n, act = self.hidden, self.activation
        i, f, g, o = (gates[..., k * n: (k + 1) * n] for k in range(4))
        k_ifg = empty(gates.shape[:-1] + (3 * n,), gates.dtype)
        k_i, k_f, k_g = (k_ifg[..., k * n: (k + 1) * n] for k in range(3))
        for k, gate, other in ((k_i, i, g), (k_f, f, s[:-1, ..., n:])):   # sigma' = s(1 - s)
            np.subtract(1.0, gate, out=k)
            k *= gate
            k *= other
        derivative(act, pre_g, g, out=k_g)
        k_g *= i
        k_o = np.subtract(1.0, o, out=empty(phi_c.shape, phi_c.dtype))
        k_o *= o
        k_o *= phi_c
        k_hc = derivative(act, s[1:, ..., n:], phi_c, out=empty(phi_c.shape, phi_c.dtype))
        k_hc *= o
        f_c = empty(phi_c.shape, phi_c.dtype)
        f_c[...] = f
        return k_ifg, k_o, k_hc, f_c

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
