"""papers/derivations: current with the code, and every document compiles with pdflatex."""

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

import rnnanalysis as ra

PAPERS = Path(__file__).resolve().parents[2] / "papers" / "derivations"


def _generator():
    spec = importlib.util.spec_from_file_location("derivations_generate", PAPERS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pdflatex(path: Path, outdir: Path):
    """Compile ``path``; fail with the LaTeX error lines on any error."""
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          f"-output-directory={outdir}", str(path)], capture_output=True, text=True,
                         timeout=120)
    log = (outdir / (path.stem + ".log")).read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert run.returncode == 0 and not errors, f"{path.name}: LaTeX errors {errors}\n{run.stdout[-2000:]}"
    assert (outdir / (path.stem + ".pdf")).stat().st_size > 1000


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex not installed (CI: apt-get install texlive-latex-base)")


@pytest.mark.parametrize("kind", _generator().CELLS)
def test_committed_derivation_is_current(kind, tmp_path):
    fresh = ra.derive(kind).to_tex(tmp_path / f"{kind}.tex").read_text()
    assert (PAPERS / f"{kind}.tex").read_text() == fresh, \
        "stale: run python3 papers/derivations/generate.py"


@needs_pdflatex
@pytest.mark.parametrize("kind", _generator().CELLS)
def test_derivation_compiles_with_pdflatex(kind, tmp_path):
    pdflatex(PAPERS / f"{kind}.tex", tmp_path)


@needs_pdflatex
def test_user_cell_with_custom_names_compiles(tmp_path, minimal_rnn):
    spec = minimal_rnn
    path = ra.derive(spec).to_tex(tmp_path / "minimal.tex", names={"h": r"\mathbf{h}", "U_h": "U"})
    pdflatex(path, tmp_path)


def test_to_tex_rejects_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"path: expected a \.tex file name"):
        ra.derive("elman").to_tex(tmp_path / "elman.pdf")
