"""Elman (vanilla) RNN cell.

.. math::
    a_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}, \\qquad h_t = \\phi(a_t),
    \\qquad J_t = \\frac{\\partial h_t}{\\partial h_{t-1}} = \\operatorname{diag}(\\phi'(a_t))\\, W_{hh}

References:
    Elman (1990), "Finding structure in time"; PyTorch ``nn.RNN`` (same parameter names).
"""

from __future__ import annotations

import numpy as np

from ..activations import derivative
from ._base import Cell


class Elman(Cell):
    """Elman cell ``h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``; see :class:`Cell`.

    Example:
        >>> import rnnanalysis as ra
        >>> cell = ra.Elman(hidden=4, inputs=2, seed=0)
        >>> cell.params["weight_hh"].shape
        (4, 4)
    """

    kind = "elman"
    gates = 1

    def forward(self, u, s0):
        T = u.shape[0]
        h, _ = self._buffers(u, s0)
        w_t, f, matmul, add = self._wT("weight_hh"), self.activation.f, np.matmul, np.add
        hs, us = list(h), list(u)                # views made once: the loop is per-step-overhead bound
        for t in range(T):
            matmul(hs[t], w_t, out=hs[t + 1])
            add(us[t], hs[t + 1], out=us[t])     # us[t] now holds the pre-activation a_t
            f(us[t], out=hs[t + 1])
        return h, (derivative(self.activation, u, h[1:], out=u),)   # phi'(a_t), written over a_t

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        g_a = np.multiply(g, cache[0][j], out=out_ih)   # g diag(phi'(a))
        return np.matmul(g_a, self._params["weight_hh"], out=out), g_a, g_a
