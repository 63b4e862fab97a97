"""The matrix-calculus rules against SymPy's Matrix.jacobian of the entrywise equations."""

import numpy as np
import pytest
import sympy
from sympy import DiagMatrix, MatMul

import rnnanalysis as ra
from rnnanalysis.symbolic import CellSpec, derive, hadamard
from rnnanalysis.symbolic.expr import Apply

ACTIVATIONS = ["tanh", "sigmoid", "relu", "linear", "leaky_relu"]




@pytest.mark.parametrize("kind", ["elman", "lstm", "gru", "ln_elman"])
def test_builtin_cells_match_entrywise_jacobian_at_n_2_and_3(kind):
    assert derive(kind).verify(sizes=(2, 3), points=2) < 1e-25


def test_layer_norm_lstm_matches_entrywise_at_n_2():
    assert derive("ln_lstm").verify(sizes=(2,), points=1) < 1e-25


@pytest.mark.slow
def test_layer_norm_lstm_matches_entrywise_at_n_3():
    assert derive("ln_lstm").verify(sizes=(3,), points=2) < 1e-25


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_elman_every_activation_matches_entrywise(activation):
    assert derive("elman", activation).verify(sizes=(2, 3)) < 1e-25


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gated_cells_every_activation_match_entrywise(kind, activation):
    assert derive(kind, activation).verify(sizes=(2, 3)) < 1e-25


def test_user_defined_minimal_rnn_is_derived_and_verified(minimal_rnn):
    d = derive(minimal_rnn)
    assert d.verify(sizes=(2, 3)) < 1e-25
    # product rule of u ⊙ h: the identity path gives diag(u_t)
    assert any(t == DiagMatrix(d.spec.symbols["u"]) for t in d.jacobian.args)


def test_user_defined_layer_norm_elman_in_a_few_lines():
    """An Elman with layer norm written by a user: norm's Jacobian rule is checked entrywise."""
    from sympy import MatAdd

    from rnnanalysis.symbolic import normalize

    spec = CellSpec("my LN Elman")
    h, x = spec.state("h"), spec.input("x")
    W, U, b, g = spec.weight("W"), spec.weight("U", cols="m"), spec.bias("b"), spec.bias("g")
    phi = spec.activation("phi", "tanh")
    spec.update(h, phi(hadamard(g, normalize(MatAdd(W * h, U * x, b), eps=1e-3))))
    assert derive(spec).verify(sizes=(2, 3), points=1) < 1e-25


def test_verify_fails_on_a_wrong_jacobian():
    """The oracle can fail: the transpose (denominator layout) of the Elman Jacobian is rejected."""
    from rnnanalysis.symbolic.verify import verify_against_entrywise

    d = derive("elman")
    wrong = MatMul(d.spec.symbols["W_hh"].T, DiagMatrix(Apply("phi", d.spec.symbols["a"], 1)))
    with pytest.raises(AssertionError, match="differs from Matrix.jacobian"):
        verify_against_entrywise(d.spec, wrong, sizes=(2,), points=1)


def test_elman_jacobian_is_numerator_layout_transpose_of_sympy_diff():
    """SymPy's MatrixExpr.diff gives W^T diag(.) (denominator layout); ours is its transpose."""
    n = sympy.Symbol("n", integer=True, positive=True)
    W, h = sympy.MatrixSymbol("W", n, n), sympy.MatrixSymbol("h", n, 1)
    sympy_result = (W * h).applyfunc(sympy.tanh).diff(h)
    assert sympy_result.shape == (n, n)
    explicit = sympy_result.subs(n, 2).doit().as_explicit()
    d = derive("elman")
    ours = d.jacobian.subs(n, 2)
    # entry (0, 1): ours is tanh'(a_0) W_01, SymPy's is tanh'(a_1) W_10 (the transpose)
    assert "W[1, 0]" in str(explicit[0, 1]) and "W_hh[0, 1]" in str(ours.as_explicit()[0, 1])


def test_lstm_constant_error_carousel_block():
    d = ra.derive("lstm")
    f = d.spec.symbols["f"]
    assert d.block("c", "c") == DiagMatrix(f)
    assert d.jacobian.shape == (2 * d.spec.n, 2 * d.spec.n)


def test_gru_collects_update_gate_terms():
    d = derive("gru")
    h_prev, n_t = d.spec.prev_state("h"), d.spec.symbols["n"]
    heads = [t.args[0].args[0] for t in d.jacobian.args if isinstance(t, MatMul)]
    assert any(h == h_prev - n_t for h in heads)


def test_derive_accepts_a_cell_instance_and_its_activation():
    cell = ra.GRU(hidden=3, inputs=2, activation="relu", seed=0)
    d = ra.derive(cell)
    assert d.spec.name == "GRU" and d.spec.activations["phi"].name == "relu"


# -- bad input ---------------------------------------------------------------------------
def test_unknown_cell_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown cell 'transformer'.*expected one of"):
        ra.derive("transformer")


def test_activation_without_known_derivative_is_a_clear_error():
    act = ra.custom_activation(np.sin, np.cos, 1.0, name="mysin")
    with pytest.raises(ValueError, match=r"'mysin'.*no known derivative in SymPy"):
        ra.derive("elman", activation=act)
    cell = ra.Elman(hidden=2, inputs=1, activation=act, seed=0)
    with pytest.raises(ValueError, match="no known derivative"):
        ra.derive(cell)


def test_activation_given_twice_and_wrong_types_are_rejected():
    with pytest.raises(TypeError, match="activation"):
        ra.derive(ra.Elman(hidden=2, inputs=1, seed=0), activation="relu")
    with pytest.raises(TypeError, match="kind_or_cell"):
        ra.derive(42)
    with pytest.raises(ValueError, match="unknown activation"):
        ra.derive("elman", activation="swishy")


def test_spec_errors_name_the_problem():
    spec = CellSpec("bad")
    h = spec.state("h")
    W = spec.weight("W")
    stray = sympy.MatrixSymbol("V", spec.n, spec.n)
    with pytest.raises(ValueError, match=r"symbols \['V'\] not declared"):
        spec.define("a", stray * h)
    with pytest.raises(ValueError, match="declared twice"):
        spec.weight("W")
    with pytest.raises(ValueError, match="no update"):
        derive(spec)
    # the state inside a non-final factor (a quadratic form) is outside the rules
    spec.update(h, W * h + MatMul(h, h.T, h))
    with pytest.raises(ValueError, match="only linear maps"):
        derive(spec)
