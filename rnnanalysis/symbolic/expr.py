"""Building blocks over SymPy matrix expressions: elementwise maps, diag, Hadamard, and
constructors that keep structural zeros and identities out of the way.

Vectors are ``n x 1`` :class:`sympy.MatrixSymbol` expressions. ``Apply(f, a, k)`` is the
k-th derivative of the elementwise map ``f`` applied to ``a`` (``k = 0``: ``f(a)`` itself),
so the chain rule through an elementwise map is

.. math::
    \\frac{\\partial f(a)}{\\partial s} = \\operatorname{diag}(f'(a))\\, \\frac{\\partial a}{\\partial s}.
"""

from __future__ import annotations

import sympy
from sympy import DiagMatrix, HadamardProduct, Identity, MatAdd, MatMul, MatrixExpr, Symbol

__all__ = ["Apply", "add", "mul", "diag", "hadamard", "coeff_and_factors"]


class Apply(MatrixExpr):
    """The elementwise map named ``fname`` (its ``order``-th derivative) applied to ``arg``."""

    def __new__(cls, fname, arg, order=0):
        fname = Symbol(fname) if isinstance(fname, str) else fname
        if not isinstance(arg, MatrixExpr):
            raise TypeError(f"{fname}: expected a SymPy matrix expression, got {type(arg).__name__} {arg!r}")
        return MatrixExpr.__new__(cls, fname, arg, sympy.Integer(order))

    @property
    def fname(self) -> str:
        return self.args[0].name

    @property
    def arg(self) -> MatrixExpr:
        return self.args[1]

    @property
    def order(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        return self.args[1].shape

    def derivative(self) -> Apply:
        return Apply(self.args[0], self.args[1], self.order + 1)


def coeff_and_factors(term):
    """Split a product into its scalar coefficient and its matrix factors (flattened)."""
    if isinstance(term, MatMul):
        coeff, factors = sympy.Integer(1), []
        for f in term.args:
            if isinstance(f, MatrixExpr):
                c, fs = coeff_and_factors(f)
                coeff, factors = coeff * c, factors + fs
            else:
                coeff = coeff * f
        return coeff, factors
    return sympy.Integer(1), [term]


def mul(*factors):
    """The product of ``factors`` (scalars allowed); ``None`` (a structural zero) absorbs,
    identities drop out, nested products are flattened and coefficients pulled to the front."""
    if any(f is None for f in factors):
        return None
    coeff, mats = sympy.Integer(1), []
    for f in factors:
        if isinstance(f, MatrixExpr):
            c, fs = coeff_and_factors(f)
            coeff = coeff * c
            mats += [g for g in fs if not isinstance(g, Identity)]
        else:
            coeff = coeff * f
    if coeff == 0:
        return None
    if not mats:
        raise ValueError("mul: a product needs at least one matrix factor that is not the identity")
    if coeff == 1 and len(mats) == 1:
        return mats[0]
    return MatMul(*([coeff] if coeff != 1 else []), *mats)


def add(*terms):
    """The sum of ``terms`` in the given order, skipping structural zeros (``None``)."""
    terms = [t for t in terms if t is not None]
    flat = []
    for t in terms:
        flat += list(t.args) if isinstance(t, MatAdd) else [t]
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else MatAdd(*flat)


def diag(v):
    """``diag(v)`` of an ``n x 1`` vector expression."""
    return DiagMatrix(v)


def hadamard(*factors):
    """The elementwise (Hadamard) product ``u ⊙ v ⊙ …`` of equally shaped expressions."""
    if len(factors) < 2:
        raise ValueError(f"hadamard: expected at least two factors, got {len(factors)}")
    shapes = {f.shape for f in factors}
    if len(shapes) != 1:
        raise ValueError(f"hadamard: factors must have equal shapes, got {[f.shape for f in factors]}")
    return HadamardProduct(*factors)
