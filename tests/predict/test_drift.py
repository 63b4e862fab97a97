"""The drift orbit (the cell at its inputs' mean): analytic period-2 rate, a neutral invariant circle
and its noise-induced phase contraction against simulations with noisy inputs, where it must stay
out of the way, and its argument checks."""

import dataclasses
import math

import numpy as np
import pytest
from scipy import optimize

import rnnanalysis as ra
from rnnanalysis.predict import fit_log10_rate
from rnnanalysis.predict.drift import COHERENT_KICK, FEW_DIMENSIONS, SMALL_KICK, drift_for, drift_orbit
from rnnanalysis.predict.drift import _participation_ratio as participation_ratio


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
    quiet = drift_orbit(cell, np.zeros(2), start=np.full(n, 0.5))              # no input noise
    assert quiet.decides and quiet.log10_rate == pytest.approx(exact, abs=1e-9)
    p = ra.predict(cell, input_std=0.01)            # noise shifts it at second order: ~1e-5
    assert p.predictor == "drift_orbit"
    assert p.log10_rate_estimate == pytest.approx(exact, abs=1e-4)
    assert p.log10_rate_drift == p.log10_rate_estimate
    assert abs(p.log10_rate_stochastic - exact) > 0.1                  # the closure: -0.011
    assert measured(cell, 0.01) == pytest.approx(exact, abs=1e-3)


def circle_network():
    """W = g R(theta) on 2-unit blocks, g > 1: the origin is unstable and each block settles on an
    invariant circle turning by an irrational angle."""
    g, theta, blocks = 1.3, 2 * math.pi * (math.sqrt(5) - 1) / 2 * 0.3, 6
    R = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return elman(g * np.kron(np.eye(blocks), R))


def test_an_invariant_circle_keeps_a_neutral_direction():
    """Along the invariant circle gradients neither vanish nor explode (top exponent 0): with
    small input noise the simulation measures a rate inside the critical band, the drift orbit
    predicts it; the independent-steps closure does not."""
    cell = circle_network()
    quiet = drift_orbit(cell, np.zeros(2), start=np.full(12, 0.1))
    assert quiet.decides and abs(quiet.log10_rate) < 2e-4
    p = ra.predict(cell, input_std=0.01)
    assert p.predictor == "drift_orbit" and p.regime == "critical"
    assert abs(p.log10_rate_estimate) < 2e-4
    assert p.log10_rate_stochastic < -0.01                          # the closure: vanishing
    assert abs(measured(cell, 0.01) - p.log10_rate_estimate) < 2e-3
    assert ra.predict(cell).predictor == "fixed_point_rho"  # zero input from h = 0: stays at 0
    xs = 0.01 * np.random.default_rng(2).standard_normal((500, 4, 2))
    for described in ({"inputs": xs}, {"input_variance": 1e-4}):     # every description of inputs
        p = ra.predict(cell, **described)
        assert p.predictor == "drift_orbit" and abs(p.log10_rate_estimate) < 2e-4


def test_input_noise_contracts_the_circle_as_a_long_simulation_measures():
    """Common input noise contracts the oscillation's phase at second order in its amplitude
    (noise-induced phase synchronisation): the drift orbit's exponent under the inputs' noise
    against the gradient rate of a long simulation (T = 4000, 8 sequences: -0.00061 +- 0.00016
    at std 0.3, -0.0036 +- 0.0003 at std 0.6, vanishing); the noise-free orbit says 0."""
    cell = circle_network()
    for std, edge in ((0.3, 0.0), (0.6, 0.002)):
        p = ra.predict(cell, input_std=std)
        assert p.predictor == "drift_orbit"
        long_run = measured(cell, std, T=4000, B=8, seed=1)
        assert p.log10_rate_estimate == pytest.approx(long_run, abs=6e-4)
        assert p.log10_rate_estimate < -edge
    assert ra.predict(cell, input_std=0.6).regime == "vanishing"


def test_large_input_noise_leaves_the_closure_in_charge():
    """The period-2 network above driven by inputs of std 8: the noise, not the flip, sets the
    rate (measured -0.266; closure -0.246, orbit -0.168)."""
    cell = elman(-1.2 * np.eye(12))
    p = ra.predict(cell, input_std=8.0)
    assert p.predictor == "stochastic_linearisation" and math.isnan(p.log10_rate_drift)
    quiet = drift_orbit(cell, np.zeros(2), start=np.full(12, 0.5))        # no input noise
    assert quiet.decides and quiet.kick_ratio == 0
    loud = drift_for(cell, ra.stationary_statistics(cell, input_std=8.0), input_std=8.0)
    assert not loud.settled and loud.dimension < FEW_DIMENSIONS
    assert loud.kick_ratio > COHERENT_KICK and not loud.decides
    rate = measured(cell, 8.0)
    assert abs(p.log10_rate_estimate - rate) < abs(quiet.log10_rate - rate) / 3


def test_the_orbit_dimension_is_its_participation_ratio():
    """A period-2 cycle spans 1 dimension, an invariant circle 2, a fixed point 0; on any states
    the ratio equals (sum of the covariance's eigenvalues)^2 / (sum of their squares)."""
    flip = drift_orbit(elman(-1.2 * np.eye(12)), np.zeros(2), start=np.full(12, 0.5))
    assert flip.dimension == pytest.approx(1.0, abs=1e-9)
    circle = drift_orbit(circle_network(), np.zeros(2), start=np.full(12, 0.1))
    assert circle.dimension == pytest.approx(2.0, abs=0.02)
    assert drift_orbit(elman(0.5 * np.eye(4)), np.ones(2), start=np.ones(4)).dimension == 0.0
    states = np.random.default_rng(0).standard_normal((100, 7)) * np.array([5, 3, 1, 1, 0.5, 0.1, 0])
    lam = np.linalg.eigvalsh(np.cov(states.T))
    assert participation_ratio(1e200 * states) == pytest.approx(lam.sum() ** 2 / np.sum(lam ** 2), rel=1e-10)
    assert participation_ratio(np.ones((5, 3))) == 0.0


