"""The predictions benchmark's quick mode sees the same seeded design; its independent-steps ceiling."""

import json
import math

import numpy as np
import pytest

import rnnanalysis as ra


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("scripts/benchmarks/predictions.py")


def test_quick_mode_measures_the_same_configurations(bench, tmp_path, capsys):
    runs = {}
    for kinds in ("gru", "elman-tanh,gru,lstm"):
        out = tmp_path / f"{kinds}.json"
        bench.main(["--configs", "2", "--trained", "0", "--T", "60", "--kinds", kinds, "--out", str(out)])
        runs[kinds] = [{k: v for k, v in r.items() if k != "predict_seconds"}
                       for r in json.loads(out.read_text()) if r["kind"] == "gru tanh"]
    assert len(runs["gru"]) == 2 and runs["gru"] == runs["elman-tanh,gru,lstm"]
    assert "measured only: gru" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--kinds", "gru,rnn"])


def test_shuffled_steps_of_a_linear_cell_grow_at_log_rho(bench, rng):
    """Every step's Jacobian is W: the order cannot matter and the rate is log10 rho(W)."""
    W = ra.init.orthogonal((12, 12), rng, gain=0.9)
    cell = ra.Elman.from_params({"weight_hh": W, "weight_ih": rng.normal(size=(12, 2)),
                                 "bias_ih": np.zeros(12), "bias_hh": np.zeros(12)}, "linear")
    rate = bench.shuffled_rate(cell, rng.normal(size=(200, 2, 2)))
    assert rate == pytest.approx(math.log10(0.9), rel=1e-9)
