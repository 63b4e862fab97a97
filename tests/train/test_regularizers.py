"""Pascanu's Omega: an analytic case and finite differences with delta and states held fixed."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.train import omega


def test_linear_scaled_identity():
    # linear activation, W = c I: ||delta J|| / ||delta|| = c at every step -> Omega = T (c - 1)^2
    c, T, B = 0.7, 6, 3
    cell = ra.Elman(4, 2, activation="linear", init="identity", gain=c, seed=0)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(T, B, 2))
    states = ra.simulate(cell, xs).states
    adj = rng.normal(size=(T + 1, B, 4))
    assert omega(cell, xs, states, adj).value == pytest.approx(T * (c - 1) ** 2, rel=1e-12)


def test_gradient_finite_differences():
    rng = np.random.default_rng(1)
    cell = ra.Elman(4, 2, seed=0, init="orthogonal", gain=1.3)
    xs = rng.normal(size=(5, 3, 2))
    states = ra.simulate(cell, xs).states
    adj = ra.bptt(cell, xs, rng.normal(size=(3, 4))).adjoints
    W, b = cell.params["weight_hh"], cell.params["bias_ih"] + cell.params["bias_hh"]
    a = xs @ cell.params["weight_ih"].T + states[:-1] @ W.T + b
    dphi = cell.activation.df(a)                          # held constant, as eq. 10 prescribes

    def value(Wp):
        v = adj[1:] * dphi
        r = np.linalg.norm(v @ Wp, axis=-1) / np.linalg.norm(adj[1:], axis=-1)
        return ((r - 1) ** 2).sum() / 3

    res = omega(cell, xs, states, adj)
    assert res.value == pytest.approx(value(W), rel=1e-12)
    num = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        d = np.zeros_like(W)
        d[i] = 1e-6
        num[i] = (value(W + d) - value(W - d)) / 2e-6
    np.testing.assert_allclose(res.grad_weight_hh, num, rtol=1e-6, atol=1e-9)


def test_invariant_to_the_scale_of_the_adjoints():
    # a vanishing gradient (adjoints of 1e-160) gives the same Omega, finite; products of two
    # such norms would underflow to 0 (a run once diverged on exactly that)
    rng = np.random.default_rng(2)
    cell = ra.Elman(5, 2, seed=0, init="orthogonal", gain=2.0)
    xs = rng.normal(size=(4, 3, 2))
    states = ra.simulate(cell, xs).states
    adj = rng.normal(size=(5, 3, 5))
    ref = omega(cell, xs, states, adj)
    for scale in (1e-160, 1e-300, 1e150):
        got = omega(cell, xs, states, adj * scale)
        assert got.value == pytest.approx(ref.value, rel=1e-12)
        np.testing.assert_allclose(got.grad_weight_hh, ref.grad_weight_hh, rtol=1e-11, atol=1e-14)


def test_only_elman():
    cell = ra.LSTM(3, 2, seed=0)
    with pytest.raises(TypeError, match="Elman"):
        omega(cell, np.zeros((2, 1, 2)), np.zeros((3, 1, 3)), np.zeros((3, 1, 6)))
