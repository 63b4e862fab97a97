"""The Monte-Carlo rate stops early once decided, without changing its answer beyond its standard error."""

import math

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.predict.linearise import random_product_rate


@pytest.fixture(scope="module")
def lstm():
    cell = ra.LSTM(64, 4, init="gaussian", gain=1.5, seed=0)
    return cell, ra.stationary_statistics(cell, input_std=1.0)


def test_a_stop_that_never_fires_changes_nothing_and_one_that_fires_gives_the_shorter_run(lstm):
    cell, st = lstm
    asked = []

    def never(rate, se, done):
        asked.append(done)
        return False

    assert random_product_rate(cell, st, seed=3, stop=never) == random_product_rate(cell, st, seed=3)
    assert asked == [50, 100, 150, 200, 250]
    assert random_product_rate(cell, st, seed=3, stop=lambda *a: True) == \
        random_product_rate(cell, st, seed=3, steps=50)


def monte_carlo_seed(k):
    """The seed predict(seed=np.random.default_rng(k)) gives its Monte-Carlo product (its first draw)."""
    return int(np.random.default_rng(k).integers(2 ** 63))


def test_predict_stops_once_decided_and_agrees_with_the_full_product(lstm):
    cell, st = lstm
    p = ra.predict(cell, input_std=1.0, seed=np.random.default_rng(7))
    runs = {k: random_product_rate(cell, st, steps=k, seed=monte_carlo_seed(7))
            for k in (100, 150, 200, 250, 300)}
    stopped = [k for k, r in runs.items() if r == (p.log10_rate_stochastic, p.log10_rate_stochastic_se)]
    assert stopped and stopped[0] < 300 and p.log10_rate_stochastic_se <= 1e-3
    full, se = random_product_rate(cell, st, steps=3000, seed=1)
    assert p.regime == "vanishing" and p.log10_rate_stochastic < -0.02
    assert p.log10_rate_stochastic == pytest.approx(full, abs=5 * math.hypot(p.log10_rate_stochastic_se, se))


def test_near_the_critical_band_predict_runs_every_step():
    cell = ra.Elman(64, 4, init="gaussian", gain=1.3, seed=0)      # predicted -0.0006 +- 0.0011
    st = ra.stationary_statistics(cell, input_std=0.3)
    p = ra.predict(cell, input_std=0.3, seed=np.random.default_rng(7))
    assert abs(p.log10_rate_stochastic) < 0.005                     # within a few standard errors
    assert (p.log10_rate_stochastic, p.log10_rate_stochastic_se) == \
        random_product_rate(cell, st, steps=300, seed=monte_carlo_seed(7))


def test_float32_products_move_the_rate_far_less_than_its_standard_error(lstm, monkeypatch):
    from rnnanalysis.predict import linearise
    cell, st = lstm
    monkeypatch.setattr(linearise, "_SINGLE_MIN_BYTES", 0)
    assert linearise._model(cell, st, "single")[4] == np.float32
    single = random_product_rate(cell, st, seed=3)
    monkeypatch.setattr(linearise, "_SINGLE_MIN_BYTES", math.inf)
    assert linearise._model(cell, st, "single")[4] == np.float64
    double = random_product_rate(cell, st, seed=3)
    assert single != double and abs(single[0] - double[0]) < 1e-3 * double[1]


def test_float32_products_fall_back_to_float64_where_float32_cannot_say(monkeypatch):
    """Weights beyond float32's comfortable range stay float64; a float32 product whose vectors
    underflow to zero (forced here) is rerun in float64, and renormalised every step where
    five steps leave float64's range too (a rate of -40 log10/step): that answer, not -inf."""
    from rnnanalysis.predict import linearise
    W = np.random.default_rng(0).standard_normal((32, 32)) / math.sqrt(32)
    st = ra.stationary_statistics(ra.Elman(32, 1, seed=0), input_std=1.0)
    monkeypatch.setattr(linearise, "_SINGLE_MIN_BYTES", 0)
    for scale in (1e-30, 1e30):
        assert linearise._dtype(scale * W, "single") == np.float64
    tiny = ((1e-40 * W), "tanh")
    monkeypatch.setattr(linearise, "_SINGLE_MIN_BYTES", math.inf)
    double = random_product_rate(tiny, st, seed=1, steps=60)
    monkeypatch.setattr(linearise, "_dtype", lambda W, mode: np.float32 if mode == "single" else np.float64)
    assert linearise._model(tiny, st, "single")[4] == np.float32
    assert random_product_rate(tiny, st, seed=1, steps=60) == double
    assert math.isfinite(double[0]) and double[0] < -38


