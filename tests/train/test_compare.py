"""compare_remedies: tidy output, reproducible, the same over executors; remedy names."""

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from rnnanalysis import compare_remedies
from rnnanalysis.train import parse_remedy

KW = dict(hidden=6, batch=8, eval_every=10, eval_size=50, log_every=5)


def test_tidy_reproducible_and_executor_independent():
    args = ("adding", [6, 8], ["tanh+clip", "lstm+ln", "irnn+bn"], 2, 12)
    a = compare_remedies(*args, **KW)
    with ProcessPoolExecutor(2) as ex:
        b = compare_remedies(*args, executor=ex, **KW)
    assert a.runs == b.runs and len(a.runs) == 12 and len(a.summary) == 6
    for k in a.grad_norm_traces:
        np.testing.assert_array_equal(a.grad_norm_traces[k], b.grad_norm_traces[k])
    assert a.grad_norm_traces["lstm+ln|8"].shape == (2, 3)
    row = a.summary[0]
    assert set(row) >= {"remedy", "length", "success_rate", "median_steps_to_solve", "mean_final_loss"}
    a.to_dict()


def test_remedy_names():
    r = parse_remedy("smart_tanh+clip+omega")
    assert r.init == "sparse" and r.spectral_radius == 0.95 and r.omega_weight == 2.0 and r.clip == "clip"
    assert parse_remedy("lstm+bn").forget_bias == 1.0
    for bad in ["tanh+dropout", "rnn", "gru+ln", "lstm+omega", "tanh+clip+agc", "tanh+ln+bn"]:
        with pytest.raises(ValueError):
            parse_remedy(bad)
    with pytest.raises(ValueError, match="unknown"):
        compare_remedies("adding", [5], ["tanh", "magic"], 1, 5)
    with pytest.raises(ValueError, match="length"):
        compare_remedies("adding", [1], ["tanh"], 1, 5)


def test_divergence_is_a_row_not_a_crash():
    from rnnanalysis.train import SGD

    res = compare_remedies("adding", [100], ["irnn"], 1, 20, optimizer=SGD(lr=10.0), **KW)
    row = res.runs[0]
    assert row["diverged"] and not row["solved"] and res.summary[0]["divergences"] == 1
