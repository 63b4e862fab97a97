"""BPTT as SymPy objects that print themselves: the ordered Jacobian product, the weight
gradient as Pascanu's double sum, and the norm bound.

.. math::
    \\frac{\\partial s_t}{\\partial s_k} = J_t J_{t-1} \\cdots J_{k+1}, \\qquad
    \\frac{\\partial \\mathcal{E}}{\\partial \\theta} = \\sum_{t=1}^{T} \\sum_{k=1}^{t}
    \\frac{\\partial \\mathcal{E}_t}{\\partial s_t} \\frac{\\partial s_t}{\\partial s_k}
    \\frac{\\partial^+ s_k}{\\partial \\theta}, \\qquad
    \\Big\\lVert \\frac{\\partial s_t}{\\partial s_k} \\Big\\rVert_2 \\le
    (\\gamma\\, \\sigma_{\\max}(W))^{t-k}

References:
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", eqs. 3-5 (double sum and ordered product) and sec. 3.1 (the bound).
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy import Basic, MatMul, MatrixSymbol, Symbol

from .printing import timed

__all__ = ["OrderedProduct", "Partial", "WeightGradient", "NormBound", "T_SYM", "K_SYM", "TAU"]

TAU = Symbol("t", integer=True)
GAMMA = Symbol("gamma", positive=True)
SIGMA_MAX = Symbol("sigma_max", positive=True)
K_SYM = Symbol("k", integer=True)
T_SYM = Symbol("T", integer=True, positive=True)


def _index(printer, expr) -> str:
    """A time index without spaces, symbols before numbers (``t-1``, ``k+1``, ``t-k``)."""
    tau = getattr(printer, "rnn", {}).get("time", "t")
    expr = sympy.sympify(expr).subs(TAU, Symbol(tau, integer=True))
    terms = sorted(sympy.Add.make_args(expr), key=lambda e: (e.is_number, e.could_extract_minus_sign()))
    out = ""
    for term in terms:
        neg = term.could_extract_minus_sign()
        body = printer._print(-term if neg else term).replace(" ", "")
        out += ("-" if neg else ("+" if out else "")) + body
    return out


def _state_symbol(printer, state):
    spec = getattr(printer, "spec", None)
    return printer.name_of(state) if spec is not None and state in spec.latex_names else state


class Partial(Basic):
    """``∂ num_{i} / ∂ den_{j}`` for named states at symbolic times (prints as a fraction)."""

    def __new__(cls, num: str, num_time, den: str, den_time, plus: bool = False):
        return Basic.__new__(cls, Symbol(num), sympy.sympify(num_time), Symbol(den), sympy.sympify(den_time),
                             sympy.true if plus else sympy.false)

    @staticmethod
    def _name(printer, sym, time):
        if sym.name == "E":
            return r"\mathcal{E}" if time == 0 else rf"\mathcal{{E}}_{{{_index(printer, time)}}}"
        if sym.name == r"\theta":
            return sym.name
        return timed(_state_symbol(printer, sym.name), _index(printer, time))

    def _latex(self, printer):
        num, nt, den, dt, plus = self.args
        d = r"\partial^{+}" if plus == sympy.true else r"\partial"
        return rf"\frac{{{d} {self._name(printer, num, nt)}}}{{\partial {self._name(printer, den, dt)}}}"


class OrderedProduct(Basic):
    """``∂s_t/∂s_k = J_t J_{t-1} ⋯ J_{k+1}``: the per-step Jacobians, late to early.

    ``doit()`` with integer ``t`` and ``k`` gives the explicit ``MatMul(J_t, …, J_{k+1})``;
    :meth:`evaluate` multiplies concrete Jacobians in the same order.
    """

    def __new__(cls, t=TAU, k=K_SYM, size=None):
        size = sympy.sympify(size if size is not None else Symbol("S", integer=True, positive=True))
        return Basic.__new__(cls, sympy.sympify(t), sympy.sympify(k), size)

    @property
    def t(self):
        return self.args[0]

    @property
    def k(self):
        return self.args[1]

    def factors(self):
        """The factors ``[J_t, J_{t-1}, …, J_{k+1}]`` as MatrixSymbols (integer t and k only)."""
        t, k, S = self.args
        if not (t.is_Integer and k.is_Integer):
            raise ValueError(f"OrderedProduct: explicit factors need integer t and k, got t={t}, k={k}")
        if k > t:
            raise ValueError(f"OrderedProduct: expected k <= t, got t={t}, k={k}")
        return [MatrixSymbol(f"J_{j}", S, S) for j in range(int(t), int(k), -1)]

    def doit(self, **hints):
        if not (self.t.is_Integer and self.k.is_Integer):
            return self
        fs = self.factors()
        if not fs:
            return sympy.Identity(self.args[2])
        return fs[0] if len(fs) == 1 else MatMul(*fs)

    def evaluate(self, jacobians):
        """``J_t @ … @ J_{k+1}`` from ``jacobians[j - 1] = J_j`` (arrays ``(…, S, S)``)."""
        t, k = int(self.t), int(self.k)
        if not 0 <= k <= t <= len(jacobians):
            raise ValueError(f"jacobians: need J_1..J_{t} for t={t}, k={k}; got {len(jacobians)} of them")
        out = np.broadcast_to(np.eye(np.shape(jacobians[0])[-1]), np.shape(jacobians[0])).copy()
        for j in range(k + 1, t + 1):          # later steps multiply from the left
            out = np.asarray(jacobians[j - 1]) @ out
        return out

    def _latex(self, printer):
        t, k, _ = self.args
        if t.is_Integer and k.is_Integer and t - k <= 4:
            return " ".join(f"J_{{{j}}}" for j in range(int(t), int(k), -1)) if t > k else "I"
        return (f"J_{{{_index(printer, t)}}} J_{{{_index(printer, t - 1)}}} \\cdots "
                f"J_{{{_index(printer, k + 1)}}}")


class WeightGradient(Basic):
    """Pascanu's double sum ``Σ_t Σ_{k≤t} (∂E_t/∂s_t)(∂s_t/∂s_k)(∂⁺s_k/∂θ)`` over a horizon T."""

    def __new__(cls, state: str = "s", horizon=T_SYM):
        return Basic.__new__(cls, Symbol(state), sympy.sympify(horizon))

    def _latex(self, printer):
        s, T = self.args
        tau = _index(printer, TAU)
        return (rf"\sum_{{{tau}=1}}^{{{printer._print(T)}}} \sum_{{k=1}}^{{{tau}}} "
                + printer._print(Partial("E", TAU, s.name, TAU)) + " "
                + printer._print(Partial(s.name, TAU, s.name, K_SYM)) + " "
                + printer._print(Partial(s.name, K_SYM, r"\theta", 0, plus=True)))

    def evaluate(self, grad_outputs, jacobians, immediate):
        """The double sum from concrete pieces (one sample).

        grad_outputs: (T, S) rows ``∂E_t/∂s_t``; jacobians: (T, S, S) with ``J_j`` at ``j-1``;
        immediate: (T, S, P) with ``∂⁺s_k/∂θ`` at ``k-1`` -> (P,) gradient.
        """
        T = len(grad_outputs)
        total = 0.0
        for t in range(1, T + 1):
            for k in range(1, t + 1):
                product = OrderedProduct(t, k).evaluate(jacobians)
                total = total + grad_outputs[t - 1] @ product @ immediate[k - 1]
        return total