@pytest.mark.parametrize("cls, act", [(ra.Elman, "tanh"), (ra.Elman, "relu"), (ra.LSTM, "tanh"),
                                      (ra.GRU, "tanh")])
@pytest.mark.parametrize("n", [12, 45])
def test_mean_jacobian_from_diagonal_blocks_is_the_cells_jacobian_at_its_fixed_point(cls, act, n):
    """O(n^2) scaled rows of W instead of a GEMM with the identity, 32 rows at a time (n = 45: two
    and three parts, the last partial; ReLU: rows that are zero): the cell's own Jacobian."""
    from rnnanalysis.predict import linearise
    from rnnanalysis.predict.linearise import mean_jacobian
    cell = cls(n, 3, activation=act, init="gaussian", gain=0.8, seed=2)
    rng = np.random.default_rng(0)
    cell = cell.with_params({k: v + (0.5 * rng.standard_normal(v.shape) if k.startswith("bias") else 0)
                             for k, v in cell.params.items()})
    st = ra.stationary_statistics(cell)                     # zero input: a deterministic fixed point
    assert st.deterministic
    state = np.concatenate([st.means["h"]] + ([st.means["c"]] if cls is ra.LSTM else []))
    J = cell.astype(np.float64).jacobian(state[None], np.zeros((1, 3)))[0]
    structured = mean_jacobian(cell, st)
    np.testing.assert_allclose(structured, J, rtol=1e-8, atol=1e-12)     # the fixed point's tolerance
    _, draw, vjp, S, _ = linearise._model(cell, st)                       # the GEMM with the identity
    gemm = vjp(draw(None, (1,)), np.eye(S))
    np.testing.assert_allclose(structured, gemm, rtol=1e-14, atol=1e-16)
    if act == "relu":
        assert np.sum(~structured.any(axis=1)) >= 2                       # units off at the fixed point


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_over_row_blocks_of_a_large_w_are_the_whole_product(dtype, monkeypatch):
    """Blocks of at most _GEMM_BYTES (here 8 rows' worth: 5 uneven blocks) summed = x @ W."""
    from rnnanalysis.predict import linearise
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((37, 16)).astype(dtype), rng.standard_normal((4, 37)).astype(dtype)
    monkeypatch.setattr(linearise, "_GEMM_BYTES", 8 * 16 * W.itemsize)
    got = linearise._blocked(W)(x)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, x.astype(np.float64) @ W.astype(np.float64),
                               rtol=1e-5 if dtype == np.float32 else 1e-13)
    monkeypatch.setattr(linearise, "_GEMM_BYTES", W.nbytes)           # one block: x @ W itself
    np.testing.assert_array_equal(linearise._blocked(W)(x), x @ W)


def test_box_muller_draws_are_standard_normal():
    """The Monte-Carlo product's Gaussians (float32 Box-Muller) against scipy's normal law."""
    from scipy import stats

    from rnnanalysis.predict.linearise import _standard_normal
    z = _standard_normal(np.random.default_rng(0), (101, 3, 331))      # an odd count
    assert z.shape == (101, 3, 331) and z.dtype == np.float32
    flat = z.astype(np.float64).ravel()
    assert stats.kstest(flat, "norm").pvalue > 0.01
    assert abs(flat.mean()) < 5 / math.sqrt(flat.size) and abs(flat.var() - 1) < 5 * math.sqrt(2 / flat.size)
    assert np.max(np.abs(flat)) <= math.sqrt(-2 * math.log(2.0 ** -24)) + 1e-6
    # pairs from one draw are independent: the two halves are uncorrelated
    half = flat.size // 2
    assert abs(np.corrcoef(flat[:half], flat[half:2 * half])[0, 1]) < 5 / math.sqrt(half)


