"""``derive(kind_or_cell)``: the per-step Jacobian of a cell, its BPTT objects, the steps of
the derivation as sentences and equations, LaTeX (``align*``, a standalone document) and a
NumPy function of the Jacobian.

    >>> import rnnanalysis as ra
    >>> d = ra.derive("lstm")
    >>> d.block("c", "c")
    DiagMatrix(f)

References:
    Pascanu, Mikolov & Bengio (2013), eqs. 3-5 and sec. 3.1; Hochreiter & Schmidhuber (1997)
    (the constant-error carousel); PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (equations, names).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sympy import Basic, DiagMatrix, MatrixSymbol

from .._results import Result
from .bptt import K_SYM, TAU, NormBound, OrderedProduct, Partial, WeightGradient
from .calculus import jacobian_matrix, state_jacobians
from .equations import CellSpec, builtin_spec
from .expr import Apply, Normalize, coeff_and_factors
from .layout import break_rows, indent, tex_width
from .printing import RNNLatexPrinter, tex_text

__all__ = ["Derivation", "Step", "derive"]

_MARGIN = 0.95              # of the line width: the width estimate is good to a few per cent
_PLACEHOLDER = re.compile(r"⟨(\w+)⟩")


@dataclass(frozen=True)
class Step:
    """One step of a derivation: a sentence (LaTeX text) and an equation ``lhs = rhs``.

    ``text`` uses the default symbol names; printers render ``template`` (``⟨h⟩`` for the
    LaTeX name of symbol ``h``, ``⟨time⟩`` for the time index) with their own settings.
    """

    text: str
    lhs: Basic | None = None
    rhs: Basic | None = None
    template: str | None = field(default=None, repr=False)

    def render(self, printer) -> str:
        """The sentence with the printer's symbol names and time index."""
        if self.template is None:
            return self.text
        return _PLACEHOLDER.sub(lambda m: printer.rnn["time"] if m.group(1) == "time"
                                else printer.name_of(m.group(1)), self.template)

    def latex_lines(self, printer, width: float = math.inf) -> list[str]:
        """The align* rows of the equation (``lhs &= rhs``); a right-hand side wider than
        ``width`` pt is broken over rows (:func:`~rnnanalysis.symbolic.layout.break_rows`)."""
        if self.rhs is None:
            return []
        if self.lhs is None:                              # a chain that carries its own relations
            body = printer._print(self.rhs)
            return [body.replace(r" \leq ", r" &\leq ", 1)]
        first, *rest = break_rows(printer, self.rhs, width)
        return [f"{printer._print(self.lhs)} &= {first[1]}"] + [f"&{indent(d)} {tex}" for d, tex in rest]


def _tex_number(x: float) -> str:
    """``1e-05`` -> ``10^{-5}``, ``2.5e-06`` -> ``2.5 \\cdot 10^{-6}``, ``0.5`` -> ``0.5``."""
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:g}"
    mantissa, exponent = f"{x:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\cdot {power}"


def _act_words(spec):
    return ", ".join(f"$⟨{k}⟩$ = {tex_text(a.name)}" for k, a in spec.activations.items())


def _elman_like(spec, blocks):
    """(activation key, weight) when the Jacobian is diag(f'(a)) W, else None."""
    if len(spec.states) != 1:
        return None
    J = blocks[(spec.states[0], spec.states[0])]
    coeff, fs = coeff_and_factors(J) if J is not None else (None, [])
    if coeff == 1 and len(fs) == 2 and isinstance(fs[0], DiagMatrix) and isinstance(fs[0].args[0], Apply) \
            and fs[0].args[0].order == 1 and isinstance(fs[1], MatrixSymbol) \
            and spec.roles.get(fs[1].name) == "param":
        return fs[0].args[0].fname, fs[1]
    return None