class NormBound(Basic):
    """``‖∂s_t/∂s_k‖₂ ≤ ∏ ‖J_j‖₂ ≤ (γ σ_max(W))^{t-k}`` for ``J_j = diag(φ'(a_j)) W``."""

    def __new__(cls, state: str, weight: MatrixSymbol, gamma):
        return Basic.__new__(cls, Symbol(state), weight, sympy.sympify(gamma))

    @property
    def rhs(self):
        """The SymPy expression ``(γ σ_max)^(t-k)`` in the symbols gamma, sigma_max, t, k."""
        return (GAMMA * SIGMA_MAX) ** (TAU - K_SYM)

    def value(self, sigma_max: float, lag: int) -> float:
        """The bound's number for a given ``σ_max(W)`` and lag ``t - k``."""
        return float(self.rhs.subs({GAMMA: self.args[2], SIGMA_MAX: sigma_max, TAU: lag, K_SYM: 0}))

    def _latex(self, printer):
        s, W, _ = self.args
        j = "j"
        return (rf"\left\lVert {printer._print(Partial(s.name, TAU, s.name, K_SYM))} \right\rVert_{{2}} "
                rf"\leq \prod_{{{j}={_index(printer, K_SYM + 1)}}}^{{{_index(printer, TAU)}}} "
                rf"\left\lVert J_{{{j}}} \right\rVert_{{2}} "
                rf"\leq \left(\gamma \, \sigma_{{\max}}\left({printer._print(W)}\right)\right)"
                rf"^{{{_index(printer, TAU - K_SYM)}}}")
