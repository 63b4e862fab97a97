"""Recurrent batch norm: running statistics, inference mode, gains at 0.1, the cell protocol."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.cells import BatchNormRNN
from rnnanalysis.testing import check_jacobian, check_vjp


def test_running_statistics_and_eval_mode():
    rng = np.random.default_rng(0)
    core = BatchNormRNN("elman", 4, 3, seed=0)
    assert np.all(core.params["bn_h_weight"] == 0.1) and np.all(core.params["bn_x_weight"] == 0.1)
    xs = rng.normal(size=(6, 8, 3))
    tr = ra.simulate(core, xs)
    updated = core.updated(tr.forward)
    ux = xs @ core.params["weight_ih"].T               # independent: per-step batch moments
    np.testing.assert_allclose(updated.stats["x_mean"], 0.1 * ux.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(updated.stats["x_var"], 0.9 + 0.1 * ux.var(axis=1, ddof=1), rtol=1e-12)
    hw = tr.states[:-1] @ core.params["weight_hh"].T
    np.testing.assert_allclose(updated.stats["h_mean"], 0.1 * hw.mean(axis=1), atol=1e-15)
    infer = updated.for_inference()
    ev = ra.simulate(infer, xs).states
    ev_one = ra.simulate(infer, xs[:, :3]).states     # inference: samples independent
    np.testing.assert_allclose(ev[:, :3], ev_one, rtol=1e-13)
    longer = ra.simulate(infer, rng.normal(size=(9, 2, 3)))   # beyond the trained length
    assert longer.states.shape == (10, 2, 4)


def test_bad_input():
    with pytest.raises(ValueError, match="kind"):
        BatchNormRNN("gru", 3, 2)
    core = BatchNormRNN("lstm", 3, 2, seed=0)
    with pytest.raises(ValueError, match="xs"):
        ra.simulate(core, np.zeros((4, 2, 5)))
    with pytest.raises(ValueError, match="couples the samples"):
        ra.lyapunov_spectrum(core, np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="checkpoint"):             # running statistics depend on t
        ra.gradient_profile(core.for_inference(), np.zeros((4, 2, 2)), checkpoint=2)


@pytest.mark.parametrize("kind", ["elman", "lstm"])
def test_eval_with_the_batch_statistics_reproduces_train_mode(kind):
    # eval mode normalises with stored statistics; given this batch's own per-step moments
    # (computed here independently) it must reproduce the train-mode pass exactly
    rng = np.random.default_rng(3)
    core = BatchNormRNN(kind, 4, 3, seed=1, gamma=0.7, init="orthogonal")
    xs = rng.normal(size=(7, 16, 3))
    tr = ra.simulate(core, xs)
    ux = xs @ core.params["weight_ih"].T
    hw = tr.states[:-1] @ core.params["weight_hh"].T
    stats = {"x_mean": ux.mean(1), "x_var": ux.var(1), "h_mean": hw.mean(1), "h_var": hw.var(1)}
    if kind == "lstm":
        stats.update(c_mean=tr.cells[1:].mean(1), c_var=tr.cells[1:].var(1))
    ev = ra.simulate(core.with_params(core.params, stats).for_inference(), xs)
    np.testing.assert_allclose(ev.states, tr.states, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", ["elman", "lstm"])
def test_step_adjoint_against_finite_differences(kind):
    # the one-step protocol: in training mode a step maps the whole batch state (B, S), so its
    # vector-Jacobian product is checked on that map; in inference mode per sample
    rng = np.random.default_rng(4)
    core = BatchNormRNN(kind, 3, 2, seed=2, gamma=0.8)
    core = core.updated(ra.simulate(core, rng.normal(size=(3, 5, 2))).forward)
    s, x = rng.normal(size=(4, core.state_size)), rng.normal(size=(4, 2))
    check_vjp(core, s, x, rtol=1e-7)
    check_jacobian(core.for_inference(), s, x, rtol=1e-6)
