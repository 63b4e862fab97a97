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


def test_store_resumes_and_extends(tmp_path, capsys):
    store = tmp_path / "study.jsonl"
    a = compare_remedies("adding", [6], ["tanh", "gru"], 2, 6, store=store, **KW)
    b = compare_remedies("adding", [6], ["tanh", "gru"], 2, 6, store=store, **KW)
    assert (a.resumed, b.resumed) == (0, 2) and b.runs == a.runs
    c = compare_remedies("adding", [6, 8], ["tanh", "gru"], 2, 6, store=store, **KW)
    assert c.resumed == 2 and len(c.runs) == 8 and c.runs[:2] == a.runs[:2]
    err = capsys.readouterr().err
    assert "2 of 2 points to run" in err and "0 of 2 points to run" in err and "2 of 4 points to run" in err
    assert "estimated at most" in err and "[4/4] gru T=8" in err
    table = str(c)
    assert table == c.to_markdown() and "| GRU | 0/2 | 0/2 |" in table and len(repr(c)) < 200


def test_the_study_writes_its_table_from_a_partial_store(tmp_path, load_script):
    run = load_script("papers/remedies/run.py")
    store = tmp_path / "store.jsonl"
    _, task, _, remedies, opt, _ = run.blocks()[0]
    compare_remedies(task, [50], remedies, 2, 4, optimizer=opt, store=store, progress=False, estimate=False,
                     **run.SETTINGS)
    run.main(["--table-only", "--steps", "4", "--seeds", "2", "--store", str(store), "--out", str(tmp_path)])
    table = (tmp_path / "table.md").read_text()
    assert "Points still missing" in table and f"{task}, tanh+clip, T = 50, sgd lr 0.03" in table
    assert (tmp_path / "clipping.png").is_file() and (tmp_path / "success.pdf").is_file()
