"""Long equations broken into ``align*`` rows that fit a line width.

:func:`tex_width` estimates the printed width (pt) of a display formula from Computer
Modern's 10 pt metrics (cmmi10 italic letters, cmr10 upright, TeX's math spacing; scripts in
the 7 pt fonts, about 78 % as wide). :func:`break_rows` lays an expression out in rows no
wider than the space left of the line: a sum one term per row (``+``/``-`` leading), a
product filled factor by factor, a sum in parentheses opened with ``\\bigl(`` and its terms
indented below. A factor wider than the line on its own stays whole.

References:
    Knuth, *The TeXbook*, appendix G (math spacing) and the cmr10/cmmi10 font metrics;
    amsmath's ``align*`` (the column of the left-hand sides is as wide as the widest one).
"""

from __future__ import annotations

import re

from sympy import HadamardProduct, MatAdd, MatMul

from .expr import coeff_and_factors, mul

__all__ = ["ARTICLE_WIDTH", "tex_width", "break_rows", "indent"]

ARTICLE_WIDTH = 345.0          # \textwidth of the 10 pt article class, in pt
INDENT = 10.0                  # one \quad at 10 pt

_ITALIC = dict(zip("abcdefghijklmnopqrstuvwxyz",
                   (5.3, 4.3, 4.3, 5.2, 4.7, 4.9, 4.8, 5.8, 3.5, 4.1, 5.2, 3.0, 8.8, 6.0, 4.9, 5.0,
                    4.5, 4.5, 4.7, 3.6, 5.7, 4.9, 7.2, 5.7, 4.9, 4.7), strict=True))
_ITALIC.update(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   (7.5, 7.6, 7.2, 8.3, 7.4, 6.4, 7.9, 8.3, 4.4, 5.6, 8.5, 6.8, 9.7, 8.0, 7.6, 6.4,
                    7.9, 7.6, 6.1, 5.8, 6.8, 5.8, 9.4, 8.3, 5.8, 6.8), strict=True))
_UPRIGHT = dict(zip("abcdefghijklmnopqrstuvwxyz",
                    (5.0, 5.6, 4.4, 5.6, 4.4, 3.1, 5.0, 5.6, 2.8, 3.1, 5.3, 2.8, 8.3, 5.6, 5.0, 5.6,
                     5.3, 3.9, 3.9, 3.9, 5.6, 5.3, 7.2, 5.3, 5.3, 4.4), strict=True))
_SYMBOL = {"(": 3.9, ")": 3.9, "[": 2.8, "]": 2.8, "|": 2.8, "/": 5.0, ",": 2.8, ".": 2.8,
           "'": 2.8, "!": 2.8, "*": 5.0}
_BINARY = {"+", "-", r"\odot", r"\cdot", r"\times", r"\pm"}            # 7.8 pt + 2 x 2.2 pt
_RELATION = {"=", "<", ">", r"\leq", r"\geq", r"\le", r"\ge", r"\approx", r"\sim"}  # + 2 x 2.8 pt
_COMMAND = {r"\alpha": 6.4, r"\beta": 5.7, r"\gamma": 5.2, r"\delta": 4.5, r"\epsilon": 4.1,
            r"\varepsilon": 4.7, r"\eta": 4.9, r"\theta": 4.7, r"\kappa": 5.8, r"\lambda": 5.8,
            r"\mu": 6.0, r"\nu": 5.2, r"\xi": 4.6, r"\pi": 5.7, r"\rho": 5.2, r"\sigma": 5.7,
            r"\tau": 4.4, r"\phi": 6.0, r"\varphi": 6.5, r"\chi": 6.3, r"\psi": 6.5, r"\omega": 6.2,
            r"\partial": 5.7, r"\top": 7.8, r"\infty": 10.0, r"\cdots": 13.4, r"\ldots": 13.4,
            r"\dots": 13.4, r"\lVert": 5.0, r"\rVert": 5.0, r"\Vert": 5.0, r"\|": 5.0,
            r"\{": 5.0, r"\}": 5.0, r"\,": 1.7, r"\;": 2.8, r"\:": 2.2, r"\ ": 3.3, r"\!": -1.7,
            r"\quad": 10.0, r"\qquad": 20.0, r"\max": 20.0, r"\min": 17.0, r"\tanh": 21.0,
            r"\exp": 17.0, r"\log": 16.0, r"\ln": 11.0, r"\sum": 14.4, r"\prod": 12.8,
            r"\nabla": 8.3, r"\ell": 4.2, r"\hbar": 5.6}
