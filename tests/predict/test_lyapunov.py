"""Lyapunov spectrum: linear maps, volume (sum = mean log|det J|), the ln g law, chaos, bad input."""

import math

import numpy as np
import pytest

import rnnanalysis as ra


def linear_cell(A):
    n = A.shape[0]
    return ra.Elman.from_params({"weight_hh": A, "weight_ih": np.zeros((n, 1)), "bias_ih": np.zeros(n),
                                 "bias_hh": np.zeros(n)}, "linear")


def test_linear_map_exponents_are_log_abs_eigenvalues(rng):
    n = 6
    V = rng.normal(size=(n, n))
    eig = np.array([1.3, -0.9, 0.7, 0.5, -0.2, 0.05])
    A = V @ np.diag(eig) @ np.linalg.inv(V)                   # non-normal, real distinct eigenvalues
    ly = ra.lyapunov_spectrum(linear_cell(A), np.zeros((3000, 2, 1)), warmup=300)
    np.testing.assert_allclose(ly.exponents, np.broadcast_to(np.log(np.abs(eig)), (2, n)), atol=2e-3)
    assert ly.exponents.shape == (2, n) and ly.steps == 2700 and ly.warmup == 300
    top = ra.lyapunov_spectrum(linear_cell(A), np.zeros((3000, 1, 1)), k=2, warmup=300)
    np.testing.assert_allclose(top.exponents[0], np.log([1.3, 0.9]), atol=2e-3)


def test_scaled_orthogonal_map_is_exact(rng):
    c = 0.8
    Q = ra.init.orthogonal((10, 10), rng)
    ly = ra.lyapunov_spectrum(linear_cell(c * Q), np.zeros((40, 1, 1)), warmup=1)
    np.testing.assert_allclose(ly.exponents, math.log(c), atol=1e-13)


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
def test_sum_of_exponents_is_mean_log_volume(kind, rng):
    """sum_i lambda_i (T - warmup) = sum over the averaged steps of log|det J_t|, exactly."""
    cls = {"elman": ra.Elman, "lstm": ra.LSTM, "gru": ra.GRU}[kind]
    cell = cls(5, 2, init="gaussian", gain=1.5, seed=3)
    T, warmup = 60, 6
    xs = 0.5 * rng.standard_normal((T, 1, 2))
    ly = ra.lyapunov_spectrum(cell, xs, warmup=warmup)
    traj = ra.simulate(cell, xs)
    states = traj.states if traj.cells is None else np.concatenate([traj.states, traj.cells], axis=-1)
    logdet = [np.linalg.slogdet(cell.jacobian(states[t], xs[t]))[1] for t in range(T - warmup)]
    assert ly.exponents.sum() * (T - warmup) == pytest.approx(np.sum(logdet), rel=1e-8)
    assert np.all(np.diff(ly.exponents, axis=-1) <= 0)


def test_adaptive_schedule_equals_every_step(rng):
    cell = ra.Elman(24, 3, init="gaussian", gain=1.8, seed=5)
    xs = 0.3 * rng.standard_normal((400, 2, 3))
    every = ra.lyapunov_spectrum(cell, xs, reorth_every=1)
    adaptive = ra.lyapunov_spectrum(cell, xs)
    assert adaptive.orthonormalisations < every.orthonormalisations
    np.testing.assert_allclose(adaptive.exponents, every.exponents, atol=1e-10)
    one = ra.lyapunov_spectrum(cell, xs, k=1)
    np.testing.assert_allclose(one.exponents[:, 0], every.exponents[:, 0], atol=1e-2)


def test_k1_is_the_gradient_rate(rng):
    """The single renormalised adjoint vector grows like dh_T/dh_k over the lag."""
    cell = ra.Elman(30, 2, init="gaussian", gain=2.0, seed=1)
    xs = 0.2 * rng.standard_normal((600, 1, 2))
    ly = ra.lyapunov_spectrum(cell, xs, k=1, warmup=100)
    prof = ra.gradient_profile(cell, xs)
    measured = (prof.log10_norms[0, 0] - prof.log10_norms[500, 0]) / 500 * math.log(10)
    assert ly.lambda_max[0] == pytest.approx(measured, abs=5e-3)


