"""ra.predict against random-matrix laws, orthogonal and Jordan-block oracles, and bad input."""

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

import rnnanalysis as ra
from rnnanalysis.predict.spectral import _top_singular_values


def exact_log10_power_norms(W, horizon):
    return np.array([np.log10(np.linalg.norm(np.linalg.matrix_power(W, k), 2)) for k in range(horizon + 1)])


def test_circular_law_and_bai_yin(rng):
    n, g = 400, 0.7
    W = rng.normal(0.0, g / np.sqrt(n), size=(n, n))
    p = ra.predict(W, horizon=3)
    assert p.spectral_radius == pytest.approx(g, rel=0.05)        # circular law: rho -> g
    assert p.sigma_max == pytest.approx(2 * g, rel=0.05)           # Bai-Yin: sigma_max -> 2g
    assert p.singular_values.shape == (n,) and p.complete
    assert np.all(np.diff(p.singular_values) <= 0)
    assert p.condition_number == pytest.approx(p.singular_values[0] / p.singular_values[-1])
    assert p.log10_rate_bound == pytest.approx(np.log10(p.sigma_max))
    # g < 1 but sigma_max ~ 2g > 1: the sufficient test fails; with zero input the state stays
    # at 0, every step's Jacobian is W and the rate is log10 rho exactly
    assert not p.vanishing_guaranteed and p.explosion_possible
    assert p.regime == "vanishing" and p.predictor == "fixed_point_rho" and p.zero_input
    assert p.log10_rate_estimate == np.log10(p.spectral_radius)


def test_scaled_orthogonal_is_exact(rng):
    g = 1.25
    W = ra.init.orthogonal((50, 50), rng, gain=g)
    p = ra.predict(W, activation="linear", horizon=30)
    np.testing.assert_allclose(p.singular_values, g, rtol=1e-12)
    assert p.spectral_radius == pytest.approx(g, rel=1e-12)
    assert p.condition_number == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(p.log10_power_norms, np.arange(31) * np.log10(g), atol=1e-10)
    assert p.regime == "exploding" and p.predictor == "fixed_point_rho"
    assert p.log10_rate_estimate == pytest.approx(np.log10(g))
    noisy = ra.predict(W, activation="linear", horizon=0, input_std=0.7)     # linear: inputs change nothing
    assert noisy.predictor == "fixed_point_rho" and noisy.log10_rate_estimate == p.log10_rate_estimate


def test_jordan_block_transient_growth():
    n, lam = 8, 0.9
    J = lam * np.eye(n) + np.diag(np.ones(n - 1), 1)
    p = ra.predict(J, activation="linear", horizon=120)
    exact = exact_log10_power_norms(J, 120)
    np.testing.assert_allclose(p.log10_power_norms, exact, atol=1e-9)
    assert p.transient_peak_lag == int(np.argmax(exact))
    assert p.spectral_radius == pytest.approx(lam, rel=1e-6)   # triangular: LAPACK reads it off the diagonal
    assert p.transient_log10_peak > 5                             # 10^6 growth the radius 0.9 does not show
    assert p.regime == "vanishing"


def test_power_norms_match_exact_for_a_random_nonnormal_matrix(rng):
    W = np.triu(rng.normal(size=(90, 90))) * 0.3
    p = ra.predict(W, activation="linear", horizon=25)
    np.testing.assert_allclose(p.log10_power_norms, exact_log10_power_norms(W, 25), atol=1e-8)


def test_nilpotent_powers_reach_minus_inf():
    N = np.diag(np.ones(3), 1)
    p = ra.predict(N, activation="linear", horizon=6)
    assert p.spectral_radius == 0.0 and p.log10_rate_linear == -np.inf
    np.testing.assert_allclose(p.log10_power_norms[:4], 0.0, atol=1e-12)
    assert np.all(p.log10_power_norms[4:] == -np.inf)


def test_pascanu_gamma_per_activation():
    W = 3.0 * np.eye(4)
    sig = ra.predict(W, activation="sigmoid")                 # gamma 1/4: 0.75 < 1
    assert sig.gamma == 0.25 and sig.vanishing_guaranteed and sig.predictor == "pascanu_bound"
    assert sig.log10_rate_bound == pytest.approx(np.log10(0.75))
    for name in ("tanh", "relu", "linear"):
        p = ra.predict(W, activation=name)
        assert p.gamma == 1.0 and p.explosion_possible and not p.vanishing_guaranteed
    assert ra.predict(W, activation="linear").regime == "exploding"


def test_sparse_path_matches_dense(rng):
    n = 400
    W = sp.random(n, n, density=0.03, random_state=np.random.default_rng(1), format="csr",
                  data_rvs=lambda k: rng.normal(size=k)) * (1.2 / np.sqrt(0.03 * n))
    ps = ra.predict(W, method="sparse", top=4, horizon=4)
    pd = ra.predict(W.toarray(), horizon=4)
    assert not ps.complete and np.isnan(ps.condition_number)
    assert ps.spectral_radius == pytest.approx(pd.spectral_radius, rel=1e-6)
    np.testing.assert_allclose(ps.singular_values, pd.singular_values[:4], rtol=1e-7)
    np.testing.assert_allclose(ps.log10_power_norms, pd.log10_power_norms, atol=1e-5)
    assert ps.regime == pd.regime