@dataclass(frozen=True)
class Derivation(Result):
    """The derivation of one cell's state Jacobian ``J_t = ∂s_t/∂s_{t-1}`` (numerator layout).

    ``jacobian``: SymPy matrix expression (a BlockMatrix over (h, c) for LSTM); ``blocks``:
    ``{(out, in): expr or None}``; ``product``, ``weight_gradient``, ``bound``: BPTT objects
    (``bound`` is None unless ``J_t = diag(φ'(a_t)) W``); ``steps``: sentences and equations.
    """

    spec: CellSpec
    jacobian: Basic
    blocks: dict
    derivatives: dict = field(repr=False)
    product: OrderedProduct
    weight_gradient: WeightGradient
    bound: NormBound | None
    steps: tuple

    def block(self, out: str, inp: str):
        """The block ``∂out_t/∂inp_{t-1}`` (a SymPy expression; ``None`` if identically zero)."""
        if (out, inp) not in self.blocks:
            raise ValueError(f"block: states of {self.spec.name} are {self.spec.states}, "
                             f"got ({out!r}, {inp!r})")
        return self.blocks[(out, inp)]

    def printer(self, **settings) -> RNNLatexPrinter:
        """A LaTeX printer for this cell with validated ``settings``."""
        return RNNLatexPrinter(self.spec, settings)

    def latex_of(self, what, **settings) -> str:
        """LaTeX of ``"jacobian"``, ``"product"``, ``"bound"``, ``"weight_gradient"`` or a block
        ``(out, in)``, with printer settings (see :mod:`rnnanalysis.symbolic.printing`)."""
        p = self.printer(**settings)
        objects = {"jacobian": self.jacobian, "product": self.product, "bound": self.bound,
                   "weight_gradient": self.weight_gradient}
        if isinstance(what, tuple):
            return p._print(self.block(*what))
        if what not in objects or objects[what] is None:
            known = sorted(k for k, v in objects.items() if v is not None)
            raise ValueError(f"what: expected one of {known} "
                             f"or a block (out, in), got {what!r}")
        return p._print(objects[what])

    def _rows(self, p):
        """``(step, align* rows)`` with right-hand sides broken to fit ``p``'s line width."""
        lhs = [tex_width(p._print(s.lhs)) for s in self.steps if s.lhs is not None and s.rhs is not None]
        width = _MARGIN * p.rnn["width"] - max(lhs, default=0.0) - tex_width("=")
        return [(step, step.latex_lines(p, width)) for step in self.steps]

    def latex(self, **settings) -> str:
        """The derivation as an ``align*`` environment (sentences as ``\\intertext``), long
        right-hand sides broken over rows to fit the ``width`` setting (pt, default article's)."""
        p = self.printer(**settings)
        rows = []
        for step, lines in self._rows(p):
            if step.text:
                rows.append(rf"\intertext{{{step.render(p)}}}")
            rows += [r + r" \\" for r in lines]
        if rows[-1].endswith(r" \\"):
            rows[-1] = rows[-1][:-3]
        return "\\begin{align*}\n" + "\n".join(rows) + "\n\\end{align*}"

    def to_tex(self, path, fragment: bool = False, **settings) -> Path:
        """Write a standalone document (article + amsmath only) that compiles with pdflatex, or
        with ``fragment=True`` the derivation alone, for ``\\input`` in a document that loads
        amsmath (page breaks allowed inside it)."""
        path = Path(path)
        if path.suffix != ".tex":
            raise ValueError(f"path: expected a .tex file name, got {str(path)!r}")
        intro = ("Derived by \\texttt{rnnanalysis.derive}; matrices in "
                 "numerator layout, $[\\partial u/\\partial v]_{ij} = \\partial u_i/\\partial v_j$.\n")
        body = f"{{\\allowdisplaybreaks\n{self.latex(**settings)}}}\n"
        if fragment:
            note = "% for \\input in a document that loads amsmath (rnnanalysis derive --fragment)\n"
            text = f"{note}{intro}{body}"
        else:
            text = ("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                    f"\\section*{{The {tex_text(self.spec.name)} cell: Jacobian and BPTT}}\n{intro}{body}"
                    "\\end{document}\n")
        path.write_text(text)
        return path

    def _repr_latex_(self):
        p = self.printer()
        rows = []
        for step, lines in self._rows(p):
            if step.text:
                rows.append("&" + "".join(rf"\text{{{part}}}" if i % 2 == 0 else part
                                          for i, part in enumerate(step.render(p).split("$"))))
            rows += lines
        return "$\\displaystyle\\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$"

    def lambdify(self):
        """A NumPy function ``f(params, state, x) -> J`` (numerator layout, float64).

        params: PyTorch names for built-in cells (``cell.params`` works); state: (B, S) or (S,)
        with LSTM's (h, c) stacked; x: (B, m) or (m,) -> J: (B, S, S) or (S, S).
        """
        from .numeric import make_jacobian_function

        return make_jacobian_function(self.spec, self.jacobian)

    def verify(self, sizes=(2, 3), points: int = 3, seed: int = 0) -> float:
        """Compare with ``Matrix.jacobian`` of the explicit entrywise equations at n in ``sizes``.

        Returns the worst relative difference over ``points`` random points per size (40-digit
        arithmetic); raises ``AssertionError`` above 1e-25.
        """
        from .verify import verify_against_entrywise

        return verify_against_entrywise(self.spec, self.jacobian, sizes, points, seed)

    def save(self, path) -> Path:
        """Write ``.json`` (:meth:`to_dict`: LaTeX of the Jacobian and steps) or ``.tex`` (:meth:`to_tex`)."""
        import json

        path = Path(path)
        if path.suffix == ".tex":
            return self.to_tex(path)
        if path.suffix != ".json":
            raise ValueError(f"path: expected a .json or .tex file name, got {str(path)!r}")
        path.write_text(json.dumps({"type": "Derivation", **self.to_dict()}, indent=1))
        return path

    def to_dict(self) -> dict:
        return {"cell": self.spec.name, "states": list(self.spec.states),
                "jacobian_latex": self.latex_of("jacobian"),
                "steps": [{"text": s.text, "latex": lines} for s, lines in self._rows(self.printer())]}