def test_noisy_statistics_at_their_tolerance_agree_with_a_tight_solve(monkeypatch):
    """The noisy closure stops at a relative step of 1e-8 (fewer map evaluations where the means
    converge slowly, inputs of non-zero mean); the statistics agree with a 1e-12 solve to 1e-7
    (1.6e-8 seen)."""
    from rnnanalysis.predict import stationary
    xs = np.random.default_rng(0).standard_normal((400, 2, 4)) + 0.05
    for cls in (ra.Elman, ra.LSTM, ra.GRU):
        cell = cls(48, 4, init="gaussian", gain=1.5, seed=1)
        loose = ra.stationary_statistics(cell, inputs=xs, full_covariance=False)
        monkeypatch.setattr(stationary, "_NOISY_TOL", 1e-12)
        tight = ra.stationary_statistics(cell, inputs=xs, full_covariance=False)
        monkeypatch.undo()
        assert loose.converged and tight.converged and loose.iterations < tight.iterations
        for k in tight.means:
            scale = np.max(np.abs(tight.means[k])) + np.max(tight.variances[k])
            np.testing.assert_allclose(loose.means[k], tight.means[k], rtol=0, atol=1e-7 * scale)
            np.testing.assert_allclose(loose.variances[k], tight.variances[k], rtol=0, atol=1e-7 * scale)


@pytest.mark.parametrize("cls", [ra.Elman, ra.LSTM, ra.GRU])
def test_factors_formed_a_few_steps_at_a_time_give_the_same_rate(cls, monkeypatch):
    """The normals are drawn 50 steps at a time (the stream), their factors formed in parts that
    fit the cache: the same product, bit for bit, whatever the part."""
    from rnnanalysis.predict import linearise
    cell = cls(24, 3, init="gaussian", gain=1.4, seed=4)
    st = ra.stationary_statistics(cell, input_std=0.7)
    rates = []
    for elements in (1 << 18, 7 * 4 * cell.state_size, 1):     # whole blocks, 7 steps, 1 step
        monkeypatch.setattr(linearise, "_FACTOR_ELEMENTS", elements)
        rates.append(random_product_rate(cell, st, steps=120, seed=5))
    assert rates[0] == rates[1] == rates[2] and math.isfinite(rates[0][0])


def test_the_means_preconditioner_is_newtons_correction_for_a_linear_map():
    """A linear Elman cell's mean map is m -> W m + b exactly: the preconditioner is (I - W)^{-1}
    (finite differences exact up to rounding); an expanding map (rho = 1.2) gets none."""
    from rnnanalysis.predict import stationary
    rng = np.random.default_rng(0)
    n = 6
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    for gain, contracting in ((0.5, True), (1.2, False)):
        W = gain * Q
        step = stationary._elman_map(ra.activations.get_activation("linear"), W, W * W, np.ones(n),
                                     np.zeros(n), np.ones(n))
        x = np.concatenate([rng.standard_normal(n), np.ones(n)])
        g = np.concatenate(step(x[:n], x[n:], 1.0)[:2])
        g[n:] = x[n:]                                     # the means are the slow part
        P, evals = stationary._mean_preconditioner(step, n, W)(x, g)
        assert evals == 1 and (P is not None) == contracting
        if contracting:
            f = rng.standard_normal(2 * n)
            np.testing.assert_allclose(P(f)[:n], np.linalg.solve(np.eye(n) - W, f[:n]), rtol=1e-8)
            np.testing.assert_array_equal(P(f)[n:], f[n:])
    assert stationary._growth_per_step(0.7 * Q) == pytest.approx(0.7)


