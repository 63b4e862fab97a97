"""The free-probability singular spectrum against the quarter-circle law and the measured products."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.predict.free_probability import singular_value_density
from rnnanalysis.predict.random_matrix import quarter_circle_density


def test_one_step_at_the_zero_state_is_the_quarter_circle_law():
    # zero input: the state stays at 0, phi'(0) = 1, so J = W and sigma follows the quarter circle
    cell = ra.Elman(50, 1, init="gaussian", gain=1.3, seed=0)
    g = np.sqrt(np.sum(cell.params["weight_hh"] ** 2) / 50)
    grid = np.log10(np.linspace(0.05, 1.95, 40) * g)
    s = singular_value_density(cell, [1], log10_sigma=grid)
    sigma = 10 ** s.log10_sigma[0]
    expected = quarter_circle_density(sigma, g) * sigma * np.log(10)      # density of log10 sigma
    assert s.converged.all() and s.sigma_w == pytest.approx(g)
    np.testing.assert_allclose(s.density[0], expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("gain, std", [(1.0, 0.0), (2.0, 0.5)])
def test_quantiles_match_the_measured_tied_product(gain, std, rng):
    n, T = 160, 30
    cell = ra.Elman(n, 4, init="gaussian", gain=gain, seed=3)
    s = singular_value_density(cell, [1, 5], input_std=std, points=100)
    logs = ra.jacobian_products(cell, std * rng.standard_normal((T, 2, 4))).log10_singular_values
    for k, L in enumerate((1, 5)):
        g, d = s.log10_sigma[k], s.density[k]
        upper = np.cumsum(d[::-1] * np.gradient(g)[::-1])[::-1]           # P(log10 sigma > g)
        measured = logs[T - L].ravel()
        for p, tol in ((0.5, 0.3), (0.9, 0.15)):       # decades; the theory is for untied, n -> inf
            predicted = g[np.searchsorted(-upper, -(1 - p))]
            assert predicted == pytest.approx(np.quantile(measured, p), abs=tol), (L, p)


def test_bad_input():
    with pytest.raises(ValueError, match="cell: the free-probability spectrum is for Elman"):
        singular_value_density(ra.LSTM(4, 1, seed=0), [1])
    with pytest.raises(ValueError, match="lags"):
        singular_value_density(ra.Elman(4, 1, seed=0), [0])
    with pytest.raises(ValueError, match="cell: every step's Jacobian is zero"):
        singular_value_density(ra.Elman(4, 1, activation="relu", init="gaussian", seed=0), [1])