def _say(spec, template, lhs=None, rhs=None) -> Step:
    """A step whose sentence names symbols as ``⟨key⟩`` and the time index as ``⟨time⟩``."""
    names = {**spec.latex_names, "time": "t"}
    text = _PLACEHOLDER.sub(lambda m: names[m.group(1)], template)
    return Step(text, lhs, rhs, template=template)


def _steps(spec, blocks, D, jacobian, product, wgrad, bound):
    states = spec.states
    s = states[0] if len(states) == 1 else "s"
    state_words = (f"$s_{{⟨time⟩}} = ({', '.join(f'⟨{k}⟩_{{⟨time⟩}}' for k in states)})$" if len(states) > 1
                   else f"$⟨{states[0]}⟩_{{⟨time⟩}}$")
    steps = [_say(spec, f"The {tex_text(spec.name)} cell, state {state_words}, "
                  f"elementwise maps {_act_words(spec)}:")]
    steps += [Step("", sym, expr) for sym, expr in spec.definitions]
    eps = sorted({e.eps for _, expr in spec.definitions for e in expr.atoms(Normalize)})
    if eps:
        steps.append(Step("with layer normalisation (Ba et al. 2016) "
                          "$\\operatorname{norm}(a) = (a - \\bar a 1) / \\operatorname{sd}(a)$, "
                          "$\\bar a = \\tfrac{1}{n} \\sum_i a_i$, $\\operatorname{sd}(a) = "
                          "\\sqrt{\\tfrac{1}{n} \\sum_i (a_i - \\bar a)^2 + \\epsilon}$, "
                          f"$\\epsilon = {', '.join(_tex_number(e) for e in eps)}$."))
    steps.append(Step("Differentiating forward through the equations (a linear map gives its matrix, "
                      "an elementwise map $f$ gives $\\operatorname{diag}(f'(\\cdot))$, a Hadamard "
                      "product the product rule):"))
    for sym, _ in spec.definitions:
        if spec.roles[sym.name] == "state_new":
            continue
        for k in states:
            if D[sym.name][k] is not None:
                steps.append(Step("", Partial(spec.keys[sym.name], TAU, k, TAU - 1), D[sym.name][k]))
    sn = f"⟨{s}⟩" if s in spec.latex_names else s
    steps.append(_say(spec, f"The state Jacobian $J_{{⟨time⟩}} = \\partial {sn}_{{⟨time⟩}} / "
                      f"\\partial {sn}_{{⟨time⟩-1}}$, numerator layout:"))
    if len(states) == 1:
        steps.append(Step("", MatrixSymbol("J_t", spec.n, spec.n), jacobian))
    for (o, i), b in blocks.items() if len(states) > 1 else ():
        if o == i and isinstance(b, DiagMatrix):
            steps.append(_say(spec, f"The $(⟨{o}⟩, ⟨{i}⟩)$ block is diagonal: when the gate is near 1 "
                              "the error passes unchanged (the constant-error carousel):",
                              Partial(o, TAU, i, TAU - 1), b))
        elif b is not None:
            steps.append(Step("", Partial(o, TAU, i, TAU - 1), b))
    steps.append(Step("Over several steps the chain rule multiplies the Jacobians from late to early "
                      "(they do not commute):", Partial(s, TAU, s, K_SYM), product))
    steps.append(_say(spec, "For a loss $\\mathcal{E} = \\sum_{⟨time⟩} \\mathcal{E}_{⟨time⟩}$ "
                      "and a parameter $\\theta$ "
                      f"(Pascanu et al. 2013, eqs. 3--5; $\\partial^{{+}}$ holds ${sn}_{{k-1}}$ fixed):",
                      Partial("E", 0, r"\theta", 0), wgrad))
    if bound is not None:
        fname = _elman_like(spec, blocks)[0]
        act = spec.activations[fname]
        steps.append(_say(spec, f"With $\\gamma = \\sup|⟨{fname}⟩'| = {act.gamma:g}$ "
                          f"({tex_text(act.name)}) bounding the diagonal factor:", None, bound))
    return tuple(steps)


