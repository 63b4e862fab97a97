"""Matrix calculus for RNN cells: per-step state Jacobians in numerator layout.

SymPy 1.14's ``MatrixExpr.diff`` returns the Elman case in denominator layout
(``W^T diag(.)``) and raises on Hadamard products, so the derivative is built here from four
rules, applied forward through the cell's intermediates (each ``v`` gets ``∂v/∂s_{t-1}``):

.. math::
    \\partial (W v) = W\\, \\partial v, \\qquad
    \\partial f(a) = \\operatorname{diag}(f'(a))\\, \\partial a, \\qquad
    \\partial (u \\odot v) = \\operatorname{diag}(v)\\, \\partial u + \\operatorname{diag}(u)\\, \\partial v,
    \\qquad \\partial c = 0,

and layer normalisation, ``∂ norm(a) = sd(a)^{-1} (I - (1 1^T + norm(a) norm(a)^T)/n) ∂a``.

Terms that share everything but a leading ``diag`` are collected into one ``diag`` of the
sum (e.g. GRU's ``diag(h_{t-1} - n_t)``); nothing else is simplified.

References:
    Magnus & Neudecker (2019), "Matrix Differential Calculus", ch. 9 (numerator layout);
    SymPy issue 21062 (Hadamard products in ``MatrixExpr.diff``).
"""

from __future__ import annotations

from sympy import DiagMatrix, HadamardProduct, Identity, MatAdd, MatMul, MatrixSymbol, OneMatrix, ZeroMatrix

from .expr import Apply, Normalize, NormalizeJacobian, add, coeff_and_factors, mul

__all__ = ["state_jacobians"]


class _Differentiator:
    """Forward total derivatives of every intermediate of a spec w.r.t. each previous state."""

    def __init__(self, spec):
        self.spec = spec
        self.prev = [spec.prev_state(k) for k in spec.states]
        self.D: dict[str, dict[str, object]] = {}          # symbol name -> {state key: derivative}

    def run(self):
        for sym, expr in self.spec.definitions:
            pairs = zip(self.spec.states, self.prev, strict=True)
            self.D[sym.name] = {k: collect(self.d(expr, p)) for k, p in pairs}
        return self.D

    def depends(self, expr, wrt):
        for s in expr.atoms(MatrixSymbol):
            if s == wrt or self.D.get(s.name, {}).get(self.spec.keys[wrt.name]) is not None:
                return True
        return False

    def d(self, expr, wrt):
        """∂expr/∂wrt (numerator layout), or None when it is structurally zero."""
        if not self.depends(expr, wrt):
            return None
        if isinstance(expr, MatrixSymbol):
            if expr == wrt:
                return Identity(expr.shape[0])
            return self.D[expr.name][self.spec.keys[wrt.name]]
        if isinstance(expr, MatAdd):
            return add(*(self.d(t, wrt) for t in expr.args))
        if isinstance(expr, MatMul):
            coeff, factors = coeff_and_factors(expr)
            dependent = [i for i, f in enumerate(factors) if self.depends(f, wrt)]
            if dependent != [len(factors) - 1]:
                raise ValueError(f"cannot differentiate {expr}: only linear maps W v with the state in "
                                 "the last factor are supported (use hadamard for elementwise products)")
            return mul(coeff, *factors[:-1], self.d(factors[-1], wrt))
        if isinstance(expr, HadamardProduct):
            terms = []
            for i, u in enumerate(expr.args):
                rest = expr.args[:i] + expr.args[i + 1:]
                other = rest[0] if len(rest) == 1 else HadamardProduct(*rest)
                terms.append(mul(DiagMatrix(other), self.d(u, wrt)))
            return add(*terms)
        if isinstance(expr, Apply):
            return mul(DiagMatrix(expr.derivative()), self.d(expr.arg, wrt))
        if isinstance(expr, Normalize):
            return mul(NormalizeJacobian(expr.arg, expr.eps), self.d(expr.arg, wrt))
        if isinstance(expr, (OneMatrix, ZeroMatrix, Identity)):
            return None
        raise ValueError(f"cannot differentiate {type(expr).__name__} {expr}: supported are sums, "
                         "linear maps, Hadamard products and elementwise activations")


def collect(expr):
    """Merge terms ``c1 diag(u1) R + c2 diag(u2) R`` into ``diag(c1 u1 + c2 u2) R``."""
    if not isinstance(expr, MatAdd):
        return expr
    groups: dict = {}
    for index, term in enumerate(expr.args):
        coeff, factors = coeff_and_factors(term)
        if factors and isinstance(factors[0], DiagMatrix):
            tail = tuple(factors[1:])
            head = factors[0].args[0] if coeff == 1 else MatMul(coeff, factors[0].args[0])
        else:
            tail, head = ("whole", index), None
        groups.setdefault(tail, []).append((term, head))
    if len(groups) == len(expr.args):
        return expr
    terms = []
    for tail, members in groups.items():
        if len(members) == 1:
            terms.append(members[0][0])
        else:
            terms.append(mul(DiagMatrix(MatAdd(*(h for _, h in members))), *tail))
    return add(*terms)


def state_jacobians(spec):
    """``{(out_key, in_key): ∂out_t/∂in_{t-1}}`` over the spec's states (None = zero block),
    and the derivative of every intermediate, ``{symbol name: {state key: expr}}``."""
    spec.check_complete()
    D = _Differentiator(spec).run()
    blocks = {(o, i): D[o][i] for o in spec.states for i in spec.states}
    return blocks, D


def jacobian_matrix(spec, blocks):
    """The state Jacobian as one SymPy matrix expression (a BlockMatrix for several states)."""
    from sympy import BlockMatrix

    n = spec.n
    full = {k: (v if v is not None else ZeroMatrix(n, n)) for k, v in blocks.items()}
    if len(spec.states) == 1:
        return full[(spec.states[0], spec.states[0])]
    return BlockMatrix([[full[(o, i)] for i in spec.states] for o in spec.states])