def test_preconditioned_means_agree_with_the_plain_solve_in_fewer_evaluations(monkeypatch):
    """Inputs of non-zero mean: the closure with its means preconditioned against the same
    closure without (Anderson alone, as before), to 1e-7 of the statistics' scale (their
    tolerance), in fewer map evaluations; zero-mean inputs without biases (means exactly 0)
    skip it: the same numbers bit for bit."""
    from rnnanalysis.predict import stationary
    xs = np.random.default_rng(0).standard_normal((400, 2, 4)) + 0.05
    for cls in (ra.Elman, ra.LSTM, ra.GRU):
        cell = cls(48, 4, init="gaussian", gain=1.5, seed=1)
        fast = ra.stationary_statistics(cell, inputs=xs, full_covariance=False)
        symmetric = ra.stationary_statistics(cell, input_std=1.0, full_covariance=False)
        monkeypatch.setattr(stationary, "_mean_preconditioner", lambda *a: None)
        plain = ra.stationary_statistics(cell, inputs=xs, full_covariance=False)
        again = stationary.stationary_statistics(cell, input_std=1.0, full_covariance=False)
        monkeypatch.undo()
        assert again.iterations == symmetric.iterations
        for k in again.means:
            np.testing.assert_array_equal(again.means[k], symmetric.means[k])
            np.testing.assert_array_equal(again.variances[k], symmetric.variances[k])
        assert fast.converged and plain.converged and fast.iterations < plain.iterations
        for k in plain.means:
            scale = np.max(np.abs(plain.means[k])) + np.max(plain.variances[k])
            np.testing.assert_allclose(fast.means[k], plain.means[k], rtol=0, atol=1e-7 * scale)
            np.testing.assert_allclose(fast.variances[k], plain.variances[k], rtol=0, atol=1e-7 * scale)


@pytest.mark.parametrize("warmup, steps", [(50, 300), (7, 53)])
def test_renormalising_every_few_steps_gives_the_rate_of_every_step(warmup, steps, monkeypatch):
    """The vectors renormalised every _RENORMALISE steps (and at the warm-up's and the product's
    end, here not multiples of it): the per-step product's rate and standard error to rounding."""
    from rnnanalysis.predict import linearise
    cell = ra.GRU(20, 3, init="gaussian", gain=1.3, seed=2)
    st = ra.stationary_statistics(cell, input_std=0.5)
    few = random_product_rate(cell, st, warmup=warmup, steps=steps, seed=4)
    monkeypatch.setattr(linearise, "_RENORMALISE", 1)
    every = random_product_rate(cell, st, warmup=warmup, steps=steps, seed=4)
    np.testing.assert_allclose(few, every, rtol=1e-12)


def test_a_rate_beyond_float32s_range_over_a_few_steps_is_rerun_in_float64(monkeypatch):
    """A gated cell whose gradients shrink ~10^-9 a step: 5 steps leave float32's range (the
    vectors become zero), the float64 rerun gives the rate, as every-step float64 does."""
    from rnnanalysis.predict import linearise
    cell = ra.LSTM(24, 2, init="gaussian", gain=1.0, seed=0)
    p = {k: np.array(v) for k, v in cell.params.items()}
    p["bias_hh"][24:48] = -25.0                        # forget gate ~1e-11: c forgets at once
    p["bias_hh"][72:] = -20.0                          # output gate ~2e-9
    cell = cell.with_params(p)
    st = ra.stationary_statistics(cell, input_std=1.0)
    monkeypatch.setattr(linearise, "_SINGLE_MIN_BYTES", 0)
    rate = random_product_rate(cell, st, seed=2, steps=100)
    monkeypatch.setattr(linearise, "_SINGLE_MIN_BYTES", math.inf)
    monkeypatch.setattr(linearise, "_RENORMALISE", 1)
    exact = random_product_rate(cell, st, seed=2, steps=100)
    assert math.isfinite(rate[0]) and rate[0] < -8
    np.testing.assert_allclose(rate, exact, rtol=1e-9)


