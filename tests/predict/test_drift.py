"""The drift orbit (the cell at its inputs' mean): analytic period-2 rate, a neutral invariant circle
against a simulation with noisy inputs, and where it must stay out of the way."""

import math

import numpy as np
import pytest
from scipy import optimize

import rnnanalysis as ra
from rnnanalysis.predict import fit_log10_rate
from rnnanalysis.predict.drift import SMALL_KICK, drift_for, drift_orbit


def elman(W, inputs=2, seed=0):
    n = W.shape[0]
    cell = ra.Elman(n, inputs, seed=seed)
    return cell.with_params({"weight_ih": cell.params["weight_ih"], "weight_hh": W,
                             "bias_ih": np.zeros(n), "bias_hh": np.zeros(n)})


def measured(cell, std, T=1200, B=2, seed=1):
    xs = std * np.random.default_rng(seed).standard_normal((T, B, cell.inputs))
    return float(np.median(fit_log10_rate(ra.gradient_profile(cell, xs).log10_norms, T // 10)))


def test_a_period_two_orbit_decays_at_its_analytic_rate():
    """h -> tanh(-g h) flips every unit between +-x*, x* = tanh(g x*): each step's Jacobian is
    -g (1 - x*^2) I, so gradients decay at log10(g (1 - x*^2)) per step exactly; the closure
    takes the flipping activity for noise and misses it."""
    g, n = 1.2, 12
    x = optimize.brentq(lambda v: v - math.tanh(g * v), 0.1, 1.0)
    exact = math.log10(g * (1 - x * x))                        # -0.1678
    cell = elman(-g * np.eye(n))
    p = ra.predict(cell, input_std=0.01)
    assert p.predictor == "drift_orbit"
    assert p.log10_rate_estimate == pytest.approx(exact, abs=1e-9)
    assert p.log10_rate_drift == p.log10_rate_estimate
    assert abs(p.log10_rate_stochastic - exact) > 0.1                  # the closure: -0.011
    assert measured(cell, 0.01) == pytest.approx(exact, abs=1e-3)


def test_an_invariant_circle_keeps_a_neutral_direction():
    """W = g R(theta) on 2-unit blocks, g > 1: the origin is unstable and each block settles on an
    invariant circle turning by an irrational angle, along which gradients neither vanish nor
    explode (top exponent 0). With small input noise the simulation measures a rate inside the
    critical band, the drift orbit predicts it; the independent-steps closure does not."""
    g, theta, blocks = 1.3, 2 * math.pi * (math.sqrt(5) - 1) / 2 * 0.3, 6
    R = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    cell = elman(g * np.kron(np.eye(blocks), R))
    for std in (0.01, 0.3):
        p = ra.predict(cell, input_std=std)
        assert p.predictor == "drift_orbit" and p.regime == "critical"
        assert abs(p.log10_rate_estimate) < 2e-4
        assert p.log10_rate_stochastic < -0.01                      # the closure: vanishing
        assert abs(measured(cell, std) - p.log10_rate_estimate) < 2e-3  # 3e-6 and -0.0015
    assert ra.predict(cell).predictor == "fixed_point_rho"  # zero input from h = 0: stays at 0
    xs = 0.01 * np.random.default_rng(2).standard_normal((500, 4, 2))
    for described in ({"inputs": xs}, {"input_variance": 1e-4}):     # every description of inputs
        p = ra.predict(cell, **described)
        assert p.predictor == "drift_orbit" and abs(p.log10_rate_estimate) < 2e-4


def test_large_input_noise_leaves_the_closure_in_charge():
    """The period-2 network above driven by inputs of std 8: the noise, not the flip, sets the
    rate (measured -0.266; closure -0.246, orbit -0.168)."""
    cell = elman(-1.2 * np.eye(12))
    p = ra.predict(cell, input_std=8.0)
    assert p.predictor == "stochastic_linearisation" and math.isnan(p.log10_rate_drift)
    quiet = drift_orbit(cell, np.zeros(2), start=np.full(12, 0.5))        # no input noise
    assert quiet.decides and quiet.kick_ratio == 0
    loud = drift_for(cell, ra.stationary_statistics(cell, input_std=8.0), input_std=8.0)
    assert not loud.settled and loud.kick_ratio > SMALL_KICK and not loud.decides
    rate = measured(cell, 8.0)
    assert abs(p.log10_rate_estimate - rate) < abs(quiet.log10_rate - rate) / 3


def test_a_drift_that_settles_is_not_used():
    cell = elman(0.5 * np.eye(4))
    orbit = drift_orbit(cell, np.ones(2), start=np.ones(4))
    assert orbit.settled and not orbit.decides and math.isnan(orbit.log10_rate)
    assert ra.predict(cell, input_std=0.01).predictor != "drift_orbit"


def test_the_drift_rate_is_invariant_under_a_permutation_of_hidden_units():
    """Circles coupled by a little noise: permuted units give the same orbit (the nudge off zero
    is per unit), so the same rate up to the exponent's random start vector (~1e-6)."""
    g, theta = 1.3, 2 * math.pi * 0.185
    R = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    rng = np.random.default_rng(3)
    W = g * np.kron(np.eye(6), R) + 0.05 * rng.standard_normal((12, 12))
    cell, perm = elman(W), rng.permutation(12)
    p = cell.params
    permuted = cell.with_params({"weight_hh": p["weight_hh"][np.ix_(perm, perm)],
                                 "weight_ih": p["weight_ih"][perm], "bias_ih": p["bias_ih"][perm],
                                 "bias_hh": p["bias_hh"][perm]})
    a, b = (ra.predict(c, input_std=0.02) for c in (cell, permuted))
    assert a.predictor == b.predictor == "drift_orbit"
    assert a.log10_rate_drift == pytest.approx(b.log10_rate_drift, abs=1e-5)
