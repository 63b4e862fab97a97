"""LaTeX for cell equations and Jacobians: ``\\odot``, ``\\operatorname{diag}``, ``^\\top``,
time subscripts ``t`` and ``t-1``, and symbol names under the user's control.

Settings (validated; unknown keys or wrong types raise): ``names`` maps a symbol key of the
cell (``"W_hh"``, ``"h"``, ``"phi"``, …) to its LaTeX base (``"W"``); ``time`` is the time
index (default ``"t"``); ``hadamard``, ``diag`` and ``transpose`` are the LaTeX for the
elementwise product, the diagonal matrix and the transpose; ``width`` is the line width in pt
that long equations are broken to fit (default 345, the 10 pt article's ``\\textwidth``).

    >>> from rnnanalysis.symbolic import derive
    >>> print(derive("elman").latex_of("jacobian", names={"W_hh": "W"}))
    \\operatorname{diag}\\left(\\phi'\\left(a_{t}\\right)\\right) W

References:
    SymPy's ``printing/latex.py`` (``_print_<Class>`` dispatch, objects with ``_latex``).
"""

from __future__ import annotations

import math
import re

from sympy import HadamardProduct, MatAdd, MatMul
from sympy.printing.latex import LatexPrinter

from .expr import coeff_and_factors
from .layout import ARTICLE_WIDTH

__all__ = ["RNNLatexPrinter", "validate_settings", "DEFAULT_SETTINGS", "default_latex", "timed", "tex_text"]

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
          "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
          "omega"}


def default_latex(key: str) -> str:
    """``W_hh`` -> ``W_{hh}``; ``phi`` -> ``\\phi``; ``tanh`` -> ``\\tanh``; others upright."""
    base, _, sub = key.partition("_")
    if base in _GREEK or base.lower() in _GREEK:
        base = "\\" + base
    elif base in {"tanh", "exp", "log"}:
        base = "\\" + base
    elif len(base) > 1:
        base = f"\\operatorname{{{base}}}"
    return f"{base}_{{{sub}}}" if sub else base


_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "%": r"\%", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex_text(s: str) -> str:
    """Plain text (a cell or activation name) safe in LaTeX: ``leaky_relu`` -> ``leaky\\_relu``."""
    return "".join(_SPECIAL.get(c, c) for c in str(s))


_SUBSCRIPT = re.compile(r"^(.*)_\{(.*)\}$")


def timed(base: str, sub: str) -> str:
    """Attach the time index: ``h`` -> ``h_{t}``, ``a_{i}`` -> ``a_{i,t}``."""
    hit = _SUBSCRIPT.match(base)
    if hit and "_" not in hit.group(1):
        return f"{hit.group(1)}_{{{hit.group(2)},{sub}}}"
    return f"{base}_{{{sub}}}"


DEFAULT_SETTINGS = {"names": None, "time": "t", "hadamard": r"\odot", "diag": r"\operatorname{diag}",
                    "transpose": r"^\top", "width": ARTICLE_WIDTH}


def validate_settings(spec, settings: dict) -> dict:
    """The full settings dict; ``ValueError``/``TypeError`` naming any bad key or value."""
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValueError(f"unknown printer setting(s) {unknown}; expected some of {sorted(DEFAULT_SETTINGS)}")
    out = {**DEFAULT_SETTINGS, **settings}
    for key in ("time", "hadamard", "diag", "transpose"):
        if not isinstance(out[key], str) or not out[key].strip():
            raise TypeError(f"printer setting {key!r}: expected a non-empty string, got {out[key]!r}")
    width = out["width"]
    if isinstance(width, bool) or not isinstance(width, (int, float)):
        raise TypeError(f"printer setting 'width': expected a line width in pt, got {width!r}")
    if not 50 <= width < math.inf:
        raise ValueError(f"printer setting 'width': expected a line width in pt >= 50 (article: "
                         f"{ARTICLE_WIDTH:g}), got {width!r}")
    names = out["names"] or {}
    if not isinstance(names, dict):
        raise TypeError(f"printer setting 'names': expected a dict key -> LaTeX, got {type(names).__name__}")
    bad = sorted(k for k in names if k not in spec.latex_names)
    if bad:
        raise ValueError(f"printer setting 'names': keys {bad} are not symbols of cell {spec.name!r}; "
                         f"expected some of {sorted(spec.latex_names)}")
    for k, v in names.items():
        if not isinstance(v, str) or not v.strip():
            raise TypeError(f"printer setting 'names'[{k!r}]: expected a non-empty LaTeX string, got {v!r}")
    out["names"] = {**spec.latex_names, **names}
    return out


class RNNLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the matrix-expression conventions of the derivations."""

    printmethod = "_latex"

    def __init__(self, spec, settings: dict | None = None):
        super().__init__({"mat_delim": "("})
        self.spec = spec
        self.rnn = validate_settings(spec, settings or {})

    # -- symbols ------------------------------------------------------------------------
    def name_of(self, key: str) -> str:
        return self.rnn["names"][key]

    def _print_MatrixSymbol(self, expr):
        role = self.spec.roles.get(expr.name)
        if role is None:
            return super()._print_MatrixSymbol(expr)
        base = self.name_of(self.spec.keys[expr.name])
        t = self.rnn["time"]
        if role == "param":
            return base
        return timed(base, f"{t}-1" if role == "state_prev" else t)

    # -- operations ---------------------------------------------------------------------
    def _print_MatAdd(self, expr):
        parts = [self._print(t) for t in expr.args]
        pos = [p for p in parts if not p.startswith("-")]
        neg = [p for p in parts if p.startswith("-")]
        out = " + ".join(pos) if pos else ""
        for p in neg:
            out = f"{out} - {p[1:].lstrip()}" if out else p
        return out

    def _factor(self, f):
        s = self._print(f)
        return rf"\left({s}\right)" if isinstance(f, MatAdd) else s

    def product_parts(self, expr):
        """``(coefficient, factors, separator, LaTeX of each factor)`` of a matrix product or a
        Hadamard product (sums in parentheses; scaled products too inside a Hadamard product)."""
        if isinstance(expr, HadamardProduct):
            texts = [self._factor(f) if not isinstance(f, MatMul) or coeff_and_factors(f)[0] == 1
                     else rf"\left({self._print(f)}\right)" for f in expr.args]
            return 1, list(expr.args), f" {self.rnn['hadamard']} ", texts
        coeff, factors = coeff_and_factors(expr)
        return coeff, factors, " ", [self._factor(f) for f in factors]

    def _print_MatMul(self, expr):
        coeff, _, join, texts = self.product_parts(expr)
        body = join.join(texts)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}"
        return f"{self._print(coeff)} {body}"

    def _print_HadamardProduct(self, expr):
        _, _, join, texts = self.product_parts(expr)
        return join.join(texts)

    def _print_DiagMatrix(self, expr):
        return rf"{self.rnn['diag']}\left({self._print(expr.args[0])}\right)"

    def _print_Transpose(self, expr):
        arg = expr.arg
        s = self._print(arg)
        if not hasattr(arg, "name") or self.spec.roles.get(getattr(arg, "name", None)) != "param":
            s = rf"\left({s}\right)"
        return f"{s}{self.rnn['transpose']}"

    def _print_Identity(self, expr):
        return "I"

    def _print_ZeroMatrix(self, expr):
        return "0"

    def _print_OneMatrix(self, expr):
        return "1"

    def _print_BlockMatrix(self, expr):
        rows = [" & ".join(self._print(b) for b in row) for row in expr.blocks.tolist()]
        return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"
