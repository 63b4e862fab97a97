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
from sympy import HadamardProduct, Identity, MatAdd, MatMul, MatrixExpr, Symbol

__all__ = ["Apply", "Normalize", "NormalizeJacobian", "add", "mul", "hadamard", "normalize",
           "coeff_and_factors"]


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

    def _entry(self, i, j, **kwargs):
        """Entry (i, j): an undefined function ``phi`` (``phi'`` …) of the argument's entry."""
        return sympy.Function(self.fname + "'" * self.order)(self.arg._entry(i, j, **kwargs))

    def _latex(self, printer):
        # the cell's name for the map under RNNLatexPrinter, SymPy's name of the symbol elsewhere
        name = printer.name_of(self.fname) if hasattr(printer, "name_of") else printer._print(self.args[0])
        prime = "'" * self.order if self.order <= 3 else f"^{{({self.order})}}"
        return rf"{name}{prime}\left({printer._print(self.arg)}\right)"

    def derivative(self) -> Apply:
        return Apply(self.args[0], self.args[1], self.order + 1)


class _OfVector(MatrixExpr):
    """An expression of one n x 1 argument and a layer-norm epsilon."""

    @property
    def arg(self):
        return self.args[0]

    @property
    def eps(self) -> float:
        return float(self.args[1])


class Normalize(_OfVector):
    """Layer normalisation of a vector over its n entries, without gain and bias:
    ``norm(a) = (a - mean(a) 1) / sd(a)``, ``sd(a) = sqrt(mean((a - mean(a))**2) + eps)``."""

    def __new__(cls, arg, eps=1e-5):
        if not isinstance(arg, MatrixExpr) or arg.shape[1] != 1:
            raise TypeError(f"normalize: expected an n x 1 matrix expression, got {arg!r}")
        eps = float(eps)
        if not eps > 0:
            raise ValueError(f"normalize: eps must be > 0, got {eps!r}")
        return MatrixExpr.__new__(cls, arg, sympy.Float(eps))

    @property
    def shape(self):
        return self.args[0].shape

    def _latex(self, printer):
        return rf"\operatorname{{norm}}\left({printer._print(self.arg)}\right)"


class NormalizeJacobian(_OfVector):
    """``∂ norm(a)/∂a = (I - (1 1^T + norm(a) norm(a)^T)/n) / sd(a)`` (n x n)."""

    def __new__(cls, arg, eps):
        return MatrixExpr.__new__(cls, arg, sympy.Float(eps))

    @property
    def shape(self):
        return (self.args[0].shape[0], self.args[0].shape[0])

    def _latex(self, printer):
        T = getattr(printer, "rnn", {}).get("transpose", r"^\top")
        y, a, n = (printer._print(e) for e in (Normalize(self.arg, self.eps), self.arg, self.shape[0]))
        return (rf"\frac{{1}}{{\operatorname{{sd}}\left({a}\right)}} "
                rf"\left(I - \frac{{1}}{{{n}}} \left(1 1{T} + {y} {y}{T}\right)\right)")


def normalize(v, eps: float = 1e-5) -> Normalize:
    """Layer normalisation ``(v - mean(v)) / sqrt(var(v) + eps)`` of an n x 1 expression
    (Ba, Kiros & Hinton 2016, eq. 4 without gain and bias; eps as ``torch.nn.LayerNorm``)."""
    return Normalize(v, eps)


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


def hadamard(*factors):
    """The elementwise (Hadamard) product ``u ⊙ v ⊙ …`` of equally shaped expressions."""
    if len(factors) < 2:
        raise ValueError(f"hadamard: expected at least two factors, got {len(factors)}")
    shapes = {f.shape for f in factors}
    if len(shapes) != 1:
        raise ValueError(f"hadamard: factors must have equal shapes, got {[f.shape for f in factors]}")
    return HadamardProduct(*factors)