def test_the_contraction_check_sees_a_dominant_direction_the_start_barely_holds():
    """A map with one eigenvalue 1.03 whose direction is ~0.06 of the start (1/sqrt(256)), the
    rest 0.5: the growth per step is 1.03 (a repelling fixed point: no preconditioner), not the
    0.97 the first steps' shrinking would suggest."""
    from rnnanalysis.predict import stationary
    n = 256
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((n, n)))[0]
    A = Q @ np.diag(np.r_[1.03, np.full(n - 1, 0.5)]) @ Q.T
    assert stationary._growth_per_step(A) == pytest.approx(1.03, rel=1e-3)


def test_the_drift_orbit_sharing_one_copy_of_the_weights_predicts_the_same_bit_for_bit(monkeypatch):
    """The drift orbit's forward calls share the cell's derived weights (``Cell.weights_fixed``):
    every field of the prediction is what per-call copies give, where the orbit decides (a GRU at
    gain 2.5, an LSTM at gain 2.5) and where it only settles (inputs of non-zero mean)."""
    import contextlib
    import dataclasses

    from rnnanalysis.cells import Cell
    xs = 0.5 + np.random.default_rng(0).standard_normal((200, 2, 3))
    cases = [(ra.GRU(64, 3, init="gaussian", gain=2.5, seed=3), {"input_std": 0.3}),
             (ra.LSTM(48, 3, init="gaussian", gain=2.5, seed=1), {"input_std": 0.1}),
             (ra.LSTM(48, 3, init="gaussian", gain=1.5, seed=0), {"inputs": xs})]
    shared = [ra.predict(cell, **given) for cell, given in cases]
    monkeypatch.setattr(Cell, "weights_fixed", lambda self: contextlib.nullcontext(self))
    for (cell, given), p in zip(cases, shared, strict=True):
        q = ra.predict(cell, **given)
        for name, value in dataclasses.asdict(p).items():
            assert np.array_equal(value, getattr(q, name), equal_nan=not isinstance(value, str)), name
    assert "drift_orbit" in {p.predictor for p in shared}


def test_scaled_and_float32_copies_in_reused_memory_predict_the_same_bit_for_bit(monkeypatch):
    """W^2 of the closure, the spectra's scaled Jacobian and its float32 copy, and the Monte-Carlo
    product's float32 W come from reused memory (``rnnanalysis._buffers.empty``): every field of
    two predictions in a row (the second one reusing the first one's blocks) is what fresh
    arrays give; max_abs and single_copy are max|W| and astype(float32)."""
    import dataclasses

    import scipy.sparse as sp

    from rnnanalysis.predict import linearise, spectral, stationary
    xs = 0.2 + np.random.default_rng(0).standard_normal((100, 2, 3))
    cases = [(ra.LSTM(192, 3, init="gaussian", gain=1.5, seed=0), {"inputs": xs}),
             (ra.GRU(160, 3, init="gaussian", gain=1.5, seed=0), {"input_std": 1.0})]
    pooled = [ra.predict(cell, **given) for cell, given in cases + cases]
    for module in (linearise, spectral, stationary):
        monkeypatch.setattr(module, "empty", np.empty)
    for (cell, given), p in zip(cases + cases, pooled, strict=True):
        q = ra.predict(cell, **given)
        for name, value in dataclasses.asdict(p).items():
            assert np.array_equal(value, getattr(q, name), equal_nan=not isinstance(value, str)), name
    W = np.random.default_rng(1).standard_normal((300, 200))
    W[3, 4] = -9.0
    assert linearise.max_abs(W) == 9.0 == linearise.max_abs(sp.csr_matrix(W))
    assert linearise.max_abs(np.zeros((0, 3))) == 0.0
    assert math.isnan(linearise.max_abs(np.array([1.0, np.nan])))
    assert np.array_equal(linearise.single_copy(W), W.astype(np.float32))