def test_a_coherent_orbit_decides_up_to_a_kick_ratio_of_one():
    """Between SMALL_KICK and COHERENT_KICK the invariant circle (2 dimensions) keeps its phase for
    ~1 / kick ratio steps: its noisy chains, not the closure's independent draws, match a long
    simulation (input std 1.5: kick ratio 0.14; chains -0.036, closure -0.065, simulated
    -0.034). A chaotic orbit of many dimensions at a similar kick ratio stays with the closure
    (its mean-field regime), whose rate is then the prediction exactly. An oscillating GRU between
    the two ratios: critical, as simulated; the closure says vanishing."""
    cell = circle_network()
    p = ra.predict(cell, input_std=1.5)
    orbit = drift_for(cell, ra.stationary_statistics(cell, input_std=1.5), input_std=1.5)
    assert SMALL_KICK < orbit.kick_ratio < COHERENT_KICK and orbit.dimension < FEW_DIMENSIONS
    assert p.predictor == "drift_orbit" and p.log10_rate_estimate == p.log10_rate_drift == orbit.log10_rate
    long_run = measured(cell, 1.5, T=4000, B=8, seed=1)
    assert p.log10_rate_estimate == pytest.approx(long_run, abs=2.5e-3)
    assert abs(p.log10_rate_stochastic - long_run) > 0.02
    gru = ra.GRU(64, 3, init="gaussian", gain=2.5, seed=3)     # kick ratio 0.35 on 2.4 dimensions
    p = ra.predict(gru, input_std=0.3)              # chains -0.0008, simulated -0.0001, closure -0.0064
    assert p.predictor == "drift_orbit" and p.regime == "critical" and p.log10_rate_stochastic < -0.004
    assert p.log10_rate_estimate == pytest.approx(measured(gru, 0.3, T=4000, B=8, seed=1), abs=1.5e-3)
    chaotic = ra.Elman(64, 2, init="gaussian", gain=2.5, seed=1)
    q = ra.predict(chaotic, input_std=1.0)
    orbit = drift_for(chaotic, ra.stationary_statistics(chaotic, input_std=1.0), input_std=1.0)
    assert SMALL_KICK < orbit.kick_ratio < COHERENT_KICK and orbit.dimension > FEW_DIMENSIONS
    assert not orbit.decides and q.predictor == "stochastic_linearisation"
    assert q.log10_rate_estimate == q.log10_rate_stochastic and math.isnan(q.log10_rate_drift)


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


def test_drift_orbit_checks_its_arguments():
    cell = elman(0.5 * np.eye(4))
    for kwargs, match in (({"x_mean": np.zeros(3)}, "x_mean: expected shape \\(2,\\)"),
                          ({"x_mean": [0.0, np.nan]}, "x_mean: contains 1 NaN"),
                          ({"x_mean": "ab"}, "x_mean"),
                          ({"start": np.zeros(5)}, "start: expected shape \\(4,\\)"),
                          ({"start": np.full(4, np.inf)}, "start: contains 4"),
                          ({"drive_factor": np.ones((3, 2))}, "drive_factor: expected shape \\(4, r\\)"),
                          ({"drive_factor": np.ones(4)}, "drive_factor: expected 2 dimensions")):
        args = {"x_mean": np.zeros(2), **kwargs}
        with pytest.raises((ValueError, TypeError), match=match):
            drift_orbit(cell, **args)
    with pytest.raises(TypeError, match="cell: expected an rnnanalysis cell"):
        drift_orbit(np.eye(4), np.zeros(2))
    with pytest.raises(ValueError, match="cell: expected a single network"):
        drift_orbit(ra.Elman(4, 2, ensemble=2, seed=0), np.zeros(2))
    relu = ra.Elman(4, 2, activation="relu", seed=0)       # growing without bound: no decision
    relu = relu.with_params({**relu.params, "weight_hh": 3.0 * np.eye(4)})
    grown = drift_orbit(relu, np.ones(2) * 1e3, start=np.ones(4))
    assert not grown.decides and grown.kick_ratio == math.inf


def test_the_drift_path_kept_by_the_closure_is_the_one_drift_for_would_run():
    """Gated cells' closure runs the drift from the nudged zero state (to pick its branch) and
    keeps it; drift_for reuses it instead of running the same steps again: the same orbit."""
    for seed, std in ((2, 0.3), (3, 2.0)):               # the orbit decides; it does not
        cell = ra.GRU(64, 3, init="gaussian", gain=2.5, seed=seed)
        stats = ra.stationary_statistics(cell, input_std=std)
        assert stats._drift is not None and not stats._drift[1]
        kept = drift_for(cell, stats, input_std=std)
        again = drift_for(cell, dataclasses.replace(stats, _drift=None), input_std=std)
        assert kept.kick_ratio == pytest.approx(again.kick_ratio, rel=1e-6)
        assert kept.decides == again.decides == (seed == 2)
        if kept.decides:
            assert kept.log10_rate == pytest.approx(again.log10_rate, abs=1e-6)
