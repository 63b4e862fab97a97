"""Breaking long equations: the width estimate against TeX's own measure, rows that fit and
lose nothing, and each block printed once."""

import re

import pytest
import sympy
from sympy import HadamardProduct, MatAdd, MatMul

import rnnanalysis as ra
from rnnanalysis.symbolic.layout import INDENT, break_rows, tex_width

CELLS = ("elman", "lstm", "gru", "ln_elman", "ln_lstm")


def _pieces():
    """Right-hand sides and their terms, short and long, from every built-in cell."""
    out = []
    for kind in CELLS:
        d = ra.derive(kind)
        p = d.printer()
        for step in d.steps:
            if step.rhs is not None and step.lhs is not None:
                out += [p._print(step.lhs), p._print(step.rhs)]
    return list(dict.fromkeys(out))


def test_width_estimate_agrees_with_tex(tmp_path, pdflatex):
    """TeX measures each formula in a box (``\\wd``); the estimate is within 10 % (long ones 4 %)."""
    pieces = _pieces()
    body = "\n".join(rf"\sbox0{{$\displaystyle {s}$}}\typeout{{WIDTH:\the\wd0}}" for s in pieces)
    doc = tmp_path / "widths.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                   f"{body}\nx\n\\end{{document}}\n")
    pdflatex(doc)
    measured = [float(w) for w in re.findall(r"WIDTH:([\d.]+)pt", (tmp_path / "widths.log").read_text())]
    assert len(measured) == len(pieces) > 50
    for s, w in zip(pieces, measured, strict=True):
        assert abs(tex_width(s) / w - 1) < (0.04 if w > 150 else 0.10), (s, tex_width(s), w)


def _flat(tex):
    tex = re.sub(r"\\bigg?([lr])", lambda m: r"\left" if m[1] == "l" else r"\right", tex)
    return tex.replace(" ", "")


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("width", [120.0, 229.5, 345.0])
def test_rows_fit_and_rejoin_to_the_unbroken_equation(kind, width):
    """Rows put together give the unbroken equation; a row wider than the line holds one
    factor that is wider on its own (after its sign, ``\\odot`` or parenthesis)."""
    d = ra.derive(kind)
    p = d.printer()
    for step in d.steps:
        if step.rhs is None or step.lhs is None:
            continue
        rows = break_rows(p, step.rhs, width)
        assert _flat("".join(tex for _, tex in rows)) == _flat(p._print(step.rhs))
        atoms = {_flat(p._print(e)) for e in sympy.preorder_traversal(step.rhs)
                 if isinstance(e, sympy.MatrixExpr) and not isinstance(e, (MatAdd, MatMul, HadamardProduct))}
        for depth, tex in rows:
            if tex_width(tex) + INDENT * depth > width:
                core = re.sub(r"^(\+ |- |\\odot |\\bigg?l\()+|\\bigg?r\)$", "", tex)
                assert _flat(core) in atoms, tex


def test_each_block_is_printed_once():
    tex = ra.derive("lstm").latex()
    assert tex.count(r"\frac{\partial c_{t}}{\partial c_{t-1}} &=") == 1
    assert tex.index("constant-error carousel") < tex.index(r"\frac{\partial c_{t}}{\partial c_{t-1}} &=")


def test_long_jacobians_are_broken_inside_parentheses():
    tex = ra.derive("lstm").latex()
    assert r"\operatorname{diag}\left(\phi'\left(c_{t}\right)\right) \bigl(" in tex and r"W_{hg}\bigr)" in tex
    rows = [row.split("&", 1)[-1] for row in tex.splitlines() if "&" in row and "intertext" not in row]
    assert len(rows) > 20 and max(tex_width(row.replace("&", "")) for row in rows) < 320


@pytest.mark.parametrize("width, error", [(10, ValueError), (float("inf"), ValueError), ("wide", TypeError),
                                          (True, TypeError)])
def test_width_setting_is_validated(width, error):
    with pytest.raises(error, match="printer setting 'width': expected a line width in pt"):
        ra.derive("elman").latex(width=width)