@pytest.mark.parametrize("g", [0.5, 0.9])
def test_tanh_network_below_unit_gain_has_lambda_ln_g(g, rng):
    """h_{t+1} = W tanh(h_t) (the Elman pre-activation map) decays to 0: lambda_max = ln rho(W) ~ ln g."""
    n = 200
    cell = ra.Elman(n, 1, init="gaussian", gain=g, seed=11)
    ly = ra.lyapunov_spectrum(cell, np.zeros((1500, 1, 1)), h0=rng.normal(size=(1, n)), k=1, warmup=300)
    rho = ra.init.spectral_radius(cell.params["weight_hh"])
    assert ly.lambda_max[0] == pytest.approx(math.log(rho), abs=3e-3)
    assert ly.lambda_max[0] == pytest.approx(math.log(g), abs=0.1)
    assert ly.regime == "vanishing" and not ly.chaotic


def test_chaos_is_reported_as_exploding(rng):
    cell = ra.Elman(200, 1, init="gaussian", gain=2.5, seed=2)
    ly = ra.lyapunov_spectrum(cell, np.zeros((800, 1, 1)), h0=rng.normal(size=(1, 200)), k=3)
    assert ly.lambda_max[0] > 0.05 and ly.chaotic and ly.regime == "exploding"
    assert np.all(np.isfinite(ly.standard_error)) and np.all(ly.standard_error > 0)


def test_standard_error_covers_independent_runs():
    cell = ra.Elman(64, 2, init="gaussian", gain=2.0, seed=4)
    xs = 0.3 * np.random.default_rng(7).standard_normal((1000, 12, 2))
    ly = ra.lyapunov_spectrum(cell, xs, k=1)
    lam, se = ly.exponents[:, 0], ly.standard_error[:, 0]
    # spread over independent input sequences vs the typical standard error: same order
    assert 0.5 < lam.std(ddof=1) / np.median(se) < 2.0


def test_ensemble_members_match_single_cells(rng):
    cell = ra.GRU(4, 2, ensemble=2, seed=0)
    xs = rng.standard_normal((50, 3, 2))
    ly = ra.lyapunov_spectrum(cell, xs, k=2)
    assert ly.exponents.shape == (2, 3, 2)
    single = cell.with_params({k: v[1] for k, v in cell.params.items()})
    np.testing.assert_allclose(ly.exponents[1], ra.lyapunov_spectrum(single, xs, k=2).exponents, atol=1e-12)


def test_seeded_and_float32(rng):
    cell = ra.LSTM(6, 2, seed=0)
    xs = rng.standard_normal((80, 2, 2))
    a, b = ra.lyapunov_spectrum(cell, xs, seed=3), ra.lyapunov_spectrum(cell, xs, seed=3)
    np.testing.assert_array_equal(a.exponents, b.exponents)
    f32 = ra.lyapunov_spectrum(cell.astype(np.float32), xs.astype(np.float32), seed=3)
    np.testing.assert_allclose(f32.exponents, a.exponents, atol=1e-3)


def test_relu_dead_units_give_minus_inf():
    A = np.diag([0.5, -2.0])                                    # unit 2 is dead after one step from h0 > 0
    cell = ra.Elman.from_params({"weight_hh": A, "weight_ih": np.zeros((2, 1)), "bias_ih": np.zeros(2),
                                 "bias_hh": np.zeros(2)}, "relu")
    ly = ra.lyapunov_spectrum(cell, np.zeros((20, 1, 1)), h0=np.ones((1, 2)), warmup=2)
    assert ly.exponents[0, 0] == pytest.approx(math.log(0.5)) and ly.exponents[0, 1] == -np.inf


def test_bad_input():
    cell = ra.Elman(4, 1, seed=0)
    xs = np.zeros((10, 1, 1))
    with pytest.raises(ValueError, match="k: expected at most the state size S=4, got 5"):
        ra.lyapunov_spectrum(cell, xs, k=5)
    with pytest.raises(ValueError, match="k"):
        ra.lyapunov_spectrum(cell, xs, k=0)
    with pytest.raises(ValueError, match="warmup: expected fewer steps than the sequence length T=10"):
        ra.lyapunov_spectrum(cell, xs, warmup=10)
    with pytest.raises(ValueError, match="warmup"):
        ra.lyapunov_spectrum(cell, xs, warmup=-1)
    with pytest.raises(TypeError, match="warmup"):
        ra.lyapunov_spectrum(cell, xs, warmup=2.5)
    with pytest.raises(ValueError, match="reorth_every"):
        ra.lyapunov_spectrum(cell, xs, reorth_every=0)
    with pytest.raises(ValueError, match="xs: contains 1 NaN"):
        ra.lyapunov_spectrum(cell, np.where(np.arange(10)[:, None, None] == 3, np.nan, xs))
    with pytest.raises(TypeError, match="cell"):
        ra.lyapunov_spectrum(np.eye(4), xs)
