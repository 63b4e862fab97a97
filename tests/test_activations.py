import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.activations import ACTIVATIONS, custom_activation, get_activation, leaky_relu

NAMES = sorted(ACTIVATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name):
    act = get_activation(name)
    a = np.linspace(-4, 4, 801)
    a = a[np.abs(a) > 1e-3]                       # avoid the kink of relu-like functions
    fd = (act.f(a + 1e-6) - act.f(a - 1e-6)) / 2e-6
    np.testing.assert_allclose(act.df(a), fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name,gamma", [("tanh", 1.0), ("sigmoid", 0.25), ("relu", 1.0), ("linear", 1.0)])
def test_gamma_is_the_published_supremum(name, gamma):
    # Pascanu et al. (2013) sec. 2.1: gamma = 1 for tanh, 1/4 for the sigmoid.
    act = get_activation(name)
    assert act.gamma == gamma
    a = np.linspace(-20, 20, 40001)
    assert np.max(np.abs(act.df(a))) <= gamma + 1e-15
    assert np.max(np.abs(act.df(a))) == pytest.approx(gamma, rel=1e-6)


def test_out_argument_writes_in_place():
    for name in NAMES:
        a = np.linspace(-2, 2, 9)
        out = np.empty_like(a)
        assert get_activation(name).f(a, out=out) is out
        np.testing.assert_array_equal(out, get_activation(name).f(a))


def test_leaky_relu_slope_and_gamma():
    act = leaky_relu(0.1)
    np.testing.assert_allclose(act.f(np.array([-2.0, 3.0])), [-0.2, 3.0])
    assert act.gamma == 1.0
    assert leaky_relu(-2.0).gamma == 2.0


def test_custom_activation_runs_in_a_cell(rng):
    act = custom_activation(np.sin, np.cos, gamma=1.0, name="sin")
    cell = ra.Elman(3, 2, activation=act, seed=0)
    xs = rng.normal(size=(4, 2, 2))
    h = ra.simulate(cell, xs).states
    assert np.allclose(h[1], np.sin(xs[0] @ cell.params["weight_ih"].T + cell.params["bias_ih"]
                                    + cell.params["bias_hh"]))


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        get_activation("swishy")
    with pytest.raises(TypeError, match="activation must be a name"):
        get_activation(3)
    with pytest.raises(ValueError, match="gamma"):
        custom_activation(np.sin, np.cos, gamma=float("nan"))


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 4e-7), (np.float64, 1e-15)])
def test_sigmoid_keeps_relative_accuracy_in_the_tails(dtype, rtol):
    # LSTM/GRU gates near 0 enter gradients through sigma(1 - sigma): relative, not absolute, accuracy
    from scipy.special import expit

    from rnnanalysis.activations import sigmoid

    x = np.linspace(-85, 85, 20001).astype(dtype)
    exact = expit(x.astype(np.float64))
    got = sigmoid(x).astype(np.float64)
    assert np.max(np.abs(got - exact) / exact) < rtol
