"""The lambdified Jacobian against the numeric simulator's, and its input checks."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.cells import LayerNormElman, LayerNormLSTM
from rnnanalysis.symbolic import derive

CELLS = {"elman": ra.Elman, "lstm": ra.LSTM, "gru": ra.GRU}
ACTIVATIONS = ["tanh", "sigmoid", "relu", "linear", "leaky_relu"]


def rel_err(a, b):
    return np.max(np.linalg.norm(a - b, axis=(-2, -1)) / np.maximum(np.linalg.norm(b, axis=(-2, -1)), 1e-300))


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_lambdified_jacobian_equals_simulator_jacobian(kind, activation, rng):
    cell = CELLS[kind](hidden=5, inputs=3, activation=activation, seed=int(rng.integers(1 << 30)))
    f = ra.derive(cell).lambdify()
    state = rng.normal(size=(7, cell.state_size))
    x = rng.normal(size=(7, 3))
    J = f(cell.params, state, x)
    assert J.shape == (7, cell.state_size, cell.state_size) and J.dtype == np.float64
    assert rel_err(J, cell.jacobian(state, x)) < 1e-12


@pytest.mark.parametrize("make", [LayerNormElman, LayerNormLSTM])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_layer_norm_cells_lambdified_equal_simulator(make, activation, rng):
    cell = make(hidden=4, inputs=3, activation=activation, seed=int(rng.integers(1 << 30)))
    p = dict(cell.params)
    p["ln_weight"] = rng.normal(size=p["ln_weight"].shape)       # non-trivial gain and shift
    p["ln_bias"] = rng.normal(size=p["ln_bias"].shape)
    cell = cell.with_params(p)
    state, x = rng.normal(size=(6, cell.state_size)), rng.normal(size=(6, 3))
    J = ra.derive(cell).lambdify()(cell.params, state, x)
    assert rel_err(J, cell.jacobian(state, x)) < 1e-12


def test_unbatched_call_and_string_kind(rng):
    cell = ra.LSTM(hidden=3, inputs=2, seed=0)
    f = ra.derive("lstm").lambdify()
    s, x = rng.normal(size=6), rng.normal(size=2)
    J = f(dict(cell.params), s, x)
    assert J.shape == (6, 6)
    assert rel_err(J[None], cell.jacobian(s[None], x[None])) < 1e-12


def test_user_cell_lambdified_matches_finite_differences(rng, minimal_rnn):
    spec = minimal_rnn
    n, m = 4, 3
    p = {"W_x": rng.normal(size=(n, m)), "U_h": rng.normal(size=(n, n)), "U_z": rng.normal(size=(n, n)),
         "b_z": rng.normal(size=n), "b_u": rng.normal(size=n)}

    def step(hv, xv):                     # the minimalRNN written directly in NumPy
        zv = np.tanh(p["W_x"] @ xv + p["b_z"])
        uv = 1 / (1 + np.exp(-(p["U_h"] @ hv + p["U_z"] @ zv + p["b_u"])))
        return uv * hv + (1 - uv) * zv

    hv, xv = rng.normal(size=n), rng.normal(size=m)
    eps = 1e-6
    cols = [(step(hv + eps * e, xv) - step(hv - eps * e, xv)) / (2 * eps) for e in np.eye(n)]
    J_fd = np.stack(cols, axis=1)
    J = derive(spec).lambdify()(p, hv, xv)
    assert rel_err(J[None], J_fd[None]) < 1e-8


def test_wrong_state_size_is_a_clear_error():
    cell = ra.LSTM(hidden=3, inputs=2, seed=0)
    f = ra.derive(cell).lambdify()
    with pytest.raises(ValueError, match=r"state: expected shape \(B, 6\) or \(6,\) \(h and c stacked, n=3"):
        f(cell.params, np.zeros((4, 3)), np.zeros((4, 2)))


def test_wrong_params_and_inputs_are_clear_errors():
    cell = ra.Elman(hidden=3, inputs=2, seed=0)
    f = ra.derive(cell).lambdify()
    params = dict(cell.params)
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 2\)"):
        f(params, np.zeros(3), np.zeros(5))
    with pytest.raises(ValueError, match="missing keys \\['bias_hh'\\]"):
        f({k: v for k, v in params.items() if k != "bias_hh"}, np.zeros(3), np.zeros(2))
    bad = {**params, "weight_ih": np.zeros((4, 2))}
    with pytest.raises(ValueError, match=r"params\['weight_ih'\]: expected shape \(3, 2\)"):
        f(bad, np.zeros(3), np.zeros(2))
    with pytest.raises(TypeError, match="params: expected a mapping"):
        f([1, 2], np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="batch sizes differ"):
        f(params, np.zeros((4, 3)), np.zeros((5, 2)))
    with pytest.raises(TypeError, match="state: expected a real floating-point array"):
        f(params, np.zeros(3, dtype=int), np.zeros(2))