_LIMITS = {r"\sum", r"\prod"}
_SIZED = {r"\left": 1.7, r"\right": 0.0, r"\bigl": 0.7, r"\bigr": 0.7, r"\Bigl": 1.3, r"\Bigr": 1.3,
          r"\biggl": 2.0, r"\biggr": 2.0, r"\Biggl": 2.6, r"\Biggr": 2.6}
_FONT = {r"\operatorname", r"\mathrm", r"\text", r"\textrm", r"\mathbf", r"\mathcal", r"\mathit",
         r"\boldsymbol", r"\mathsf", r"\mathtt", r"\texttt"}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.")


def tex_width(latex: str) -> float:
    """The estimated width in pt of ``latex`` typeset as display math at 10 pt.

    >>> round(tex_width(r"\\operatorname{diag}\\left(f_{t}\\right)"))     # pdflatex: 36.3 pt
    40
    """
    tokens = [t for t in _TOKEN.findall(latex) if not t.isspace()]
    width, _ = _sequence(tokens, 0, 1.0)
    return width


def _group(tokens, i, scale):
    """The width of the argument starting at ``tokens[i]`` (a ``{...}`` group or one token)."""
    if i >= len(tokens):
        return 0.0, i
    if tokens[i] == "{":
        return _sequence(tokens, i + 1, scale, until="}")
    return _sequence(tokens[i:i + 1], 0, scale)[0], i + 1


def _text(tokens, i, scale, upright):
    """Letters of a font command's argument, upright (``\\operatorname``) or italic."""
    start = i
    _, i = _group(tokens, i, scale)
    letters = "".join(t for t in tokens[start:i] if len(t) == 1 and t not in "{}")
    table = _UPRIGHT if upright else _ITALIC
    return scale * sum(table.get(c.lower() if upright else c, 5.5) for c in letters), i


def _sequence(tokens, i, scale, until=None):
    width, script = 0.0, None
    limits = 0.0                              # the width of a \sum or \prod: its scripts sit above/below
    while i < len(tokens):
        tok = tokens[i]
        if tok == until:
            return width, i + 1
        i += 1
        if tok in ("_", "^"):
            w, i = _group(tokens, i, max(scale * 0.78, 0.6))
            if script is not None and script[0] != tok:   # x_{a}^{b}: the wider script counts
                width += max(0.0, w - script[1])
                script = None
            elif limits:
                width += max(0.0, w - limits)
                script = (tok, w)
            else:
                width += w + 0.5 * scale
                script = (tok, w)
            continue
        script, limits = None, 0.0
        if tok == "{":
            w, i = _sequence(tokens, i, scale, until="}")
        elif tok == r"\frac" or tok == r"\tfrac":
            small = scale * (0.7 if tok == r"\tfrac" or scale < 1 else 1.0)
            num, i = _group(tokens, i, small)
            den, i = _group(tokens, i, small)
            w = max(num, den) + 2.4 * scale
        elif tok in _SIZED:
            delim = tokens[i] if i < len(tokens) else "."
            i += 1
            w = 1.2 * scale if delim == "." else (_COMMAND.get(delim) or _SYMBOL.get(delim, 3.9)) * scale
            w += _SIZED[tok] * scale
        elif tok in _FONT:
            w, i = _text(tokens, i, scale, upright=tok != r"\mathcal" and tok != r"\mathit")
            if tok == r"\operatorname":
                w += 3.4 * scale                          # thin spaces around the operator
        elif tok in _BINARY:
            w = 7.8 * scale + (4.4 if scale == 1.0 else 0.0)
        elif tok in _RELATION:
            w = 7.8 * scale + (5.6 if scale == 1.0 else 0.0)
        elif tok.startswith("\\"):
            w = _COMMAND.get(tok, 7.0) * scale
            limits = w if tok in _LIMITS and scale == 1.0 else 0.0
        elif tok.isalpha():
            w = _ITALIC.get(tok, 5.5) * scale
        elif tok.isdigit():
            w = 5.0 * scale
        else:
            w = _SYMBOL.get(tok, 5.0) * scale
        width += w
    return width, i