def test_cells(rng):
    elman = ra.Elman(12, 3, activation="relu", seed=1)
    p = ra.predict(elman)
    assert p.source == "elman weight_hh" and p.activation == "relu"
    assert p.sigma_max == pytest.approx(np.linalg.norm(elman.params["weight_hh"], 2))
    lstm = ra.LSTM(6, 2, seed=2)
    q = ra.predict(lstm)          # zero input: the network's fixed point, whose Jacobian the cell gives
    st = ra.stationary_statistics(lstm)
    assert st.deterministic and q.predictor == "fixed_point_rho"
    fixed = np.concatenate([st.means["h"], st.means["c"]])
    np.testing.assert_allclose(lstm.step(fixed[None], np.zeros((1, 2)))[0], fixed, atol=1e-9)
    J = lstm.jacobian(fixed[None], np.zeros((1, 2)))[0]
    assert "state Jacobian" in q.source and q.n == 12 and q.gamma == 1.0
    assert q.spectral_radius == pytest.approx(np.max(np.abs(np.linalg.eigvals(J))), rel=1e-8)
    assert q.log10_rate_estimate == pytest.approx(np.log10(q.spectral_radius), rel=1e-12)
    state, x = rng.normal(size=12), rng.normal(size=2)
    r = ra.predict(lstm, reference=(state, x))
    J = lstm.jacobian(state[None], x[None])[0]
    assert r.sigma_max == pytest.approx(np.linalg.norm(J, 2))
    assert ra.predict(ra.GRU(5, 2, seed=0)).n == 5


def test_large_cell_matrices_take_arpack_and_agree_with_lapack():
    """Above 128 a cell's spectral radius comes from ARPACK, above 256 only its top singular values;
    a radius the Monte-Carlo product leaves as a report only at ARPACK's looser tolerance in float32,
    a gated cell's singular values (never deciding) from float32 products."""
    elman = ra.Elman(200, 3, init="gaussian", gain=1.5, seed=0)
    p = ra.predict(elman, input_std=1.0)
    W = elman.params["weight_hh"]
    assert p.predictor in ("stochastic_linearisation", "drift_orbit")
    assert p.spectral_radius == pytest.approx(np.max(np.abs(np.linalg.eigvals(W))), rel=1e-5)
    assert p.complete and p.singular_values.shape == (200,)
    np.testing.assert_allclose(p.singular_values, np.linalg.svd(W, compute_uv=False), rtol=1e-12)
    lstm = ra.LSTM(140, 3, init="gaussian", gain=1.5, seed=0)                  # 280 x 280 Jacobian
    q, exact = ra.predict(lstm, input_std=1.0, top=4), ra.predict(lstm, input_std=1.0, method="dense")
    assert exact.complete and not q.complete and q.singular_values.shape == (4,)
    assert math.isnan(q.condition_number) and math.isfinite(exact.condition_number)
    np.testing.assert_allclose(q.singular_values, exact.singular_values[:4], rtol=1e-5)
    assert q.spectral_radius == pytest.approx(exact.spectral_radius, rel=1e-5)
    assert q.log10_rate_estimate == exact.log10_rate_estimate and q.regime == exact.regime


@pytest.mark.parametrize("cls", [ra.Elman, ra.LSTM])
def test_a_radius_that_decides_the_rate_takes_arpacks_tight_tolerance(cls):
    """An attracting fixed point without input noise: the rate is log10 rho of the Jacobian there
    (ARPACK above 128 states), which agrees with LAPACK's eigenvalues to 1e-9."""
    from rnnanalysis.predict.linearise import mean_jacobian
    cell = cls(200 if cls is ra.Elman else 100, 3, init="gaussian", gain=0.5, seed=1)
    p, st = ra.predict(cell), ra.stationary_statistics(cell)
    assert st.deterministic and p.regime == "vanishing"     # Elman: decided by the Pascanu bound
    assert p.predictor == ("pascanu_bound" if cls is ra.Elman else "fixed_point_rho")
    J = mean_jacobian(cell, st)
    exact = np.max(np.abs(np.linalg.eigvals(J)))
    assert p.log10_rate_estimate == pytest.approx(math.log10(exact), rel=1e-9)
    if cls is ra.LSTM:
        assert p.spectral_radius == pytest.approx(exact, rel=1e-9)



