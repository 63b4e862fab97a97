"""BPTT objects against the simulator: product order, Pascanu's double sum, bound, closed forms."""

import numpy as np
import pytest
import sympy
from sympy import MatMul, MatrixSymbol

import rnnanalysis as ra
from rnnanalysis.symbolic import (
    OrderedProduct,
    WeightGradient,
    linear_rnn_power,
    one_unit_gradient,
    scalar_rnn_product,
)
from rnnanalysis.symbolic.bptt import K_SYM, T_SYM


def test_product_order_regression():
    """J3 J2 J1, not J1 J2 J3: an autodiff library once trained every LSTM on the wrong order."""
    S = sympy.Symbol("S", integer=True, positive=True)
    prod = OrderedProduct(3, 0)
    J = [MatrixSymbol(f"J_{j}", S, S) for j in (1, 2, 3)]
    assert prod.doit() == MatMul(J[2], J[1], J[0]) != MatMul(J[0], J[1], J[2])
    J1, J2, J3 = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]), \
        np.array([[2.0, 0.0], [1.0, 3.0]])
    assert not np.allclose(J3 @ J2 @ J1, J1 @ J2 @ J3)          # the example does not commute
    np.testing.assert_array_equal(prod.evaluate([J1, J2, J3]), J3 @ J2 @ J1)
    np.testing.assert_array_equal(OrderedProduct(3, 1).evaluate([J1, J2, J3]), J3 @ J2)
    np.testing.assert_array_equal(OrderedProduct(2, 2).evaluate([J1, J2, J3]), np.eye(2))
    with pytest.raises(ValueError, match="need J_1..J_4"):
        OrderedProduct(4, 0).evaluate([J1, J2, J3])


def _trajectory_jacobians(cell, xs):
    traj = ra.simulate(cell, xs)
    states = traj.states if traj.cells is None else np.concatenate([traj.states, traj.cells], axis=-1)
    f = ra.derive(cell).lambdify()
    return [f(cell.params, states[j - 1], xs[j - 1]) for j in range(1, len(xs) + 1)]


@pytest.mark.parametrize("make", [ra.Elman, ra.LSTM, ra.GRU])
def test_ordered_product_of_lambdified_jacobians_matches_simulator(make, rng):
    """Singular values of J_T ⋯ J_{k+1} equal those of the simulator's ∂s_T/∂s_k for every k."""
    cell = make(hidden=3, inputs=2, seed=3)
    T = 6
    xs = rng.normal(size=(T, 1, 2))
    Js = _trajectory_jacobians(cell, xs)
    ref = ra.jacobian_products(cell, xs).log10_singular_values[:, 0, :]     # (T+1, S)
    for k in range(T):
        sv = np.linalg.svd(OrderedProduct(T, k).evaluate(Js)[0], compute_uv=False)
        np.testing.assert_allclose(np.log10(sv[:2]), ref[k, :2], rtol=0, atol=1e-10)


def test_weight_gradient_double_sum_matches_bptt(rng):
    """Pascanu eqs. 3-5 with the immediate partial ∂⁺h_k/∂W_hh = diag(φ'(a_k)) ⊗ h_{k-1}^T."""
    n, T = 3, 5
    cell = ra.Elman(hidden=n, inputs=2, seed=4)
    xs = rng.normal(size=(T, 1, 2))
    v = rng.normal(size=(T, 1, n))                       # loss E = Σ_t v_t · h_t
    Js = [J[0] for J in _trajectory_jacobians(cell, xs)]
    h = ra.simulate(cell, xs).states[:, 0]
    p = cell.params
    immediate = []
    for k in range(1, T + 1):
        a = p["weight_ih"] @ xs[k - 1, 0] + p["bias_ih"] + p["weight_hh"] @ h[k - 1] + p["bias_hh"]
        immediate.append(np.einsum("pi,j->pij", np.diag(cell.activation.df(a)), h[k - 1]).reshape(n, n * n))
    grad = WeightGradient("h").evaluate(v[:, 0], Js, immediate).reshape(n, n)
    ref = ra.bptt(cell, xs, v, at="every").grads["weight_hh"]
    np.testing.assert_allclose(grad, ref, rtol=1e-12, atol=1e-14)


