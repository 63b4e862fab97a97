"""Every .tex the command line and the tour write compiles with pdflatex from
texlive-latex-base, with no box overfull by more than 1 pt (derivations in
tests/symbolic/test_symbolic_tex.py, the report in tests/test_report.py)."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.cli import main
from rnnanalysis.tour import run


@pytest.mark.parametrize("cell", ["ln_lstm", "gru"])
def test_derive_tex_standalone_and_fragment_compile(cell, tmp_path, pdflatex, capsys):
    pytest.importorskip("sympy")
    assert main(["derive", cell, "--activation", "relu", "--tex", str(tmp_path / "alone.tex")]) in (0, None)
    assert main(["derive", cell, "--tex", str(tmp_path / "part.tex"), "--fragment"]) in (0, None)
    capsys.readouterr()
    assert not (tmp_path / "part.tex").read_text().lstrip("%").count("documentclass")
    wrapper = tmp_path / "paper.tex"
    wrapper.write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                       "\\section{Gradients}\nAs derived:\n\\input{part.tex}\n\\end{document}\n")
    assert pdflatex(tmp_path / "alone.tex") <= 1.0
    assert pdflatex(wrapper) <= 1.0


def test_prediction_table_compiles_on_its_own(tmp_path, pdflatex, rng):
    table = ra.check_predictions(ra.Elman(6, 1, seed=0), rng.standard_normal((50, 1, 1)))
    assert "booktabs" not in table.to_latex(document=True) and "rule" not in table.to_latex()
    path = tmp_path / "check.tex"
    path.write_text(table.to_latex(document=True) + "\n")
    assert pdflatex(path) <= 1.0


def test_tour_documents_compile(tmp_path, pdflatex):
    res = run(tmp_path, quick=True)
    assert np.isfinite(res["check"].measured_log10_rate)
    for name in ("derivation.tex", "check.tex"):
        assert pdflatex(tmp_path / name) <= 1.0, name