@pytest.mark.parametrize("cls", [ra.LSTM, ra.GRU])
@pytest.mark.parametrize("gain", [0.5, 1.5, 3.0])
def test_reported_spectra_of_gated_jacobians_from_float32_agree_with_lapack(cls, gain):
    """The float32 radius (ARPACK) and top singular values (PROPACK) of a gated cell's Jacobian
    against LAPACK's in float64: within 1e-5 and 5e-6 relative (4e-6 and 1e-6 seen)."""
    from rnnanalysis.predict.linearise import mean_jacobian
    from rnnanalysis.predict.spectral import _spectrum
    cell = cls(300 if cls is ra.GRU else 150, 3, init="gaussian", gain=gain, seed=1)
    J = mean_jacobian(cell, ra.stationary_statistics(cell, input_std=1.0))
    rho, sv, complete = _spectrum(J, "auto", 6, np.random.default_rng(0), True, ("radius", "singular"))
    assert not complete and sv.dtype == np.float64
    assert rho == pytest.approx(np.max(np.abs(np.linalg.eigvals(J))), rel=1e-5)
    np.testing.assert_allclose(sv, np.linalg.svd(J, compute_uv=False)[:6], rtol=5e-6)


def test_repeated_top_singular_values_are_found():
    """PROPACK returns wrong values for the identity without an error: the residual check falls back."""
    D = np.diag(np.r_[np.full(5, 2.0), np.linspace(0.1, 1.0, 295)])
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((300, 300)))[0]
    for A, top in ((np.eye(300), np.ones(6)), (Q @ D @ Q.T, np.r_[np.full(5, 2.0), 1.0])):
        np.testing.assert_allclose(_top_singular_values(A, 6, rng), top, rtol=1e-10)
        # float32 products (reported values): the same check, the float64 path where it fails
        np.testing.assert_allclose(_top_singular_values(A, 6, rng, A.astype(np.float32)), top, rtol=1e-5)
    p = ra.predict(sp.identity(300, format="csr") * 0.5, method="sparse", horizon=0)
    np.testing.assert_allclose(p.singular_values, 0.5, rtol=1e-12)

def test_the_transient_is_computed_by_default_for_a_bare_matrix_only(rng):
    W = rng.normal(size=(20, 20)) / np.sqrt(20)
    assert ra.predict(W).log10_power_norms.shape == (101,)
    cell = ra.Elman(20, 2, seed=0)
    assert ra.predict(cell).log10_power_norms.shape == (1,)
    norms = ra.predict(cell, horizon=3).log10_power_norms
    np.testing.assert_allclose(norms, exact_log10_power_norms(cell.params["weight_hh"], 3), atol=1e-9)


def test_result_is_json_safe():
    p = ra.predict(np.diag([0.5, 0.0]), activation="tanh", horizon=3)
    d = json.loads(json.dumps(p.to_dict()))
    assert d["condition_number"] == "inf" and d["regime"] == "vanishing"


@pytest.mark.parametrize("W, err, words", [
    (np.zeros((3, 4)), ValueError, "square"),
    (np.zeros((0, 0)), ValueError, "non-empty"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "NaN"),
    (np.array([[np.inf]]), ValueError, "NaN or infinite"),
    (np.eye(2, dtype=complex), TypeError, "complex"),
    (np.eye(3)[0], ValueError, "dimensions"),
    ("W", TypeError, "floating"),
])
def test_bad_matrices(W, err, words):
    with pytest.raises(err, match=words):
        ra.predict(W)


def test_bad_arguments():
    W = np.eye(3)
    with pytest.raises(ValueError, match="unknown activation 'tan'"):
        ra.predict(W, activation="tan")
    with pytest.raises(ValueError, match="method"):
        ra.predict(W, method="eig")
    with pytest.raises(ValueError, match="horizon"):
        ra.predict(W, horizon=-1)
    with pytest.raises(TypeError, match="complex"):
        ra.predict(sp.eye(5, dtype=complex, format="csr"))
    with pytest.raises(ValueError, match="activation: a cell uses its own"):
        ra.predict(ra.Elman(3, 1, seed=0), activation="relu")
    with pytest.raises(ValueError, match="reference"):
        ra.predict(ra.Elman(3, 1, seed=0), reference=(np.zeros(3), np.zeros(1)))
    with pytest.raises(ValueError, match="ensemble"):
        ra.predict(ra.Elman(3, 1, ensemble=2, seed=0))
    with pytest.raises(ValueError, match="reference x"):
        ra.predict(ra.LSTM(3, 2, seed=0), reference=(np.zeros(6), np.zeros(3)))


def test_mean_field_estimate_uses_weights_biases_and_inputs(rng):
    from rnnanalysis.predict import input_variance

    cell = ra.Elman(20, 3, activation="tanh", init="gaussian", gain=1.7, seed=4)
    xs = 0.8 * rng.standard_normal((30, 2, 3))
    v = input_variance(cell, xs)
    assert v == pytest.approx(np.mean((xs @ cell.params["weight_ih"].T) ** 2))
    p = ra.predict(cell, input_variance=v)
    W, b = cell.params["weight_hh"], cell.params["bias_ih"] + cell.params["bias_hh"]
    mf = ra.mean_field("tanh", np.linalg.norm(W) / np.sqrt(20), np.sqrt(np.mean(b ** 2)), input_variance=v)
    assert p.log10_rate_mean_field == pytest.approx(mf.log10_rate_per_step, rel=1e-12)
    assert p.predictor == "stochastic_linearisation" and not p.zero_input
    assert np.isnan(ra.predict(ra.LSTM(4, 3, seed=0)).log10_rate_mean_field)
