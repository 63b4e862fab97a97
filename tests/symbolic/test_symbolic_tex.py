"""papers/derivations: current with the code; every derivation compiles with pdflatex with no
box overfull by more than 1 pt at article width (and at a narrow column width when asked)."""

import importlib.util
from pathlib import Path

import pytest

import rnnanalysis as ra

PAPERS = Path(__file__).resolve().parents[2] / "papers" / "derivations"


def _generator():
    spec = importlib.util.spec_from_file_location("derivations_generate", PAPERS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", _generator().CELLS)
def test_committed_derivation_is_current(kind, tmp_path):
    fresh = ra.derive(kind).to_tex(tmp_path / f"{kind}.tex").read_text()
    assert (PAPERS / f"{kind}.tex").read_text() == fresh, \
        "stale: run python3 papers/derivations/generate.py"


@pytest.mark.parametrize("kind", _generator().CELLS)
def test_derivation_compiles_with_no_overfull_box(kind, tmp_path, pdflatex):
    assert pdflatex(PAPERS / f"{kind}.tex", tmp_path) <= 1.0


def test_user_cell_with_custom_names_compiles(tmp_path, minimal_rnn, pdflatex):
    path = ra.derive(minimal_rnn).to_tex(tmp_path / "minimal.tex", names={"h": r"\mathbf{h}", "U_h": "U"})
    assert pdflatex(path) <= 1.0


def test_every_activation_and_odd_names_compile(tmp_path, pdflatex):
    """Names go into the text as text: leaky_relu's underscore, a user's cell and map names."""
    import numpy as np
    import sympy

    from rnnanalysis.activations import ACTIVATIONS, custom_activation
    from rnnanalysis.symbolic import CellSpec

    softsign = custom_activation(lambda a: a / (1 + np.abs(a)), lambda a: 1 / (1 + np.abs(a)) ** 2, 1.0,
                                 name="soft_sign 100%", sympy=lambda a: a / (1 + sympy.Abs(a)),
                                 sympy_df=lambda a: 1 / (1 + sympy.Abs(a)) ** 2)
    spec = CellSpec("my_cell #2")
    h, x = spec.state("h"), spec.input("x")
    W_hh, W_x = spec.weight("W_hh"), spec.weight("W_x", cols="m")
    spec.update(h, spec.activation("phi", softsign)(W_hh * h + W_x * x))
    derivations = [ra.derive("elman", act) for act in ACTIVATIONS] + [ra.derive(spec)]
    for n, d in enumerate(derivations):
        d.to_tex(tmp_path / f"part{n}.tex", fragment=True)
    assert "leaky\\_relu" in (tmp_path / "part4.tex").read_text() and "my\\_cell \\#2" in d.latex()
    wrapper = tmp_path / "all.tex"
    wrapper.write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                       + "".join(f"\\input{{part{n}.tex}}\n" for n in range(len(derivations)))
                       + "\\end{document}\n")
    assert pdflatex(wrapper) <= 1.0
    assert pdflatex(d.to_tex(tmp_path / "alone.tex")) <= 1.0


def test_fragments_fit_a_two_column_paper(tmp_path, pdflatex):
    """``width=`` the column width of a two-column article: Elman, LSTM and GRU fit (the
    layer-norm Jacobian alone is wider than such a column, so those cells are not asked)."""
    for kind in ("elman", "lstm", "gru"):
        ra.derive(kind).to_tex(tmp_path / f"{kind}.tex", fragment=True, width=229.5)
    wrapper = tmp_path / "paper.tex"
    wrapper.write_text("\\documentclass[twocolumn]{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                       "\\input{elman.tex}\n\\input{lstm.tex}\n\\input{gru.tex}\n\\end{document}\n")
    assert pdflatex(wrapper) <= 1.0


def test_to_tex_rejects_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"path: expected a \.tex file name"):
        ra.derive("elman").to_tex(tmp_path / "elman.pdf")
