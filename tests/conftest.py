"""Shared fixtures: every random draw in the tests comes from a fixed seed.

Property tests (hypothesis) draw their examples deterministically too, so a test run is the
same on every machine; ``HYPOTHESIS_PROFILE=explore`` draws fresh examples to hunt for new
failures (add any it finds as an ``@example``)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture
def rng():
    return np.random.default_rng(20130216)  # Pascanu et al. 2013 arXiv date, a fixed seed


def pytest_collection_modifyitems(config, items):
    np.random.seed(0)  # legacy global state, in case a dependency draws from it


class PdfLatex:
    """``pdflatex(path, outdir)``: compile with texlive-latex-base's pdflatex (fail on any LaTeX
    error) and return the widest overfull hbox in pt read from the log (0 if none)."""

    OVERFULL = re.compile(r"^Overfull \\hbox \(([\d.]+)pt too wide\)", re.MULTILINE)

    def __init__(self, exe):
        self.exe = exe

    def __call__(self, path, outdir=None) -> float:
        path = Path(path)
        outdir = Path(outdir or path.parent)
        run = subprocess.run([self.exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                              f"-output-directory={outdir}", path.name], cwd=path.parent,
                             capture_output=True, text=True, timeout=120)
        log = (outdir / path.with_suffix(".log").name).read_text(errors="replace")
        errors = [line for line in log.splitlines() if line.startswith("!")]
        assert run.returncode == 0 and not errors, f"{path.name}: LaTeX errors {errors}\n{run.stdout[-2000:]}"
        assert (outdir / path.with_suffix(".pdf").name).stat().st_size > 1000
        return self.widest_overfull(log)

    @classmethod
    def widest_overfull(cls, log: str) -> float:
        return max((float(w) for w in cls.OVERFULL.findall(log)), default=0.0)


@pytest.fixture(scope="session")
def pdflatex():
    """The compiler of :class:`PdfLatex`; the test is skipped where pdflatex is not installed."""
    exe = shutil.which("pdflatex")
    if exe is None:
        pytest.skip("pdflatex not installed (CI: apt-get install texlive-latex-base)")
    return PdfLatex(exe)
