"""Recurrent batch norm: running statistics, eval mode, gains at 0.1."""

import numpy as np
import pytest

from rnnanalysis.train import BatchNormRNN


def test_running_statistics_and_eval_mode():
    rng = np.random.default_rng(0)
    core = BatchNormRNN("elman", 4, 3, seed=0)
    assert np.all(core.params["bn_h_weight"] == 0.1) and np.all(core.params["bn_x_weight"] == 0.1)
    xs = rng.normal(size=(6, 8, 3))
    tr = core.forward(xs, train=True)
    ux = xs @ core.params["weight_ih"].T               # independent: per-step batch moments
    np.testing.assert_allclose(tr.updated.stats["x_mean"], 0.1 * ux.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(tr.updated.stats["x_var"], 0.9 + 0.1 * ux.var(axis=1, ddof=1), rtol=1e-12)
    hw = tr.states[:-1] @ core.params["weight_hh"].T
    np.testing.assert_allclose(tr.updated.stats["h_mean"], 0.1 * hw.mean(axis=1), atol=1e-15)
    ev = tr.updated.forward(xs, train=False).states
    ev_one = tr.updated.forward(xs[:, :3], train=False).states   # eval: samples independent
    np.testing.assert_allclose(ev[:, :3], ev_one, rtol=1e-13)
    longer = tr.updated.forward(rng.normal(size=(9, 2, 3)), train=False)  # beyond trained length
    assert longer.states.shape == (10, 2, 4)
    with pytest.raises(ValueError, match="train=True"):
        core.backward(core.forward(xs, train=False), np.zeros((8, 4)))


def test_bad_input():
    with pytest.raises(ValueError, match="kind"):
        BatchNormRNN("gru", 3, 2)
    core = BatchNormRNN("lstm", 3, 2, seed=0)
    with pytest.raises(ValueError, match="xs"):
        core.forward(np.zeros((4, 2, 5)))


@pytest.mark.parametrize("kind", ["elman", "lstm"])
def test_eval_with_the_batch_statistics_reproduces_train_mode(kind):
    # eval mode normalises with stored statistics; given this batch's own per-step moments
    # (computed here independently) it must reproduce the train-mode pass exactly
    rng = np.random.default_rng(3)
    core = BatchNormRNN(kind, 4, 3, seed=1, gamma=0.7, init="orthogonal")
    xs = rng.normal(size=(7, 16, 3))
    tr = core.forward(xs, train=True)
    ux = xs @ core.params["weight_ih"].T
    hw = tr.states[:-1] @ core.params["weight_hh"].T
    stats = {"x_mean": ux.mean(1), "x_var": ux.var(1), "h_mean": hw.mean(1), "h_var": hw.var(1)}
    if kind == "lstm":
        stats.update(c_mean=tr.cells[1:].mean(1), c_var=tr.cells[1:].var(1))
    ev = core.with_params(core.params, stats).forward(xs, train=False)
    np.testing.assert_allclose(ev.states, tr.states, rtol=1e-10, atol=1e-13)
