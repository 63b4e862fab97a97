"""The training loop: learning, stopping when solved, divergence, logs, bad input."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.train import SGD, Adam, evaluate, make_network, parse_remedy, train


def test_solves_short_temporal_order_and_stops():
    net = parse_remedy("gru").build("temporal_order", 16, seed=0)
    res = train(net, "temporal_order", 10, steps=1500, batch=20, optimizer=Adam(0.01), eval_every=50,
                eval_size=500, seed=0)
    assert res.solved and res.steps == res.steps_to_solve < 1500
    assert res.final.error_rate < 0.01 and res.final.loss < res.baseline
    again = evaluate(res.network, "temporal_order", 10, 2000, seed=123)   # fresh sequences
    assert again.error_rate < 0.02
    assert res.log_loss[0] == pytest.approx(np.log(4), rel=0.2)


def test_log_contents():
    net = make_network(ra.Elman(8, 2, seed=0, init="orthogonal"), 1, seed=0)
    res = train(net, "adding", 12, steps=30, log_every=10, profile_every=15, eval_every=1000,
                eval_size=100, clip=0.5, seed=0)
    assert list(res.log_step) == [1, 10, 20, 30] and list(res.profile_steps) == [1, 15, 30]
    assert res.log_spectral_radius.shape == (4, 1) and res.log_spectral_radius[0, 0] == pytest.approx(1.0)
    assert res.log10_adjoint_norms[0].shape == (13,)
    assert np.all(res.log_clipped == (res.log_grad_norm > 0.5))
    assert not res.solved and res.steps == 30 and res.steps_to_solve is None
    res.to_dict()


def test_divergence_is_recorded_and_model_stays_finite():
    net = make_network(ra.Elman(8, 2, activation="relu", init="identity", gain=1.5, seed=0), 1, seed=0)
    res = train(net, "adding", 40, steps=200, optimizer=SGD(lr=10.0), eval_every=1000, eval_size=50, seed=0)
    assert res.diverged and res.diverged_at is not None and res.steps == res.diverged_at - 1
    assert all(np.all(np.isfinite(v)) for v in res.network.params.values())
    assert not res.solved


def test_bad_input():
    net = parse_remedy("tanh").build("adding", 4, seed=0)
    with pytest.raises(ValueError, match="length"):
        train(net, "adding", 1)
    with pytest.raises(ValueError, match="batch"):
        train(net, "adding", 10, batch=0)
    with pytest.raises(ValueError, match="clip"):
        train(net, "adding", 10, clip=-1.0)
    with pytest.raises(TypeError, match="net"):
        train(net.core, "adding", 10)


def test_progress_bar_on_stderr(capsys):
    net = parse_remedy("tanh").build("adding", 4, seed=0)
    train(net, "adding", 6, steps=5, eval_every=1000, eval_size=20, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "5/5" in err and "loss" in err and err.endswith("\n")