def derive_spec(spec: CellSpec) -> Derivation:
    """The :class:`Derivation` of a cell given by its equations."""
    spec.check_complete()
    for key, act in spec.activations.items():
        if act.sympy is None or act.sympy_df is None:
            raise ValueError(f"activation {key!r} ({act.name!r}) has no known derivative in SymPy: "
                             "create it with custom_activation(..., sympy=..., sympy_df=...) "
                             "to derive this cell")
    blocks, D = state_jacobians(spec)
    jacobian = jacobian_matrix(spec, blocks)
    S = spec.n * len(spec.states)
    product = OrderedProduct(TAU, K_SYM, S)
    state = spec.states[0] if len(spec.states) == 1 else "s"
    wgrad = WeightGradient(state)
    like = _elman_like(spec, blocks)
    bound = NormBound(state, like[1], spec.activations[like[0]].gamma) if like else None
    steps = _steps(spec, blocks, D, jacobian, product, wgrad, bound)
    return Derivation(spec, jacobian, blocks, D, product, wgrad, bound, steps)


def derive(kind_or_cell, activation=None) -> Derivation:
    """Derive the per-step state Jacobian of a cell, with its BPTT objects and LaTeX.

    ``kind_or_cell``: "elman"/"rnn", "lstm", "gru", "ln_elman", "ln_lstm" (``activation``
    defaults to "tanh"), an rnnanalysis cell instance (its public ``kind`` and
    ``activation``), or a :class:`CellSpec`.
    """
    if isinstance(kind_or_cell, CellSpec):
        if activation is not None:
            raise TypeError("activation: a CellSpec declares its own activations; do not pass activation=")
        return derive_spec(kind_or_cell)
    if isinstance(kind_or_cell, str):
        return derive_spec(builtin_spec(kind_or_cell, "tanh" if activation is None else activation))
    kind = getattr(kind_or_cell, "kind", None)
    if isinstance(kind, str) and hasattr(kind_or_cell, "activation"):       # a numeric cell
        if activation is not None:
            raise TypeError(f"activation: the cell {kind_or_cell!r} already has one; do not pass activation=")
        return derive_spec(builtin_spec(kind, kind_or_cell.activation))
    raise TypeError(f"kind_or_cell: expected a cell name ('elman', 'lstm', 'gru'), an rnnanalysis cell or a "
                    f"CellSpec, got {type(kind_or_cell).__name__}")
