"""Golden LaTeX strings and validated printer settings."""

import pytest
import sympy

import rnnanalysis as ra
from rnnanalysis.symbolic import OrderedProduct

ELMAN_J = r"\operatorname{diag}\left(\phi'\left(a_{t}\right)\right) W_{hh}"
PRODUCT = r"J_{t} J_{t-1} \cdots J_{k+1}"
BOUND = (r"\left\lVert \frac{\partial h_{t}}{\partial h_{k}} \right\rVert_{2} \leq \prod_{j=k+1}^{t} "
         r"\left\lVert J_{j} \right\rVert_{2} \leq "
         r"\left(\gamma \, \sigma_{\max}\left(W_{hh}\right)\right)^{t-k}")


@pytest.fixture(scope="module")
def elman():
    return ra.derive("elman")


def test_golden_elman_jacobian(elman):
    assert elman.latex_of("jacobian") == ELMAN_J


def test_golden_ordered_product(elman):
    assert elman.latex_of("product") == PRODUCT
    assert sympy.latex(OrderedProduct(3, 0)) == "J_{3} J_{2} J_{1}"


def test_golden_bound(elman):
    assert elman.latex_of("bound") == BOUND


def test_golden_weight_gradient(elman):
    assert elman.latex_of("weight_gradient") == (
        r"\sum_{t=1}^{T} \sum_{k=1}^{t} \frac{\partial \mathcal{E}_{t}}{\partial h_{t}} "
        r"\frac{\partial h_{t}}{\partial h_{k}} \frac{\partial^{+} h_{k}}{\partial \theta}")


def test_symbol_names_and_time_index_under_user_control(elman):
    assert elman.latex_of("jacobian", names={"W_hh": "W", "phi": r"\sigma", "a": "z"}) == \
        r"\operatorname{diag}\left(\sigma'\left(z_{t}\right)\right) W"
    assert elman.latex_of("product", time="s") == r"J_{s} J_{s-1} \cdots J_{k+1}"
    assert elman.latex_of("bound", names={"W_hh": "W"}).endswith(
        r"\left(\gamma \, \sigma_{\max}\left(W\right)\right)^{t-k}")
    assert elman.latex_of("jacobian", diag=r"\mathrm{Diag}").startswith(r"\mathrm{Diag}\left(")


def test_golden_gated_blocks():
    lstm = ra.derive("lstm")
    assert lstm.latex_of(("c", "c")) == r"\operatorname{diag}\left(f_{t}\right)"
    assert lstm.latex_of(("h", "c")) == (r"\operatorname{diag}\left(o_{t}\right) "
                                         r"\operatorname{diag}\left(\phi'\left(c_{t}\right)\right) "
                                         r"\operatorname{diag}\left(f_{t}\right)")
    gru = ra.derive("gru").latex()
    assert r"h_{t} &= \left(1 - z_{t}\right) \odot n_{t} + z_{t} \odot h_{t-1}" in gru
    assert r"a_{n,t} &= W_{in} x_{t} + b_{in} + r_{t} \odot \left(W_{hn} h_{t-1} + b_{hn}\right)" in gru


def test_golden_layer_norm_jacobian():
    assert ra.derive("ln_elman").latex_of("jacobian", names={"W_hh": "W"}) == (
        r"\operatorname{diag}\left(\phi'\left(y_{t}\right)\right) \operatorname{diag}\left(\alpha\right) "
        r"\frac{1}{\operatorname{sd}\left(a_{t}\right)} \left(I - \frac{1}{n} \left(1 1^\top + "
        r"\operatorname{norm}\left(a_{t}\right) \operatorname{norm}\left(a_{t}\right)^\top\right)\right) W")


def test_latex_is_an_align_environment_and_jupyter_repr(elman):
    tex = elman.latex()
    assert tex.startswith("\\begin{align*}\n\\intertext{") and tex.endswith("\\end{align*}")
    assert f"J_{{t}} &= {ELMAN_J}" in tex
    assert elman._repr_latex_().startswith(r"$\displaystyle\begin{aligned}")


def test_settings_reach_the_sentences_too():
    tex = ra.derive("lstm").latex(names={"h": "y", "c": "m", "phi": r"\psi"}, time=r"\tau")
    assert r"state $s_{\tau} = (y_{\tau}, m_{\tau})$, elementwise maps $\sigma$ = sigmoid, " \
           r"$\psi$ = tanh" in tex
    assert r"m_{\tau} &= f_{\tau} \odot m_{\tau-1} + i_{\tau} \odot g_{\tau}" in tex
    assert "h_{" not in tex and "_{t}" not in tex


def test_steps_are_sentences_with_equations(elman):
    texts = [s.text for s in elman.steps if s.text]
    assert any("late to early" in t for t in texts)
    assert sum(s.rhs is not None for s in elman.steps) >= 5


@pytest.mark.parametrize("settings, error, match", [
    ({"colour": "red"}, ValueError, r"unknown printer setting\(s\) \['colour'\]"),
    ({"names": {"W_xx": "W"}}, ValueError, r"keys \['W_xx'\] are not symbols of cell 'Elman'"),
    ({"names": {"W_hh": 3}}, TypeError, r"'names'\['W_hh'\]: expected a non-empty LaTeX string"),
    ({"names": ["W"]}, TypeError, "expected a dict"),
    ({"time": ""}, TypeError, "'time': expected a non-empty string"),
])
def test_printer_settings_are_validated(elman, settings, error, match):
    with pytest.raises(error, match=match):
        elman.latex(**settings)


def test_save_writes_json_or_tex_never_pickles(elman, tmp_path):
    import json

    data = json.loads(elman.save(tmp_path / "elman.json").read_text())
    assert data["jacobian_latex"] == ELMAN_J and data["type"] == "Derivation"
    assert elman.save(tmp_path / "elman.tex").read_text().startswith("\\documentclass{article}")
    with pytest.raises(ValueError, match=r"expected a \.json or \.tex file name"):
        elman.save(tmp_path / "elman.npz")


def test_latex_of_rejects_unknown_objects(elman):
    with pytest.raises(ValueError, match="what: expected one of"):
        elman.latex_of("hessian")
    with pytest.raises(ValueError, match="block: states of Elman"):
        elman.latex_of(("h", "c"))
    assert ra.derive("lstm").bound is None
    with pytest.raises(ValueError, match="what: expected one of"):
        ra.derive("lstm").latex_of("bound")
