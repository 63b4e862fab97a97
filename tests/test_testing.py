"""rnnanalysis.testing.check_vjp: passes on right adjoints (ours and a user's), fails on wrong ones."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.testing import check_vjp, numeric_gradient


class TinyRNN:
    """A user's cell that is no rnnanalysis Cell: s' = tanh(s W^T + x U^T), only the one-step contract."""

    def __init__(self, params):
        self.params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        self.state_size, self.inputs = self.params["W"].shape[0], self.params["U"].shape[1]

    def with_params(self, params):
        return TinyRNN(params)

    def step(self, state, x):
        return np.tanh(state @ self.params["W"].T + x @ self.params["U"].T)

    def vjp(self, state, x, g):
        d = g * (1 - self.step(state, x) ** 2)
        return d @ self.params["W"], d @ self.params["U"], {"W": d.T @ state, "U": d.T @ x}


def _tiny(seed=0):
    rng = np.random.default_rng(seed)
    return TinyRNN({"W": rng.normal(size=(3, 3)), "U": rng.normal(size=(3, 2))})


def test_a_users_own_cell_passes():
    assert max(check_vjp(_tiny()).values()) < 1e-8


@pytest.mark.parametrize("wrong, culprit", [
    (lambda g_s, g_x, grads, W: (g_s @ W.T @ W, g_x, grads), "state"),        # W^T where W belongs
    (lambda g_s, g_x, grads, W: (g_s, 1.01 * g_x, grads), "x"),
    (lambda g_s, g_x, grads, W: (g_s, g_x, {**grads, "W": grads["W"].T}), "W"),
])
def test_a_wrong_vjp_fails_and_names_the_argument(wrong, culprit):
    cell = _tiny()

    class Wrong(TinyRNN):
        def vjp(self, state, x, g):
            return wrong(*super().vjp(state, x, g), self.params["W"])

    with pytest.raises(AssertionError, match=f"vjp differs .*: {culprit} "):
        check_vjp(Wrong(cell.params))


def test_a_wrong_parameter_gradient_of_a_builtin_cell_fails():
    class LeakyGradLSTM(ra.LSTM):
        def vjp(self, state, x, g):
            g_s, g_x, grads = super().vjp(state, x, g)
            return g_s, g_x, {**grads, "bias_hh": 0.0 * grads["bias_hh"]}

    with pytest.raises(AssertionError, match="bias_hh"):
        check_vjp(LeakyGradLSTM(3, 2, seed=1))


def test_missing_gradients_and_non_cells_are_refused():
    class Forgetful(TinyRNN):
        def vjp(self, state, x, g):
            g_s, g_x, grads = super().vjp(state, x, g)
            return g_s, g_x, {"W": grads["W"]}

    with pytest.raises(AssertionError, match=r"gradients for \['W'\].*parameters \['U', 'W'\]"):
        check_vjp(Forgetful(_tiny().params))
    with pytest.raises(TypeError, match="cell: expected a cell with step, vjp"):
        check_vjp(np.eye(3))


def test_numeric_gradient_of_a_quadratic():
    A = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(numeric_gradient(lambda X: np.sum(X ** 2) / 2, A), A, rtol=1e-7)
