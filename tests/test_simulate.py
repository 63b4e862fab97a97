"""The simulator against analytic cases: exact growth over thousands of steps, product order."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis import init


def linear_cell(w, inputs=1):
    n = w.shape[0]
    return ra.Elman.from_params({"weight_ih": np.zeros((n, inputs)), "weight_hh": w,
                                 "bias_ih": np.zeros(n), "bias_hh": np.zeros(n)}, "linear")


@pytest.mark.parametrize("g,T", [(1.2, 5000), (0.8, 5000), (1.0, 300)])
def test_orthogonal_linear_rnn_is_exact_in_log_space(g, T, rng):
    # W = g Q: ||v^T W^(T-k)|| = g^(T-k) exactly; 1.2^5000 = 10^395.9 and 0.8^5000 = 10^-484.6
    q = init.orthogonal((16, 16), rng)
    prof = ra.gradient_profile(linear_cell(g * q), np.zeros((T, 3, 1)), direction=rng.normal(size=(3, 16)))
    lag = np.arange(T, -1, -1.0)[:, None]
    exact = lag * np.log10(g)
    assert np.all(np.isfinite(prof.log10_norms))
    np.testing.assert_allclose(prof.log10_norms, np.broadcast_to(exact, (T + 1, 3)), rtol=1e-12, atol=1e-9)
    assert prof.rate_log10_per_step().round(12).tolist() == [round(np.log10(g), 12)] * 3


@pytest.mark.parametrize("c", [3.0, -0.5, 1e-40, 1e40])
def test_scaled_identity_gives_abs_c_to_the_lag(c):
    # W = c I: the gradient norm is exactly |c|^(T-k), even when c^k leaves float range each step
    T = 400
    prof = ra.gradient_profile(linear_cell(c * np.eye(5)), np.zeros((T, 1, 1)))
    np.testing.assert_allclose(prof.log10_norms[:, 0], np.arange(T, -1, -1) * np.log10(abs(c)),
                               rtol=1e-12, atol=1e-9)


def test_dead_relu_gives_exact_zero_gradient():
    cell = ra.Elman.from_params({"weight_ih": np.ones((3, 1)), "weight_hh": np.eye(3),
                                 "bias_ih": -np.ones(3), "bias_hh": np.zeros(3)}, "relu")
    prof = ra.gradient_profile(cell, np.zeros((10, 1, 1)))
    assert abs(prof.log10_norms[10, 0]) < 1e-15 and np.all(prof.log10_norms[:10, 0] == -np.inf)
    assert prof.rate_log10_per_step().tolist() == [-np.inf]         # not NaN: the gradient died


def explicit_products(cell, xs):
    """J_T ... J_{k+1} for every k from per-step Jacobians, multiplied in the right order."""
    h = ra.simulate(cell, xs).states
    S = cell.state_size
    states = h if cell.state_size == cell.hidden else np.concatenate([h, ra.simulate(cell, xs).cells], -1)
    Js = [cell.jacobian(states[t - 1], xs[t - 1]) for t in range(1, len(xs) + 1)]
    prods = [np.broadcast_to(np.eye(S), Js[0].shape)]
    for J in reversed(Js):                      # P_{k-1} = P_k J_k
        prods.append(prods[-1] @ J)
    return Js, prods[::-1]                       # index k: d s_T / d s_k


@pytest.mark.parametrize("cls", [ra.Elman, ra.LSTM, ra.GRU])
def test_jacobian_products_match_explicit_products(cls, rng):
    cell = cls(3, 2, seed=0, init="gaussian", gain=1.5)
    xs = rng.normal(size=(7, 2, 2))
    _, prods = explicit_products(cell, xs)
    jp = ra.jacobian_products(cell, xs)
    sv = np.log10(np.linalg.svd(np.stack(prods), compute_uv=False))
    resolved = sv > sv[..., :1] - 8              # documented resolution: ~15 decades below the top
    np.testing.assert_allclose(jp.log10_singular_values[resolved], sv[resolved], rtol=1e-10, atol=1e-10)
    v = rng.normal(size=(2, 3))
    prof = ra.gradient_profile(cell, xs, direction=v)
    vs = v / np.linalg.norm(v, axis=1, keepdims=True)
    explicit = np.log10(np.linalg.norm(np.einsum("bi,kbij->kbj", vs, np.stack(prods)[..., :3, :]), axis=-1))
    np.testing.assert_allclose(prof.log10_norms, explicit, rtol=1e-11, atol=1e-11)


def test_product_order_regression(rng):
    # grad of v.h_T w.r.t. h_0 is v^T J_T ... J_1, not v^T J_1 ... J_T (non-commuting J's).
    cell = ra.Elman(4, 2, seed=1, init="gaussian", gain=2.0)
    xs = 2 * rng.normal(size=(3, 1, 2))
    Js, prods = explicit_products(cell, xs)
    v = rng.normal(size=(1, 4))
    got = ra.bptt(cell, xs, v).grad_h0
    right = v @ Js[2][0] @ Js[1][0] @ Js[0][0]
    wrong = v @ Js[0][0] @ Js[1][0] @ Js[2][0]
    np.testing.assert_allclose(got, right, rtol=1e-12)
    assert np.linalg.norm(right - wrong) > 0.1 * np.linalg.norm(right)


def test_checkpointed_profile_equals_stored(rng):
    cell = ra.GRU(6, 2, seed=3)
    xs = rng.normal(size=(101, 2, 2))
    full = ra.gradient_profile(cell, xs).log10_norms
    for ck in (1, 7, True):
        np.testing.assert_allclose(ra.gradient_profile(cell, xs, checkpoint=ck).log10_norms, full,
                                   rtol=1e-12, atol=1e-12)


def test_profile_agrees_with_bptt_where_both_are_finite(rng):
    cell = ra.LSTM(5, 2, seed=4)
    xs = rng.normal(size=(30, 3, 2))
    v = rng.normal(size=(3, 5))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    adj = ra.bptt(cell, xs, v).adjoints
    np.testing.assert_allclose(ra.gradient_profile(cell, xs, direction=v).log10_norms,
                               np.log10(np.linalg.norm(adj, axis=-1)), rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_million_steps_with_checkpointing():
    cell = ra.Elman(8, 1, seed=0, init="orthogonal", gain=1.0, activation="linear")
    prof = ra.gradient_profile(cell, np.zeros((1_000_000, 1, 1)), checkpoint=True)
    np.testing.assert_allclose(prof.log10_norms, 0.0, atol=1e-8)


def test_rate_of_an_ensemble_profile_fits_over_time_not_members(rng):
    cell = ra.Elman(6, 1, ensemble=3, init="gaussian", gain=0.7, seed=0)
    prof = ra.gradient_profile(cell, rng.normal(size=(40, 2, 1)))
    rates = prof.rate_log10_per_step()
    assert rates.shape == (3, 2)
    lag = np.arange(40, -1, -1.0)                    # log10_norms[e, k] sits at lag T - k
    for e in range(3):
        for b in range(2):
            assert rates[e, b] == pytest.approx(np.polyfit(lag, prof.log10_norms[e, :, b], 1)[0], rel=1e-10)


@pytest.mark.parametrize("group_bytes", [1, 3 * 4 * 11 * 2 * 6 * 8])   # one, then three members per group
def test_ensemble_sweeps_in_member_groups_equal_one_call(group_bytes, monkeypatch, rng):
    import importlib

    sim = importlib.import_module("rnnanalysis.simulate")  # the module (ra.simulate is the function)
    cell = ra.LSTM(3, 2, ensemble=5, seed=0)
    xs = rng.normal(size=(5, 10, 2, 2))                     # per-member inputs
    whole = ra.gradient_profile(cell, xs).log10_norms, ra.jacobian_products(cell, xs).log10_singular_values
    monkeypatch.setattr(sim, "GROUP_BYTES", group_bytes)
    grouped = ra.gradient_profile(cell, xs).log10_norms, ra.jacobian_products(cell, xs).log10_singular_values
    for a, b in zip(whole, grouped, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls, at, checkpoint", [(ra.Elman, "last", None), (ra.LSTM, "every", None),
                                                 (ra.GRU, "last", 3), (ra.LSTM, "last", "trajectory"),
                                                 (ra.GRU, "every", "trajectory")])
def test_bptt_of_a_batch_in_two_halves_equals_one_pass(cls, at, checkpoint, monkeypatch, rng):
    # from SPLIT_FLOPS on, bptt runs the two halves of the batch (on two threads when the time
    # loops are compiled): the gradient of a sum over samples is the sum of the halves' gradients
    import importlib

    sim = importlib.import_module("rnnanalysis.simulate")
    cell = cls(4, 3, seed=0, gain=1.3)
    T, B = 9, 5
    xs, h0 = rng.normal(size=(T, B, 3)), rng.normal(size=(B, 4))
    gh = rng.normal(size=(B, 4) if at == "last" else (T, B, 4))
    kw = ({"trajectory": ra.simulate(cell, xs, h0)} if checkpoint == "trajectory"   # a forward pass reused
          else {"checkpoint": checkpoint})
    monkeypatch.setattr(sim, "SPLIT_FLOPS", 1 << 62)
    whole = ra.bptt(cell, xs, gh, h0, at=at, **kw)
    monkeypatch.setattr(sim, "SPLIT_FLOPS", 0)
    monkeypatch.setattr(sim, "STEP_FLOPS", 0)
    assert sim._halves(cell, T, B, kw.get("trajectory", ra.simulate(cell, xs, h0)).forward)
    halves = ra.bptt(cell, xs, gh, h0, at=at, **kw)
    for k in whole.grads:
        np.testing.assert_allclose(halves.grads[k], whole.grads[k], rtol=1e-12, atol=1e-14)
    for name in ("adjoints", "grad_xs", "grad_h0"):
        np.testing.assert_allclose(getattr(halves, name), getattr(whole, name), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls, at", [(ra.Elman, "last"), (ra.LSTM, "every"), (ra.GRU, "last")])
def test_a_forward_pass_in_two_halves_equals_one_pass_and_is_swept_in_them(cls, at, monkeypatch, rng):
    # simulate runs the halves of the batch too (two threads when compiled): states equal one pass,
    # and bptt reusing that trajectory sweeps its halves (whichever thresholds hold by then)
    import importlib

    sim = importlib.import_module("rnnanalysis.simulate")
    cell = cls(4, 3, seed=0, gain=1.3)
    T, B = 9, 5
    xs, h0 = rng.normal(size=(T, B, 3)), rng.normal(size=(B, 4))
    gh = rng.normal(size=(B, 4) if at == "last" else (T, B, 4))
    monkeypatch.setattr(sim, "SPLIT_FLOPS", 1 << 62)
    whole = ra.simulate(cell, xs, h0)
    grads = ra.bptt(cell, xs, gh, h0, at=at, trajectory=whole)
    monkeypatch.setattr(sim, "SPLIT_FLOPS", 0)
    monkeypatch.setattr(sim, "STEP_FLOPS", 0)
    halves = ra.simulate(cell, xs, h0)
    assert len(halves.forward.parts) == 2 and halves.forward.cache is None
    assert not whole.forward.parts
    for name in ("states", "cells"):
        if getattr(whole, name) is not None:
            np.testing.assert_allclose(getattr(halves, name), getattr(whole, name), rtol=1e-12, atol=1e-14)
    for split in (0, 1 << 62):                      # the halves' sweep, also when the rule no longer splits
        monkeypatch.setattr(sim, "SPLIT_FLOPS", split)
        res = ra.bptt(cell, xs, gh, h0, at=at, trajectory=halves)
        for k in grads.grads:
            np.testing.assert_allclose(res.grads[k], grads.grads[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(res.adjoints, grads.adjoints, rtol=1e-12, atol=1e-14)


def test_bptt_keeps_a_batch_whole_when_its_samples_are_coupled(monkeypatch):
    import importlib

    sim = importlib.import_module("rnnanalysis.simulate")
    monkeypatch.setattr(sim, "SPLIT_FLOPS", 0)
    monkeypatch.setattr(sim, "STEP_FLOPS", 0)
    bn = ra.BatchNormRNN("elman", 4, 3, seed=0)            # training mode: batch statistics
    assert not sim._halves(bn, 9, 6, None)
    assert sim._halves(ra.Elman(4, 3, seed=0), 9, 6, None)
    assert not sim._halves(ra.Elman(4, 3, ensemble=2, seed=0), 9, 6, None)


@pytest.mark.parametrize("cls", [ra.Elman, ra.LSTM])
def test_profile_of_a_batch_in_two_halves_equals_one_pass(cls, monkeypatch, rng):
    import importlib

    sim = importlib.import_module("rnnanalysis.simulate")
    cell = cls(3, 2, seed=0, gain=1.4)
    xs = rng.normal(size=(40, 5, 2))
    monkeypatch.setattr(sim, "SPLIT_FLOPS", 1 << 62)
    whole = ra.gradient_profile(cell, xs).log10_norms, ra.jacobian_products(cell, xs).log10_singular_values
    monkeypatch.setattr(sim, "SPLIT_FLOPS", 0)
    monkeypatch.setattr(sim, "STEP_FLOPS", 0)
    assert sim._batch_halves(cell, 40, 5, 5)
    halves = ra.gradient_profile(cell, xs).log10_norms, ra.jacobian_products(cell, xs).log10_singular_values
    for a, b in zip(whole, halves, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
