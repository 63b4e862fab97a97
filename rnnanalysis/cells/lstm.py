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

from .. import _kernel
from .._buffers import empty
from .._kernel import along, part
from .._validate import finite_float
from ..activations import ACTIVATIONS, derivative, sigmoid
from . import step_products
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
        fused = self._fused_forward(u, s0)
        if fused is not None:
            return fused
        n, T, lead, dt = self.hidden, u.shape[0], s0.shape[:-1], self.dtype
        gates = self._gate_major(u, 1)                       # (T, 4, *lead, n): i, f, o, g
        s = empty((T + 1,) + s0.shape, dt)
        s[0] = s0
        c = empty((T + 1,) + lead + (n,), dt)
        c[0] = s0[..., n:]
        k_ifg = empty((T, 3) + lead + (n,), dt)
        k_o, k_hc = (empty((T,) + lead + (n,), dt) for _ in range(2))
        w4 = self._gate_weights()
        tmp, g, phi = np.empty((4,) + lead + (n,), dt), np.empty(lead + (n,), dt), np.empty(lead + (n,), dt)

        def program(prog):                   # the loop below, replayed from C
            h = s[..., :n]
            step_products.record(prog, along(h), (w4, 0), (tmp, 0))
            prog.ufunc(np.add, along(gates), (tmp, 0), along(gates))
            self._gates_program(prog, along(c), along(c, 1), along(h, 1), along(gates), (g, 0),
                                along(k_ifg), along(k_o), along(k_hc), (phi, 0))

        if not _kernel.replay(dt, T, program):
            hs, cs, matmul = [st[..., :n] for st in s], list(c), step_products.matmul   # views made once
            for t, (a, *row) in enumerate(zip(gates, k_ifg, k_o, k_hc, strict=True)):
                np.add(a, matmul(hs[t], w4, tmp), out=a)
                self._gates_step(cs[t], cs[t + 1], hs[t + 1], a, g, *row, phi)
        s[1:, ..., n:] = c[1:]
        return s, (np.moveaxis(k_ifg, 1, -2), k_o, k_hc, gates[:, 1])   # cache arrays (T, *lead, ...)

    def _fused_forward(self, u, s0):
        """:meth:`forward` with each step's elementwise work as one compiled call
        (:meth:`rnnanalysis._kernel.Program.lstm_forward`, tanh only): the same results bit for
        bit, without the gate-major copy of u, the per-call passes and the copy of c into the
        states; None where it does not run (then the loop below does)."""
        n, T, lead, dt = self.hidden, u.shape[0], s0.shape[:-1], self.dtype
        if (self.activation is not ACTIVATIONS["tanh"] or not _kernel.has_compiled_loops()
                or not u.flags.c_contiguous):
            return None
        s = empty((T + 1,) + s0.shape, dt)
        s[0] = s0
        k_ifg = empty((T, 3) + lead + (n,), dt)
        k_o, k_hc, f = (empty((T,) + lead + (n,), dt) for _ in range(3))
        w4 = self._gate_weights()
        tmp, work = np.empty((4,) + lead + (n,), dt), np.empty((7,) + lead + (n,), dt)

        def program(prog):
            step_products.record(prog, along(s[..., :n]), (w4, 0), (tmp, 0))
            prog.lstm_forward(along(u), (tmp, 0), along(s), along(s, 1), along(k_ifg), along(k_o),
                              along(k_hc), along(f), (work, 0))

        if not _kernel.replay(dt, T, program):
            return None
        return s, (np.moveaxis(k_ifg, 1, -2), k_o, k_hc, f)

    def _gate_weights(self):
        """The recurrent weight's gate blocks transposed, (4, *E, n, n) in the order i, f, o, g
        (what :meth:`_gate_major` makes of ``_wT("weight_hh")``, in one copy instead of two;
        once per :meth:`weights_fixed` block)."""
        return self._kept("gate_weights", self._gate_weights_copy)

    def _gate_weights_copy(self):
        n, w = self.hidden, self._params["weight_hh"]
        out = empty((4,) + w.shape[:-2] + (n, n), self.dtype)
        for k, b in enumerate((0, 1, 3, 2)):
            out[k] = np.swapaxes(w[..., b * n: (b + 1) * n, :], -1, -2)
        return out

    def _gate_major(self, a, axis):
        """The four n-blocks of a's last axis as a new axis at ``axis``, in the order i, f, o, g
        (the three sigmoids first): an elementwise call on a contiguous block costs a fraction
        of one on a (B, n) view of (B, 4n) rows."""
        n = self.hidden
        out = empty(a.shape[:axis] + (4,) + a.shape[axis:-1] + (n,), a.dtype)
        blocks = np.moveaxis(out, axis, 0)
        for k, b in enumerate((0, 1, 3, 2)):
            blocks[k] = a[..., b * n: (b + 1) * n]
        return out

    def _gates_step(self, c_prev, c, h, gates, g, k_ifg, k_o, k_hc, phi):
        """One step from the gate-major pre-activations ``gates`` (4, ..., n) in the order
        i, f, o, g (the sigmoid blocks are overwritten by their values): g = phi(a_g),
        c_t = f c_{t-1} + i g into ``c``, h_t = o phi(c_t) into ``h``; and the step's local
        derivatives while its arrays are in cache: the pre-activation gradients of i, f, g are
        ``k_ifg * g_c`` (k_ifg (3, ..., n)), of o ``k_o * g_h``, with ``g_c = g_c' + k_hc * g_h``.
        ``g``, ``phi``: (..., n) workspaces."""
        act = self.activation
        i, f, o, a_g = gates
        sigmoid(gates[:3], out=gates[:3])
        act.f(a_g, out=g)
        np.multiply(f, c_prev, out=c)
        c += np.multiply(i, g, out=phi)
        act.f(c, out=phi)
        np.multiply(o, phi, out=h)
        k_if = k_ifg[:2]                      # sigma' = s (1 - s), times g for i and c_{t-1} for f
        np.subtract(1.0, gates[:2], out=k_if)
        k_if *= gates[:2]
        k_ifg[0] *= g
        k_ifg[1] *= c_prev
        k_g = derivative(act, a_g, g, out=k_ifg[2])
        k_g *= i
        np.subtract(1.0, o, out=k_o)
        k_o *= o
        k_o *= phi
        derivative(act, c, phi, out=k_hc)
        k_hc *= o

    def _gates_program(self, prog, c_prev, c, h, gates, g, k_ifg, k_o, k_hc, phi):
        """:meth:`_gates_step` as :class:`rnnanalysis._kernel.Program` operands (same calls,
        same order)."""
        act, mul, sub = self.activation, np.multiply, np.subtract
        i, f, o, a_g = (part(gates, q) for q in range(4))
        k_if, sig2 = part(k_ifg, slice(0, 2)), part(gates, slice(0, 2))
        k_i, k_f, k_g = (part(k_ifg, q) for q in range(3))
        _kernel.sigmoid(prog, part(gates, slice(0, 3)), part(gates, slice(0, 3)))
        _kernel.activation(prog, act, a_g, g)
        prog.ufunc(mul, f, c_prev, c)
        prog.ufunc(mul, i, g, phi)
        prog.ufunc(np.add, c, phi, c)
        _kernel.activation(prog, act, c, phi)
        prog.ufunc(mul, o, phi, h)
        prog.ufunc(sub, 1.0, sig2, k_if)
        prog.ufunc(mul, k_if, sig2, k_if)
        prog.ufunc(mul, k_i, g, k_i)
        prog.ufunc(mul, k_f, c_prev, k_f)
        _kernel.derivative(prog, act, a_g, g, k_g)
        prog.ufunc(mul, k_g, i, k_g)
        prog.ufunc(sub, 1.0, o, k_o)
        prog.ufunc(mul, k_o, o, k_o)
        prog.ufunc(mul, k_o, phi, k_o)
        _kernel.derivative(prog, act, c, phi, k_hc)
        prog.ufunc(mul, k_hc, o, k_hc)

    def _gate_adjoint(self, k_ifg, k_o, k_hc, g, out_ih=None):
        """(total gradient on c_t, gradient on the 4 gate pre-activations in PyTorch's order)
        from g on (h_t, c_t); k_ifg: (..., 3, n)."""
        n = self.hidden
        g_h, g_c = g[..., :n], g[..., n:]
        g_ct = np.multiply(g_h, k_hc)
        g_ct += g_c
        g_a = (np.empty(g.shape[:-1] + (4, n), dtype=g.dtype) if out_ih is None
               else out_ih.reshape(g.shape[:-1] + (4, n)))
        np.multiply(g_ct[..., None, :], k_ifg, out=g_a[..., :3, :])
        np.multiply(g_h, k_o, out=g_a[..., 3, :])
        return g_ct, g_a.reshape(g.shape[:-1] + (4 * n,))

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        k_ifg, k_o, k_hc, f = (c[j] for c in cache[:4])
        g_ct, g_a = self._gate_adjoint(k_ifg, k_o, k_hc, g, out_ih)
        g_prev = np.empty(g.shape, dtype=g.dtype) if out is None else out
        step_products.matmul(g_a, self._params["weight_hh"], g_prev[..., : self.hidden])
        np.multiply(g_ct, f, out=g_prev[..., self.hidden:])
        return g_prev, g_a, g_a

    def _backward_program(self, cache, lo, hi, g, out, out_ih, out_hh):
        n, k_ifg = self.hidden, cache[0]
        if (out_hh is not None or g.shape != out.shape[1:] or g.shape[:-1] != k_ifg.shape[1:-2]
                or type(self).backward_step is not LSTM.backward_step):
            return None
        lead = g.shape[:-1]
        g_ct = np.empty(lead + (n,), g.dtype)
        g_a = (np.empty(lead + (4 * n,), g.dtype), 0) if out_ih is None else along(out_ih, hi - 2 - lo, -1)
        gates4 = (g_a[0].reshape(lead + (4, n)), g_a[1])
        raw = np.moveaxis(k_ifg, -2, 1)                  # (T, 3, *lead, n), as forward wrote it
        x, y = along(out, hi - 1 - lo, -1), along(out, hi - 2 - lo, -1)

        def program(prog):
            mul = np.multiply
            g_h, g_c = part(x, np.s_[..., :n]), part(x, np.s_[..., n:])
            k_hc, k_o, k_ifg = (along(a, hi - 2, -1) for a in (cache[2], cache[1], raw))
            try:                              # one fused call for the calls below
                prog.lstm_backward(x, k_hc, k_ifg, k_o, (g_ct, 0), g_a)
            except _kernel.KernelUnavailable:
                prog.ufunc(mul, g_h, k_hc, (g_ct, 0))
                prog.ufunc(np.add, (g_ct, 0), g_c, (g_ct, 0))
                for q in range(3):
                    prog.ufunc(mul, (g_ct, 0), part(k_ifg, q), part(gates4, np.s_[..., q, :]))
                prog.ufunc(mul, g_h, k_o, part(gates4, np.s_[..., 3, :]))
            step_products.record(prog, g_a, (self._params["weight_hh"], 0), part(y, np.s_[..., :n]))
            prog.ufunc(mul, (g_ct, 0), along(cache[3], hi - 2, -1), part(y, np.s_[..., n:]))

        return program
