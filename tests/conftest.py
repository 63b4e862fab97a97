"""Shared fixtures: every random draw in the tests comes from a fixed seed.

Property tests (hypothesis) draw their examples deterministically too, so a test run is the
same on every machine; ``HYPOTHESIS_PROFILE=explore`` draws fresh examples to hunt for new
failures (add any it finds as an ``@example``)."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def load_script():
    """``load_script("papers/report/build.py")``: run a repository script as a fresh module and
    return it (registered in ``sys.modules`` under a name made from its path, so functions it
    defines can be sent to worker processes)."""
    def load(relative_path):
        path = ROOT / relative_path
        name = "_".join(path.relative_to(ROOT).with_suffix("").parts)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    return load


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
