"""Spectra of tiny and huge matrices, and ARPACK on zero and defective matrices (regressions)."""

import time

import numpy as np
import pytest
import scipy.sparse as sp

import rnnanalysis as ra


@pytest.mark.parametrize("scale", [1e-200, 1e-160, 1e154, 1e200])
def test_spectrum_is_invariant_under_scaling(scale, rng):
    W = rng.normal(size=(12, 12)) / np.sqrt(12)
    ref = ra.predict(W, horizon=4)
    p = ra.predict(W * scale, horizon=4)
    assert p.spectral_radius == pytest.approx(ref.spectral_radius * scale, rel=1e-12)
    np.testing.assert_allclose(p.singular_values, ref.singular_values * scale, rtol=1e-12)
    assert p.spectral_radius <= p.sigma_max * (1 + 1e-12)
    shifted = ref.log10_power_norms[1:] + np.arange(1, 5) * np.log10(scale)
    np.testing.assert_allclose(p.log10_power_norms[1:], shifted, rtol=1e-12)


def test_lstm_with_huge_weights_reports_its_true_radius():
    cell = ra.LSTM(8, 2, init="gaussian", gain=1e200, seed=0)
    p = ra.predict(cell, horizon=0)
    J = cell.jacobian(np.zeros((1, 16)), np.zeros((1, 2)))[0]
    rho = np.max(np.abs(np.linalg.eigvals(J / 1e200))) * 1e200
    assert p.spectral_radius == pytest.approx(rho, rel=1e-10) and p.spectral_radius > 1e199
    assert np.isfinite(p.log10_rate_estimate)


def test_zero_matrix_on_the_arpack_path():
    p = ra.predict(np.zeros((3001, 3001)), horizon=2)
    assert p.spectral_radius == 0.0 and p.sigma_max == 0.0 and p.regime == "vanishing"
    q = ra.predict(sp.csr_matrix((500, 500)), method="sparse", horizon=2)
    assert q.spectral_radius == 0.0 and q.log10_rate_linear == -np.inf


def test_defective_matrix_on_the_arpack_path_fails_fast_and_says_why():
    n = 3001
    J = sp.diags([np.full(n, 0.9), np.ones(n - 1)], [0, 1], format="csr")     # a Jordan block
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="W: ARPACK .* Jordan block.*method='dense'"):
        ra.predict(J, method="sparse", horizon=2)
    assert time.perf_counter() - t0 < 60


@pytest.mark.parametrize("cell", [ra.BatchNormRNN("elman", 3, 2, seed=0),
                                  ra.BatchNormRNN("lstm", 3, 2, seed=0),
                                  ra.Stack([ra.Elman(3, 2, seed=0), ra.Elman(3, 3, seed=1)])])
def test_cells_without_a_closure_are_refused_by_name(cell):
    # a KeyError ('bias_ih', 'weight_ih') escaped from reading the parameters before
    with pytest.raises(ValueError, match="^cell: mean-field statistics"):
        ra.stationary_statistics(cell, input_std=1.0)
    if cell.kind != "stack":                   # a Stack gets the Jacobian at zero instead
        with pytest.raises(ValueError, match="^W_or_cell: no prediction for BatchNormRNN"):
            ra.predict(cell, input_std=1.0)


@pytest.mark.filterwarnings("error")   # no overflow warning from inside NumPy either
def test_an_input_variance_near_the_float_limit_is_predicted_not_refused():
    # the drive variance averaged over units overflowed, and meanfield's own argument check
    # then refused it: 'input_variance: expected a finite number >= 0, got inf'
    cell = ra.Elman(4, 2, seed=0, gain=1.5, init="orthogonal")
    p = ra.predict(cell, input_variance=1e308)
    assert p.regime == "vanishing" and p.log10_rate_estimate < -1      # tanh saturated by the noise
    assert np.isnan(p.log10_rate_mean_field)
