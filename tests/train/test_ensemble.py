"""Training an ensemble of seeds in one pass equals training each seed alone; float32 tracks float64."""

import numpy as np
import pytest

from rnnanalysis.train import SGD, Adam, parse_remedy, stack_networks, train

KW = dict(steps=30, batch=6, log_every=5, profile_every=10, eval_every=10, eval_size=40)


def _runs(remedy, task, T, n_seeds, dtype=np.float64, **kw):
    r = parse_remedy(remedy)
    nets = [r.build(task, 5, np.random.SeedSequence([s, T, 0]), dtype) for s in range(n_seeds)]
    data = [np.random.SeedSequence([s, T, 1]) for s in range(n_seeds)]
    tx = r.transform(kw.pop("optimizer", Adam(0.01)))
    alone = [train(net, task, T, transform=tx, seed=np.random.default_rng(d), **KW, **kw)
             for net, d in zip(nets, data, strict=True)]
    together = train(stack_networks(nets), task, T, transform=tx,
                     seed=[np.random.default_rng(d) for d in data], **KW, **kw)
    return alone, together


def _same(a, b, tol):
    assert (a.solved, a.steps_to_solve, a.diverged, a.diverged_at, a.steps) == \
        (b.solved, b.steps_to_solve, b.diverged, b.diverged_at, b.steps)
    for name in ("log_step", "log_clipped", "eval_step"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("log_loss", "log_grad_norm", "log_spectral_radius", "eval_loss"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=tol, atol=0)
    for k, v in a.network.params.items():
        np.testing.assert_allclose(v, b.network.params[k], rtol=tol, atol=tol)
    for p, q in zip(a.log10_adjoint_norms, b.log10_adjoint_norms, strict=True):
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol)


@pytest.mark.parametrize("remedy,task", [("tanh+clip", "adding"), ("lstm", "temporal_order"),
                                         ("gru+agc", "copy"), ("smart_tanh+clip+omega", "adding"),
                                         ("orthogonal+ln", "temporal_order")])
def test_ensemble_equals_each_seed_alone(remedy, task):
    alone, together = _runs(remedy, task, 8, 3)
    for a, b in zip(alone, together, strict=True):
        _same(a, b, 1e-12)


def test_members_that_stop_leave_the_others_unchanged():
    # SGD at a huge rate: some seeds diverge early, the others keep training
    alone, together = _runs("irnn", "adding", 30, 4, optimizer=SGD(lr=0.1), max_loss_ratio=10.0)
    assert any(a.diverged for a in alone) and not all(a.diverged for a in alone)
    for a, b in zip(alone, together, strict=True):
        _same(a, b, 1e-12)


def test_float32_tracks_float64():
    (a64,), _ = _runs("tanh", "adding", 10, 1)
    (a32,), _ = _runs("tanh", "adding", 10, 1, dtype=np.float32)
    assert a32.network.core.dtype == np.float32
    np.testing.assert_allclose(a32.log_loss, a64.log_loss, rtol=1e-4)
    np.testing.assert_allclose(a32.network.params["weight_hh"], a64.network.params["weight_hh"],
                               rtol=0, atol=1e-4)


def test_ensemble_seed_count_checked():
    net = stack_networks([parse_remedy("tanh").build("adding", 4, seed=s) for s in range(2)])
    with pytest.raises(ValueError, match="seed"):
        train(net, "adding", 6, steps=2, seed=0)


def test_remedies_differing_in_init_train_as_one_ensemble_bit_for_bit():
    from rnnanalysis.train.remedies import remedy_runs, remedy_runs_together

    kw = dict(task="temporal_order", length=10, seeds=2, steps=30, hidden=5, batch=6, eval_every=10,
              eval_size=40, log_every=5)
    inits = ["tanh", "he", "orthogonal", "smart_tanh"]
    together = remedy_runs_together(remedies=inits, **kw)
    for name, got in zip(inits, together, strict=True):
        alone = remedy_runs(remedy=name, **kw)
        assert got.keys() == alone.keys()
        for k, v in alone.items():
            np.testing.assert_array_equal(np.asarray(got[k], float), np.asarray(v, float), err_msg=k)
    assert len({tuple(r["final_loss"]) for r in together}) == len(inits)   # four different runs
    for bad in (["tanh", "irnn"], ["tanh", "tanh+clip"], ["tanh+bn", "he+bn"], ["lstm", "gru"]):
        with pytest.raises(ValueError, match="one ensemble"):
            remedy_runs_together(remedies=bad, **kw)