def indent(depth: int) -> str:
    """``depth`` quads of indentation as LaTeX (``\\quad``, ``\\qquad``, …)."""
    return r"\qquad" * (depth // 2) + r"\quad" * (depth % 2)


def break_rows(printer, expr, avail: float) -> list[tuple[int, str]]:
    """``expr`` as rows ``(depth, latex)``: the first continues a line, the others start at
    ``depth`` quads; every row fits ``avail`` pt minus its indentation when the factors do."""
    return _rows(printer, expr, 0, 0.0, avail)


def _fits(tex, depth, used, avail):
    return used + tex_width(tex) <= avail - INDENT * depth


def _rows(printer, expr, depth, used, avail):
    """Rows of ``expr``; the first starts after ``used`` pt of a row at ``depth``."""
    tex = printer._print(expr)
    if _fits(tex, depth, used, avail):
        return [(depth, tex)]
    if isinstance(expr, MatAdd):
        return _sum_rows(printer, expr, depth, used, avail)
    if isinstance(expr, (MatMul, HadamardProduct)):
        return _product_rows(printer, expr, depth, used, avail)
    return [(depth, tex)]


def _sum_rows(printer, expr, depth, used, avail):
    rows = []
    for n, term in enumerate(expr.args):
        coeff, factors = coeff_and_factors(term)
        negative = coeff.could_extract_minus_sign()
        body = mul(-coeff, *factors) if negative else term
        sign = "- " if negative else ("+ " if n else "")
        d, u = (depth, used) if n == 0 else (depth + 1, 0.0)
        sub = _rows(printer, body, d, u + tex_width(sign + "{}"), avail)
        rows += [(sub[0][0], sign + sub[0][1])] + sub[1:]
    return rows


def _product_rows(printer, expr, depth, used, avail):
    coeff, factors, join, texts = printer.product_parts(expr)
    lead = join.strip()                               # a continued row starts with it (\odot)
    rows, d, u = [], depth, used
    line = "" if coeff == 1 else ("-" if coeff == -1 else printer._print(coeff))
    for f, tex in zip(factors, texts, strict=True):
        for retry in (False, True):                   # this row, then (if it is not empty) the next
            empty = line in ("", lead)
            sep = "" if not line else (" " if line == lead else join)
            if _fits(line + sep + tex, d, u, avail):
                line += sep + tex
                break
            if isinstance(f, MatAdd):                 # open the parenthesis on this row, break inside
                head = line + sep + _delimiter(tex, "l")
                sub = _sum_rows(printer, f, d, u + tex_width(head), avail)
                if retry or empty or _fits(head + sub[0][1], d, u, avail):
                    rows += [(d, head + sub[0][1])] + sub[1:]
                    (d, line), u = rows.pop(), (u if len(sub) == 1 else 0.0)
                    line += _delimiter(tex, "r")
                    break
            if retry or empty:                        # wider than a row on its own: keep it whole
                line += sep + tex
                break
            rows.append((d, line))                    # continue the product on the next row
            d, u, line = depth + 1, 0.0, lead
    return rows + [(d, line)]


def _delimiter(tex, side):
    """``\\bigl(`` / ``\\bigr)`` around a sum broken over rows (``\\biggl`` if it holds a fraction)."""
    size = r"\bigg" if r"\frac" in tex else r"\big"
    return size + ("l(" if side == "l" else "r)")
