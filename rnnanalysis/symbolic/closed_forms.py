"""Closed forms of BPTT where they exist.

.. math::
    \\frac{\\partial h_T}{\\partial h_k} = \\prod_{j=k+1}^{T} w\\,\\phi'(a_j)
    = w^{T-k} \\prod_{j=k+1}^{T} \\phi'(a_j) \\quad\\text{(scalar RNN)}, \\qquad
    W^{T-k} = P J^{T-k} P^{-1} \\quad\\text{(linear RNN)},

and for Pascanu's one-unit linear RNN ``x_t = w x_{t-1}`` the double sum (eq. 5) gives
``dx_t/dw = t x_0 w^(t-1)`` and ``d²x_t/dw² = t (t-1) x_0 w^(t-2)``.

References:
    Pascanu, Mikolov & Bengio (2013), secs. 2-3; Bengio, Simard & Frasconi (1994).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Basic, IndexedBase, Product, Sum, Symbol

from .._results import Result
from ..activations import get_activation
from .bptt import K_SYM, T_SYM, Partial

__all__ = ["ClosedForm", "scalar_rnn_product", "linear_rnn_power", "one_unit_gradient"]

W_SCALAR = Symbol("w", real=True)
X0 = Symbol("x_0", real=True)
J_IDX = Symbol("j", integer=True)
A_SEQ = IndexedBase("a")
T_STEP = Symbol("t", integer=True, positive=True)


@dataclass(frozen=True)
class ClosedForm(Result):
    """``lhs = expr`` with the symbols it is written in (``symbols``: name -> SymPy symbol)."""

    name: str
    lhs: Basic
    expr: Basic
    symbols: dict

    def latex(self) -> str:
        return f"{sympy.latex(self.lhs)} = {sympy.latex(self.expr)}"

    def to_dict(self) -> dict:
        return {"name": self.name, "latex": self.latex(), "expr": sympy.srepr(self.expr)}


def scalar_rnn_product(activation="tanh") -> ClosedForm:
    """``∂h_T/∂h_k`` of the scalar RNN ``h_t = φ(w h_{t-1} + u x_t + b)`` for a symbolic horizon T.

    ``a`` is the sequence of pre-activations (``IndexedBase('a')``); for a linear activation
    the product evaluates to ``w**(T - k)``.
    """
    act = get_activation(activation)
    if act.sympy_df is None:
        raise ValueError(f"activation: {act.name!r} has no known derivative in SymPy (sympy_df is None)")
    expr = Product(W_SCALAR * act.sympy_df(A_SEQ[J_IDX]), (J_IDX, K_SYM + 1, T_SYM)).doit()
    return ClosedForm(f"scalar RNN, {act.name}", Partial("h", T_SYM, "h", K_SYM), expr,
                      {"w": W_SCALAR, "a": A_SEQ, "j": J_IDX, "T": T_SYM, "k": K_SYM})


def linear_rnn_power(W=None) -> ClosedForm:
    """``∂h_T/∂h_k = W^(T-k)`` of the linear RNN ``h_t = W h_{t-1} + U x_t``.

    Default: the symbolic 2 x 2 ``W`` of ``w_11 … w_22``, diagonalised ``W = P Λ P^{-1}``; with
    eigenvalues ``λ_1 ≠ λ_2`` (``symbols["lambda_1"]`` …) the power is the spectral sum
    ``W^N = λ_1^N (W - λ_2 I)/(λ_1 - λ_2) + λ_2^N (W - λ_1 I)/(λ_2 - λ_1)``, N = T - k.
    A concrete SymPy matrix ``W`` goes through its Jordan form ``W = P J P^{-1}`` (defective
    matrices included: a Jordan block contributes ``N λ^(N-1)``).
    """
    N = T_SYM - K_SYM
    shape = (2, 2) if W is None else sympy.Matrix(W).shape
    lhs = sympy.MatPow(sympy.MatrixSymbol("W", *shape), N)
    if W is None:
        W = sympy.Matrix(2, 2, lambda i, j: Symbol(f"w_{i + 1}{j + 1}", real=True))
        l1, l2 = Symbol("lambda_1"), Symbol("lambda_2")
        I2 = sympy.eye(2)
        expr = l1 ** N * (W - l2 * I2) / (l1 - l2) + l2 ** N * (W - l1 * I2) / (l2 - l1)
        tr, det = W.trace(), W.det()
        root = sympy.sqrt(tr ** 2 - 4 * det)
        eigenvalues = {l1: (tr + root) / 2, l2: (tr - root) / 2}
        symbols = {"W": W, "lambda_1": l1, "lambda_2": l2, "eigenvalues": eigenvalues, "T": T_SYM, "k": K_SYM}
        return ClosedForm("linear RNN, 2 x 2", lhs, expr, symbols)
    W = sympy.Matrix(W)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W: expected a square matrix, got shape {W.shape}")
    P, J = W.jordan_form()
    expr = (P * (J ** N) * P.inv()).applyfunc(sympy.factor)
    return ClosedForm("linear RNN, Jordan form", lhs, expr, {"W": W, "P": P, "J": J, "T": T_SYM, "k": K_SYM})


def one_unit_gradient(order: int = 1) -> ClosedForm:
    """Pascanu's one-unit linear RNN ``x_t = w x_{t-1}``: ``d^order x_t / dw^order``.

    The recursion is solved (``rsolve``: ``x_t = x_0 w^t``) and the first derivative is the
    BPTT double sum of eq. 5, ``Σ_k (∂x_t/∂x_k)(∂⁺x_k/∂w) = Σ_k w^(t-k) x_{k-1}``.
    """
    if order not in (1, 2):
        raise ValueError(f"order: expected 1 or 2, got {order!r}")
    x = sympy.Function("x")
    x_t = sympy.rsolve(x(T_STEP) - W_SCALAR * x(T_STEP - 1), x(T_STEP), {x(0): X0})
    k = Symbol("k", integer=True, positive=True)
    summand = sympy.powsimp(W_SCALAR ** (T_STEP - k) * x_t.subs(T_STEP, k - 1))
    first = Sum(summand, (k, 1, T_STEP)).doit()
    expr = first if order == 1 else sympy.factor(sympy.diff(first, W_SCALAR))
    lhs = sympy.Derivative(x(T_STEP), (W_SCALAR, order))
    return ClosedForm(f"one-unit linear RNN, order {order}", lhs, expr,
                      {"w": W_SCALAR, "x_0": X0, "t": T_STEP})
