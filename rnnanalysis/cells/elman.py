"""Elman (vanilla) RNN cell.

.. math::
    a_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}, \\qquad h_t = \\phi(a_t),
    \\qquad J_t = \\frac{\\partial h_t}{\\partial h_{t-1}} = \\operatorname{diag}(\\phi'(a_t))\\, W_{hh}

References:
    Elman (1990), "Finding structure in time"; PyTorch ``nn.RNN`` (same parameter names).
"""

from __future__ import annotations

import numpy as np

from .. import _kernel
from .._kernel import along
from ..activations import derivative
from . import step_products
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
        w_t, f, matmul, add = self._wT("weight_hh"), self.activation.f, step_products.matmul, np.add
        if not _kernel.replay(self.dtype, T, lambda prog: self._forward_program(prog, u, h, w_t)):
            hs, us = list(h), list(u)            # views made once: the loop is per-step-overhead bound
            for t in range(T):
                matmul(hs[t], w_t, out=hs[t + 1])
                add(us[t], hs[t + 1], out=us[t])     # us[t] now holds the pre-activation a_t
                f(us[t], out=hs[t + 1])
        return h, (derivative(self.activation, u, h[1:], out=u),)   # phi'(a_t), written over a_t

    def _forward_program(self, prog, u, h, w_t):
        """The loop above as a :class:`rnnanalysis._kernel.Program` (same calls, same order)."""
        step_products.record(prog, along(h), (w_t, 0), along(h, 1))
        prog.ufunc(np.add, along(u), along(h, 1), along(u))
        _kernel.activation(prog, self.activation, along(u), along(h, 1))

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        g_a = np.multiply(g, cache[0][j], out=out_ih)   # g diag(phi'(a))
        return step_products.matmul(g_a, self._params["weight_hh"], out), g_a, g_a

    def _backward_program(self, cache, lo, hi, g, out, out_ih, out_hh):
        d = cache[0]
        if (out_hh is not None or g.shape != d.shape[1:]
                or type(self).backward_step is not Elman.backward_step):    # a subclass's own step
            return None
        scratch = np.empty_like(g) if out_ih is None else None

        def program(prog):
            g_a = (scratch, 0) if out_ih is None else along(out_ih, hi - 2 - lo, -1)
            prog.ufunc(np.multiply, along(out, hi - 1 - lo, -1), along(d, hi - 2, -1), g_a)
            step_products.record(prog, g_a, (self._params["weight_hh"], 0), along(out, hi - 2 - lo, -1))

        return program
