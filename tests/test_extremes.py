"""Numerical extremes: single steps that change the gradient norm by more than the float range,
overflowing forward passes, degenerate fits. Never NaN: a finite exact number or a clear error."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.cli import main

T = 50


def _identity(gain, dtype=np.float64):
    return ra.Elman(4, 1, activation="linear", init="identity", gain=gain, dtype=dtype)


@pytest.mark.parametrize("gain", [1e200, 1e-200, 1e-160, 1e300, 1e-300])
def test_one_step_beyond_the_float_range_is_exact(gain):
    # J = gain * I exactly (zero inputs, zero state): log10 ||v^T J^(T-k)|| = (T-k) log10(gain)
    want = (T - np.arange(T + 1)) * np.log10(gain)
    got = ra.gradient_profile(_identity(gain), np.zeros((T, 2, 1))).log10_norms
    np.testing.assert_allclose(got, np.broadcast_to(want[:, None], got.shape), rtol=1e-12, atol=1e-12)
    sv = ra.jacobian_products(_identity(gain), np.zeros((T, 1, 1))).log10_singular_values
    np.testing.assert_allclose(sv[:, 0], np.broadcast_to(want[:, None], (T + 1, 4)), rtol=1e-12, atol=1e-12)


def test_float32_steps_beyond_its_range():
    got = ra.gradient_profile(_identity(1e20, np.float32), np.zeros((T, 1, 1))).log10_norms[:, 0]
    np.testing.assert_allclose(got, 20.0 * (T - np.arange(T + 1)), rtol=1e-6)


def test_huge_direction_is_normalised_without_overflow():
    cell = ra.Elman(4, 1, seed=0)
    xs = np.random.default_rng(0).normal(size=(20, 2, 1))
    big = ra.gradient_profile(cell, xs, direction=np.full(4, 1e300)).log10_norms
    np.testing.assert_allclose(big, ra.gradient_profile(cell, xs).log10_norms, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("checkpoint", [None, True])
def test_overflowing_forward_pass_is_a_clear_error(checkpoint):
    cell = ra.Elman(4, 1, activation="relu", init="identity", gain=5.0, seed=0)  # unseeded: all dead 1 in 16
    xs = np.ones((600, 2, 1))
    assert np.any(cell.params["weight_ih"] > 0)                # some unit is driven: 5^t growth
    with pytest.raises(ValueError, match="forward trajectory overflows"):
        ra.gradient_profile(cell, xs, checkpoint=checkpoint)
    with pytest.raises(ValueError, match="forward trajectory overflows"):
        ra.lyapunov_spectrum(cell, xs)


def test_cli_profile_of_an_overflowing_network_exits_2_with_one_line(capsys):
    code = main(["profile", "--init", "identity", "--activation", "relu", "--gain", "5", "--T", "2000"])
    out, err = capsys.readouterr()
    assert code == 2 and "nan" not in out.lower()
    assert err.count("\n") == 1 and "forward trajectory overflows" in err


def test_rate_needs_two_lags():
    prof = ra.gradient_profile(_identity(0.5), np.zeros((5, 1, 1)))
    assert np.isfinite(prof.rate_log10_per_step(skip=4)).all()
    for skip in (5, 6, -1):
        with pytest.raises(ValueError, match="skip"):
            prof.rate_log10_per_step(skip=skip)


def test_zero_jacobian_gives_exact_minus_inf_not_nan():
    cell = _identity(0.0)
    xs = np.zeros((200, 2, 1))
    spec = ra.lyapunov_spectrum(cell, xs)
    assert np.all(spec.exponents == -np.inf) and np.all(spec.standard_error == 0.0)
    check = ra.check_predictions(cell, xs)
    assert all(r.error_log10 == 0.0 for r in check.rows)
    assert "nan" not in check.to_text()
