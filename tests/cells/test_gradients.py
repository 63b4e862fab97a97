"""Every parameter gradient of every cell and activation against central finite differences."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.activations import custom_activation, leaky_relu
from rnnanalysis.testing import check_jacobian, check_vjp, numeric_gradient

CELLS = [ra.Elman, ra.LSTM, ra.GRU]
ACTS = ["tanh", "sigmoid", "relu", "linear", leaky_relu(0.1),
        custom_activation(np.sin, np.cos, 1.0, name="sin")]


def loss_and_grad_h(cell, xs, h0, w, at):
    h = ra.simulate(cell, xs, h0).states
    return (np.sum(h[-1] * w), w) if at == "last" else (np.sum(h[1:] * w), w)


def rel_err(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("act", ACTS, ids=lambda a: a if isinstance(a, str) else a.name)
@pytest.mark.parametrize("at", ["last", "every"])
def test_bptt_matches_finite_differences(cls, act, at, rng):
    cell = cls(3, 2, activation=act, seed=1)
    T, B = 5, 2
    xs = rng.normal(size=(T, B, 2))
    h0 = 0.5 * rng.normal(size=(B, cell.state_size))
    w = rng.normal(size=(B, 3) if at == "last" else (T, B, 3))
    res = ra.bptt(cell, xs, w, h0, at=at)

    def loss(c=cell, x=xs, s=h0):
        return loss_and_grad_h(c, x, s, w, at)[0]

    for name, value in cell.params.items():
        def f(p, name=name):
            return loss(c=cell.with_params({**cell.params, name: p}))
        assert rel_err(res.grads[name], numeric_gradient(f, value)) < 1e-6, name
    assert rel_err(res.grad_xs, numeric_gradient(lambda x: loss(x=x), xs)) < 1e-6
    # the adjoint of s_0 shrinks fastest: compare it on an absolute scale as well
    fd_h0 = numeric_gradient(lambda s: loss(s=s), h0)
    assert np.linalg.norm(res.grad_h0 - fd_h0) < 1e-6 * max(np.linalg.norm(fd_h0), 1e-2)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "linear"])
def test_jacobian_matches_finite_differences(cls, act, rng):
    cell = cls(4, 3, activation=act, seed=2)
    state = rng.normal(size=(3, cell.state_size))
    assert check_jacobian(cell, state, rng.normal(size=(3, 3)), rtol=1e-7) < 1e-7


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("act", ACTS, ids=lambda a: a if isinstance(a, str) else a.name)
def test_one_step_vjp_matches_finite_differences(cls, act):
    errors = check_vjp(cls(4, 3, activation=act, seed=2), rtol=1e-7)
    assert set(errors) == {"state", "x", "weight_ih", "weight_hh", "bias_ih", "bias_hh"}


@pytest.mark.parametrize("cls", CELLS)
def test_vjp_is_g_times_jacobian(cls, rng):
    cell = cls(4, 2, seed=3)
    s, x = rng.normal(size=(2, cell.state_size)), rng.normal(size=(2, 2))
    g = rng.normal(size=(2, cell.state_size))
    g_prev, g_x, grads = cell.vjp(s, x, g)
    np.testing.assert_allclose(g_prev, np.einsum("bi,bij->bj", g, cell.jacobian(s, x)),
                               rtol=1e-13, atol=1e-15)
    assert g_x.shape == (2, 2) and grads["weight_hh"].shape == cell.params["weight_hh"].shape


def test_checkpointed_bptt_equals_stored(rng):
    cell = ra.LSTM(5, 3, seed=4)
    xs = rng.normal(size=(23, 2, 3))
    w = rng.normal(size=(23, 2, 5))
    full = ra.bptt(cell, xs, w, at="every")
    for ck in (1, 4, True):
        part = ra.bptt(cell, xs, w, at="every", checkpoint=ck)
        for k in full.grads:
            np.testing.assert_allclose(part.grads[k], full.grads[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(part.adjoints, full.adjoints, rtol=1e-12, atol=1e-15)


def test_trajectory_reuse_equals_fresh_forward(rng):
    cell = ra.GRU(4, 2, seed=5)
    xs = rng.normal(size=(9, 3, 2))
    traj = ra.simulate(cell, xs)
    a = ra.bptt(cell, xs, np.ones((3, 4)), trajectory=traj)
    b = ra.bptt(cell, xs, np.ones((3, 4)))
    for k in a.grads:
        np.testing.assert_array_equal(a.grads[k], b.grads[k])
    with pytest.raises(ValueError, match="trajectory"):
        ra.bptt(ra.GRU(4, 2, seed=6), xs, np.ones((3, 4)), trajectory=traj)
