"""The report: builds from the toolkit in quick mode, cites every published number, compiles."""

import math
import shutil

import numpy as np
import pytest


@pytest.fixture(scope="module")
def build_module(load_script):
    return load_script("papers/report/build.py")      # its functions run in worker processes


def test_tex_escaping(build_module):
    assert build_module.tex("smart_tanh+clip 100% & #1") == r"smart\_tanh+clip 100\% \& \#1"


def test_captions_set_symbols_as_math(build_module):
    assert build_module.caption("rate over (sigma_w, sigma_b) vs T, lambda_max(g) and log10 50%") == (
        r"rate over ($\sigma_{w}$, $\sigma_{b}$) vs $T$, $\lambda_{\max}(g)$ and $\log_{10}$ 50\%")


def test_copy_baseline_measured_equals_published_formula(build_module):
    for T, published, formula, measured in build_module.copy_rows((100, 200), size=20):
        assert abs(formula - 10 * math.log(8) / (T + 20)) < 1e-15
        assert abs(published - formula) < 5e-5  # published values are rounded to 4 places
        assert abs(measured - formula) < 1e-12


def test_quick_report_builds_and_compiles(build_module, tmp_path, request):
    pdf = shutil.which("pdflatex") is not None
    tex_path = build_module.build(tmp_path, quick=True, pdf=pdf, progress=False)
    text = tex_path.read_text()
    assert "Quick build" in text and "%%" not in text.replace("\\%", "")
    for cited in (
        "Bai \\& Yin 1988",
        "Arjovsky, Shah \\& Bengio 2016",
        "Hochreiter \\& Schmidhuber 1997",
        "Pascanu, Mikolov \\& Bengio 2013",
        "0.1733",
        "74\\,000",
        "+0.155$ (derived)",
    ):
        assert cited in text, cited
    assert text.count("\\includegraphics") == 8
    from rnnanalysis.figures import FIGURES

    for spec in FIGURES:  # the quick run made every figure
        assert (tmp_path / "figures" / f"{spec.name}.pdf").stat().st_size > 0
        assert (tmp_path / "figures" / f"{spec.name}.json").stat().st_size > 0
    assert "\\usepackage{booktabs}" not in text  # not in texlive-latex-base
    assert "($\\sigma_{w}$, $\\sigma_{b}$)" in text and "$\\lambda_{\\max}(g)$ vs" in text  # captions as math
    if pdf:
        assert tex_path.with_suffix(".pdf").stat().st_size > 10_000
        log = tex_path.with_suffix(".log").read_text(errors="replace")  # build's own pdflatex run
        assert request.getfixturevalue("pdflatex").widest_overfull(log) <= 1.0
    else:
        pytest.skip("pdflatex not installed: the .tex was checked, not compiled")


def test_closed_form_table_agrees_with_bptt(build_module):
    text = build_module.derivations()
    errors = [float(x) for x in __import__("re").findall(r"\$(\d\.\de[-+]\d+)\$ \\\\", text)]
    assert len(errors) == 3 and max(errors) < 1e-12
    assert np.isfinite(errors).all()