def test_bound_holds_and_is_attained_by_a_scaled_orthogonal_linear_rnn(rng):
    d = ra.derive("elman")
    assert d.bound.rhs == (sympy.Symbol("gamma", positive=True) * sympy.Symbol("sigma_max", positive=True)) \
        ** (sympy.Symbol("t", integer=True) - K_SYM)
    T = 8
    cell = ra.Elman(hidden=4, inputs=2, init="orthogonal", gain=1.3, seed=5)
    xs = rng.normal(size=(T, 2, 2))
    smax = np.linalg.norm(cell.params["weight_hh"], 2)
    logs = ra.jacobian_products(cell, xs).log10_sigma_max               # (T+1, B)
    for k in range(T):
        assert np.all(logs[k] <= np.log10(d.bound.value(smax, T - k)) + 1e-12)
    lin = ra.Elman(hidden=4, inputs=2, activation="linear", init="orthogonal", gain=1.3, seed=5)
    bound = ra.derive(lin).bound
    logs = ra.jacobian_products(lin, xs).log10_sigma_max
    np.testing.assert_allclose(logs[0], np.log10(bound.value(1.3, T)), rtol=1e-12)


def test_scalar_rnn_product_closed_form_matches_simulation(rng):
    cell = ra.Elman(hidden=1, inputs=1, seed=6)
    T, k = 6, 2
    xs = rng.normal(size=(T, 1, 1))
    cf = scalar_rnn_product("tanh")
    h = ra.simulate(cell, xs).states[:, 0, 0]
    p = {name: float(np.ravel(v)[0]) for name, v in cell.params.items()}
    a = [p["weight_ih"] * xs[j - 1, 0, 0] + p["bias_ih"] + p["weight_hh"] * h[j - 1] + p["bias_hh"]
         for j in range(1, T + 1)]
    expr = cf.expr.subs({T_SYM: T, K_SYM: k}).doit()
    value = float(expr.subs({cf.symbols["a"][j]: a[j - 1] for j in range(1, T + 1)})
                  .subs(cf.symbols["w"], p["weight_hh"]))
    ref = 10 ** ra.jacobian_products(cell, xs).log10_sigma_max[k, 0]
    assert abs(abs(value) - ref) <= 1e-12 * ref
    assert scalar_rnn_product("linear").expr == cf.symbols["w"] ** (T_SYM - K_SYM)


@pytest.mark.parametrize("W", [[[0.3, -0.7], [0.5, 0.2]], [[0.9, 0.4], [0.1, 0.6]]])
def test_linear_rnn_power_symbolic_2x2(W):
    cf = linear_rnn_power()
    w = cf.symbols["W"]
    vals = {w[i, j]: sympy.Rational(str(W[i][j])) for i in range(2) for j in range(2)}
    lam = {s: e.subs(vals) for s, e in cf.symbols["eigenvalues"].items()}
    value = cf.expr.subs(vals).subs(lam).subs({T_SYM: 7, K_SYM: 2})
    got = np.array(value.evalf(30).tolist(), dtype=complex)
    np.testing.assert_allclose(got, np.linalg.matrix_power(np.array(W), 5), rtol=1e-12, atol=1e-14)


def test_linear_rnn_power_defective_jordan_block():
    cf = linear_rnn_power(sympy.Matrix([[2, 1], [0, 2]]))
    N = T_SYM - K_SYM
    assert sympy.simplify(cf.expr - sympy.Matrix([[2 ** N, N * 2 ** (N - 1)], [0, 2 ** N]])) == sympy.zeros(2)


def test_pascanu_one_unit_derivatives():
    first, second = one_unit_gradient(1), one_unit_gradient(2)
    s = first.symbols
    assert sympy.simplify(first.expr - s["t"] * s["x_0"] * s["w"] ** (s["t"] - 1)) == 0
    assert sympy.simplify(second.expr - s["t"] * (s["t"] - 1) * s["x_0"] * s["w"] ** (s["t"] - 2)) == 0

    def x_t(wv, steps=7, x_start=0.8):            # the recursion itself, unrolled
        x = x_start
        for _ in range(steps):
            x = wv * x
        return x

    wv, e = 0.9, 1e-4
    subs = {s["w"]: wv, s["x_0"]: 0.8, s["t"]: 7}
    fd1 = (x_t(wv + e) - x_t(wv - e)) / (2 * e)
    fd2 = (x_t(wv + e) - 2 * x_t(wv) + x_t(wv - e)) / e ** 2
    assert abs(float(first.expr.subs(subs)) - fd1) < 1e-6 * abs(fd1)      # central differences, O(e^2)
    assert abs(float(second.expr.subs(subs)) - fd2) < 1e-5 * abs(fd2)
    with pytest.raises(ValueError, match="order: expected 1 or 2"):
        one_unit_gradient(3)
