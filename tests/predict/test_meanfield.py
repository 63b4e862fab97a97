"""Mean-field theory against closed forms (ReLU, linear, erf), Gauss-Hermite, and published values."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

import rnnanalysis as ra
from rnnanalysis.predict import gaussian_expectation

ERF = ra.custom_activation(special.erf, lambda a: 2 / np.sqrt(np.pi) * np.exp(-a * a),
                           2 / np.sqrt(np.pi), "erf")


@pytest.mark.parametrize("q", [0.01, 0.5, 2.0, 37.0])
def test_gaussian_expectation_closed_forms(q):
    relu, tanh = ra.get_activation("relu"), ra.get_activation("tanh")
    assert gaussian_expectation(lambda a: relu.f(a) ** 2, q) == pytest.approx(q / 2, rel=1e-12)
    assert gaussian_expectation(lambda a: relu.df(a) ** 2, q) == pytest.approx(0.5, abs=1e-12)
    # Williams (1997): E[erf(sqrt(q) z)^2] = (2/pi) asin(2q / (1 + 2q)); E[erf'^2] = (4/pi) / sqrt(1 + 4q)
    assert gaussian_expectation(lambda a: ERF.f(a) ** 2, q) == pytest.approx(
        2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)), abs=1e-12)
    assert gaussian_expectation(lambda a: ERF.df(a) ** 2, q) == pytest.approx(4 / np.pi / np.sqrt(1 + 4 * q),
                                                                              abs=1e-12)
    # tanh against high-order probabilists' Gauss-Hermite (smooth integrand)
    z, w = np.polynomial.hermite_e.hermegauss(300)
    gh = float(np.sum(w * tanh.f(np.sqrt(q) * z) ** 2) / np.sqrt(2 * np.pi))
    if q <= 2.0:
        assert gaussian_expectation(lambda a: tanh.f(a) ** 2, q) == pytest.approx(gh, abs=1e-10)



def _adaptive(f, q):
    """E[f(sqrt(q) z)] by scipy's adaptive quadrature on each half-line (the reference)."""
    def g(z):
        return float(f(np.array([math.sqrt(q) * z]))[0]) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return sum(integrate.quad(g, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
               for lo, hi in ((-np.inf, 0.0), (0.0, np.inf)))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "linear", "leaky"])
def test_gaussian_expectation_rule_matches_adaptive_quadrature(name):
    act = ra.leaky_relu(0.1) if name == "leaky" else ra.get_activation(name)
    for q in 10.0 ** np.arange(-6.0, 6.5, 1.5):
        for f in (act.f, lambda a: act.f(a) ** 2, lambda a: act.df(a) ** 2):
            ref = _adaptive(f, q)
            assert abs(gaussian_expectation(f, q) - ref) <= 1e-10 * max(1.0, abs(ref)), (name, q)


def test_gaussian_expectation_kink_off_the_panel_edges_and_a_narrow_peak():
    # a custom f with a kink at a = 0.3 (the fixed rule's check fails: adaptive quadrature)
    clip = lambda a: np.clip(a, -0.3, 0.3) ** 2  # noqa: E731
    assert gaussian_expectation(clip, 2.0) == pytest.approx(_adaptive(clip, 2.0), abs=1e-12)
    # E[tanh'(s z)^2] -> (4/3) / (s sqrt(2 pi)) as s -> inf (int sech^4 = 4/3), error O(1/s^3)
    s = 1e4
    assert gaussian_expectation(lambda a: (1 - np.tanh(a) ** 2) ** 2, s * s) == pytest.approx(
        4 / 3 / (s * math.sqrt(2 * math.pi)), rel=1e-7)

def test_tanh_is_critical_at_unit_gain():
    mf = ra.mean_field("tanh", 1.0, 0.0)
    assert mf.chi == pytest.approx(1.0, abs=1e-10)
    assert abs(mf.depth_scale) > 1e9
    assert ra.critical_sigma_w("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("g, lam", [(1.5, 0.065), (2.0, 0.155), (3.0, 0.310)])
def test_published_chaotic_exponents(g, lam):
    # published.md: lambda_max = 1/2 ln(g^2 E[(1 - tanh^2(sqrt(D*) z))^2]), D* = g^2 E[tanh^2(sqrt(D*) z)]
    mf = ra.mean_field("tanh", g)
    assert round(mf.rate_nats_per_step, 3) == lam
    assert mf.regime == "exploding" and mf.depth_scale < 0


def test_below_unit_gain_tanh_decays_at_ln_g():
    mf = ra.mean_field("tanh", 0.6)
    assert mf.q_star == 0.0 and mf.rate_nats_per_step == pytest.approx(math.log(0.6), abs=1e-12)
    assert mf.depth_scale == pytest.approx(-1 / math.log(0.36))


@pytest.mark.parametrize("sw, sb", [(1.2, 0.3), (0.5, 1.0)])
def test_relu_and_linear_closed_forms(sw, sb):
    mf = ra.mean_field("relu", sw, sb)
    assert mf.q_star == pytest.approx(sb ** 2 / (1 - sw ** 2 / 2), rel=1e-10)
    assert mf.chi == pytest.approx(sw ** 2 / 2, rel=1e-12)
    lin = ra.mean_field("linear", 0.9, sb)
    assert lin.q_star == pytest.approx(sb ** 2 / (1 - 0.81), rel=1e-10) and lin.chi == pytest.approx(0.81)
    assert ra.critical_sigma_w("relu", sb) == pytest.approx(math.sqrt(2), rel=1e-10)


def test_diverging_variance():
    mf = ra.mean_field("relu", 2.0)
    assert mf.q_star == math.inf and mf.chi == pytest.approx(2.0)


def test_erf_fixed_point_and_critical_line():
    sw, sb = 2.0, 0.4
    closed = optimize.brentq(lambda q: sw ** 2 * 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)) + sb ** 2 - q,
                             1e-6, 100, xtol=1e-15)
    mf = ra.mean_field(ERF, sw, sb)
    assert mf.q_star == pytest.approx(closed, rel=1e-10)
    assert mf.chi == pytest.approx(sw ** 2 * 4 / np.pi / np.sqrt(1 + 4 * closed), rel=1e-10)
    crit = ra.critical_sigma_w("tanh", 0.3)
    assert ra.mean_field("tanh", crit, 0.3).chi == pytest.approx(1.0, abs=1e-9)
    assert crit > 1.0                                           # bias pushes the edge of chaos outwards
    line = ra.critical_sigma_w("tanh", np.array([0.1, 0.3, 0.6]))
    assert line.shape == (3,) and line[1] == pytest.approx(crit, rel=1e-12) and np.all(np.diff(line) > 0)


def test_input_variance_adds_like_bias_variance():
    a = ra.mean_field("tanh", 1.4, 0.3)
    b = ra.mean_field("tanh", 1.4, 0.0, input_variance=0.09)
    assert a.q_star == pytest.approx(b.q_star, rel=1e-12) and a.chi == pytest.approx(b.chi, rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="sigma_w"):
        ra.mean_field("tanh", -1.0)
    with pytest.raises(ValueError, match="sigma_b"):
        ra.mean_field("tanh", 1.0, float("nan"))
    with pytest.raises(TypeError, match="sigma_w"):
        ra.mean_field("tanh", "1")
    with pytest.raises(ValueError, match="unknown activation"):
        ra.mean_field("swish", 1.0)
    with pytest.raises(ValueError, match="input_variance"):
        ra.mean_field("tanh", 1.0, input_variance=-0.1)
