"""The rnnanalysis command: profile numbers against analytic cases, sweeps, lazy subcommands."""

import json
import math
import os
import sys
import types

import numpy as np
import pytest

import rnnanalysis as ra


def _one_error_line(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnanalysis: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_help_and_version(run):
    code, out, _ = run("--help")
    assert code == 0 and "profile" in out and "sweep" in out
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"rnnanalysis {ra.__version__}"


def test_profile_identity_linear_is_exactly_log10_gain(run):
    """W = c I and a linear cell: the per-lag norm is c^lag, the rate exactly log10 c."""
    code, out, _ = run("profile", "--activation", "linear", "--init", "identity", "--gain", "0.5",
                       "--hidden", "6", "--T", "40", "--json")
    data = json.loads(out)
    assert code == 0
    np.testing.assert_allclose(data["log10_norm_mean"], np.arange(41) * math.log10(0.5),
                               rtol=1e-12, atol=1e-12)
    assert data["rate_log10_per_step"] == pytest.approx(math.log10(0.5), rel=1e-12)


def test_profile_text_summary(run):
    code, out, err = run("profile", "--activation", "linear", "--init", "identity", "--gain", "0.1",
                         "--T", "20")
    assert code == 0 and err == ""
    assert "fitted rate: -1 log10 per step" in out
    assert "shrinks tenfold every 1 steps" in out
    assert [line.split()[0] for line in out.splitlines()[2:7]] == ["0", "1", "2", "5", "10"]


def test_profile_of_a_matrix_file_matches_the_library(run, tmp_path, rng):
    W = 1.3 * rng.standard_normal((7, 7)) / math.sqrt(7)
    np.save(tmp_path / "w.npy", W)
    code, out, _ = run("profile", tmp_path / "w.npy", "--T", "25", "--batch", "3", "--seed", "4", "--json")
    assert code == 0
    got = json.loads(out)
    # the library, by hand: W as weight_hh, Xavier input weights from the seed, zero biases
    g = np.random.default_rng(4)
    cell = ra.Elman.from_params({"weight_hh": W, "weight_ih": ra.init.xavier_uniform((7, 1), g),
                                 "bias_ih": np.zeros(7), "bias_hh": np.zeros(7)})
    xs = np.random.default_rng(4).standard_normal((25, 3, 1))
    logs = ra.gradient_profile(cell, xs).log10_norms[::-1]
    np.testing.assert_allclose(got["log10_norm_mean"], logs.mean(axis=1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind, suffix", [("lstm", "_l0"), ("gru", ""), ("elman", "_l0")])
def test_profile_of_a_state_dict_infers_the_kind(run, tmp_path, kind, suffix):
    cell = ra.cells.cell_class(kind)(5, 2, seed=1)
    np.savez(tmp_path / "sd.npz", **{k + suffix: v for k, v in cell.params.items()})
    code, out, _ = run("profile", tmp_path / "sd.npz", "--T", "15", "--batch", "2")
    assert code == 0 and out.startswith(f"{type(cell).__name__}(hidden=5, inputs=2")
    code, out, _ = run("profile", tmp_path / "sd.npz", "--T", "15", "--batch", "2", "--json")
    xs = np.random.default_rng(0).standard_normal((15, 2, 2))
    ref = ra.gradient_profile(cell, xs).log10_norms[::-1].mean(axis=1)
    np.testing.assert_allclose(json.loads(out)["log10_norm_mean"], ref, atol=1e-12)


def test_state_dict_saved_from_pytorch(run, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.GRU(3, 6)
    sd = {k: v.detach().numpy().astype(np.float64) for k, v in net.state_dict().items()}
    np.savez(tmp_path / "gru.npz", **sd)
    code, out, _ = run("profile", tmp_path / "gru.npz", "--T", "10")
    assert code == 0 and out.startswith("GRU(hidden=6, inputs=3")


def test_kind_that_does_not_fit_the_shapes(run, tmp_path):
    cell = ra.Elman(4, 1, seed=0)
    np.savez(tmp_path / "sd.npz", **cell.state_dict())
    line = _one_error_line(*run("profile", tmp_path / "sd.npz", "--kind", "lstm")[::2])
    assert "sd.npz" in line and "weight_hh" in line


def _write_config(path, **cfg):
    path.write_text(json.dumps(cfg))
    return path


def test_sweep_runs_resumes_and_prints_progress(run, tmp_path):
    cfg = _write_config(tmp_path / "gain.json", function="gradient_decay",
                        grid={"gain": [0.5, 2.0], "activation": "linear", "hidden": 64, "T": 40,
                              "replicate": [0, 1]}, seed=3)
    code, out, err = run("sweep", cfg, "--workers", "2")
    assert code == 0
    assert "sweep gradient_decay: 4 points, 0 already in" in err and "[4/4]" in err
    assert "4 points (4 computed, 0 resumed" in out
    store = tmp_path / "gain.jsonl"
    assert len(store.read_text().splitlines()) == 5            # header + 4 points
    code, out, err = run("sweep", cfg, "--json", "--quiet")
    data = json.loads(out)
    assert code == 0 and err == "" and data["computed"] == 0 and data["resumed"] == 4
    rates = [r["result"]["rate_log10_per_step"] for r in data["records"]]
    assert np.allclose(rates, np.log10([0.5, 0.5, 2.0, 2.0]), atol=0.06)


def test_sweep_reports_a_corrupt_store_line_as_one_warning(run, tmp_path):
    cfg = _write_config(tmp_path / "c.json", function="gradient_decay", grid={"gain": [1.0, 1.5], "T": 5},
                        store="out/c.jsonl")
    assert run("sweep", cfg, "--quiet")[0] == 0
    store = tmp_path / "out" / "c.jsonl"
    store.write_bytes(store.read_bytes()[:-30])
    code, out, err = run("sweep", cfg, "--quiet")
    assert code == 0 and "1 computed, 1 resumed, 1 store lines skipped" in out
    assert err.count("\n") == 1 and err.startswith("rnnanalysis: warning: ") and "c.jsonl:3" in err


@pytest.mark.parametrize("cfg, match", [
    ("{not json", "not a JSON file"),
    ('["a list"]', "expected a JSON object"),
    ('{"function": "nope", "grid": {}}', "function: expected one of"),
    ('{"function": "gradient_decay", "grid": [1]}', "grid: expected an object"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "extra": 1}', "unknown keys"),
    ('{"function": "gradient_decay", "grid": {"gian": [1]}}', "cannot be called with the parameters"),
    ('{"function": "gradient_decay", "grid": {"seed": [1]}}', "reserved"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "seed": "x"}', "seed"),
    ('{"function": "gradient_decay", "grid": {"hidden": [0]}}', "hidden: expected an integer >= 1"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "store": 5}', "store"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "store": "../x.jsonl"}', "outside the config"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "store": "/tmp/x.jsonl"}', "outside the config"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "store": "a/../../x.jsonl"}', "outside the"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "store": "bad.json"}', "the config file itself"),
    ('{"function": "gradient_decay", "grid": {"gain": [1]}, "store": "./bad.json"}', "the config file"),
    ('{"function": "gradient_decay", "function": "gradient_decay", "grid": {}}', "'function' appears twice"),
    ('{"function": "gradient_decay", "grid": {"T": 5, "T": 6}}', "'T' appears twice"),
    ('{"function": "gradient_decay", "grid": {"gain": [1, 1.0]}}', "repeated values"),
    ('{"function": "gradient_decay", "grid": {"hidden": 99999999999999999999}}', "hidden=9999999"),
    ('{"function": "gradient_decay", "grid": {"gain": [-2]}}', "gain: expected a finite number > 0"),
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
], ids=lambda v: v[:48])
def test_bad_sweep_configs_are_one_line(run, tmp_path, cfg, match):
    (tmp_path / "bad.json").write_text(cfg)
    line = _one_error_line(*run("sweep", tmp_path / "bad.json", "--quiet")[::2])
    assert match in line


def test_sweep_store_stays_beside_its_config_unless_the_command_line_says(run, tmp_path):
    (tmp_path / "cfgs").mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    cfg = _write_config(tmp_path / "cfgs" / "c.json", function="gradient_decay", grid={"T": 5},
                        store="../notes.txt")
    assert "outside the config" in _one_error_line(*run("sweep", cfg, "--quiet")[::2])
    line = _one_error_line(*run("sweep", cfg, "--quiet", "--store", notes)[::2])
    assert "not a sweep store" in line and notes.read_text() == "my notes\n"
    code, out, err = run("sweep", cfg, "--quiet", "--store", tmp_path / "elsewhere.jsonl")
    assert code == 0 and "elsewhere.jsonl" in out and not (tmp_path / "cfgs" / "c.jsonl").exists()
    assert len((tmp_path / "elsewhere.jsonl").read_text().splitlines()) == 2      # header + point


def test_sweep_refuses_a_fifo_config_or_store_without_hanging(run, tmp_path):
    fifo = tmp_path / "f.json"
    os.mkfifo(fifo)
    assert "not a regular file" in _one_error_line(*run("sweep", fifo, "--quiet")[::2])
    cfg = _write_config(tmp_path / "c.json", function="gradient_decay", grid={"T": 5}, store="f.json")
    assert "not a regular file" in _one_error_line(*run("sweep", cfg, "--quiet")[::2])


def test_sweep_without_a_reachable_scheduler(run, tmp_path):
    pytest.importorskip("distributed")
    cfg = _write_config(tmp_path / "d.json", function="gradient_decay", grid={"T": 5})
    line = _one_error_line(*run("sweep", cfg, "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1")[::2])
    assert "rnnanalysis: error:" in line


def test_tour_is_called_with_outdir_and_quick(run, monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("rnnanalysis.tour")
    fake.run = lambda outdir, quick, seed, progress: calls.append((outdir, quick, seed))
    monkeypatch.setitem(sys.modules, "rnnanalysis.tour", fake)
    assert run("tour", "--outdir", tmp_path, "--quick", "--seed", "3")[0] == 0
    assert calls == [(str(tmp_path), True, 3)]


def test_internal_errors_are_one_line_with_status_1(run, monkeypatch):
    fake = types.ModuleType("rnnanalysis.tour")

    def broken(outdir, quick, **kwargs):
        raise RuntimeError("boom\nsecond line")
    fake.run = broken
    monkeypatch.setitem(sys.modules, "rnnanalysis.tour", fake)
    code, _, err = run("tour")
    assert code == 1 and err.count("\n") == 1 and "internal error: RuntimeError: boom second line" in err
    monkeypatch.setenv("RNNANALYSIS_DEBUG", "1")
    with pytest.raises(RuntimeError):
        run("tour")


def test_derive_writes_the_library_latex(run, tmp_path):
    pytest.importorskip("sympy")
    code, out, _ = run("derive", "elman", "--activation", "relu", "--tex", tmp_path / "elman.tex")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'elman.tex'}"
    assert (tmp_path / "elman.tex").read_text() == \
        ra.derive("elman", "relu").to_tex(tmp_path / "api.tex").read_text()
    code, _, _ = run("derive", "lstm", "--tex", tmp_path / "lstm.tex", "--fragment", "--width", "240")
    assert code == 0 and (tmp_path / "lstm.tex").read_text() == \
        ra.derive("lstm").to_tex(tmp_path / "api.tex", fragment=True, width=240).read_text()
    assert "--tex" in _one_error_line(*run("derive", "lstm", "--fragment")[::2])
    assert "width" in _one_error_line(*run("derive", "lstm", "--width", "10")[::2])
    code, out, _ = run("derive", "gru")
    assert code == 0 and out == ra.derive("gru").latex() + "\n"
    line = _one_error_line(*run("derive", "transformer")[::2])
    assert "transformer" in line
    _one_error_line(*run("derive", "elman", "--tex", tmp_path / "no" / "such" / "dir.tex")[::2])


def test_predict_matches_the_library(run, tmp_path, rng):
    W = 0.9 * rng.standard_normal((6, 6)) / math.sqrt(6)
    np.save(tmp_path / "w.npy", W)
    code, out, _ = run("predict", tmp_path / "w.npy", "--activation", "relu", "--json")
    assert code == 0
    assert json.loads(out) == json.loads(json.dumps(ra.predict(W, activation="relu").to_dict()))
    code, out, _ = run("predict", tmp_path / "w.npy")
    assert code == 0 and "regime: " in out and "spectral radius " in out and "zero-input prediction" in out
    cell = ra.LSTM(4, 2, seed=3)
    np.savez(tmp_path / "sd.npz", **cell.state_dict())
    code, out, _ = run("predict", tmp_path / "sd.npz", "--json")
    assert code == 0
    assert json.loads(out) == json.loads(json.dumps(ra.predict(cell).to_dict()))


def test_predict_with_the_inputs_statistics(run, tmp_path, rng):
    cell = ra.GRU(6, 3, init="gaussian", gain=2.0, seed=1)
    np.savez(tmp_path / "sd.npz", **cell.state_dict())
    xs = rng.standard_normal((50, 4, 3))
    np.save(tmp_path / "x.npy", xs)
    for args, kwargs in ((["--input-std", "0.5"], {"input_std": 0.5}),
                         (["--input-std", "0.5,1,2"], {"input_std": np.array([0.5, 1.0, 2.0])}),
                         (["--inputs", tmp_path / "x.npy"], {"inputs": xs})):
        code, out, _ = run("predict", tmp_path / "sd.npz", *args, "--json")
        assert code == 0
        assert json.loads(out) == json.loads(json.dumps(ra.predict(cell, **kwargs).to_dict()))
    code, out, _ = run("predict", tmp_path / "sd.npz", "--input-std", "1")
    assert code == 0 and "s = 1" in out and "zero-input" not in out
    for bad, name in ((["--input-std", "-1"], "--input-std"), (["--input-std", "nan"], "--input-std"),
                      (["--input-std", "1,2"], "input_std"), (["--inputs", tmp_path / "sd.npz"], "--inputs")):
        code, out, err = run("predict", tmp_path / "sd.npz", *bad)
        assert code == 2 and name in err and err.count("\n") == 1, (bad, err)
    np.save(tmp_path / "x2.npy", xs[..., :2])
    code, _, err = run("predict", tmp_path / "sd.npz", "--inputs", tmp_path / "x2.npy")
    assert code == 2 and "inputs: expected shape (T, B, m)" in err


def test_check_matches_the_library(run):
    code, out, _ = run("check", "--hidden", "8", "--T", "60", "--batch", "2", "--seed", "5", "--json")
    assert code == 0
    cell = ra.Elman(8, 1, init="gaussian", gain=1.0, seed=5)
    xs = np.random.default_rng(5).standard_normal((60, 2, 1))
    ref = ra.check_predictions(cell, xs, seed=5)
    assert json.loads(out) == json.loads(json.dumps(ra._results.jsonable(ref.to_dict())))
    code, out, _ = run("check", "--hidden", "8", "--T", "60", "--batch", "2", "--seed", "5")
    assert code == 0 and ref.to_text() in out


@pytest.mark.parametrize("argv, named, limit", [
    (["profile", "--hidden", "99999999999999999999"], "--hidden", "[1, 10000]"),
    (["check", "--hidden", "0"], "--hidden", "[1, 10000]"),
    (["profile", "--inputs", "100000000000"], "--inputs", "[1, 10000]"),
    (["profile", "--gain", "-2"], "--gain", "(0, 1e+300]"),
    (["profile", "--gain", "0"], "--gain", "(0, 1e+300]"),
    (["profile", "--gain", "nan"], "--gain", "(0, 1e+300]"),
    (["profile", "--seed", "-1"], "--seed", "[0, 18446744073709551615]"),
    (["profile", "--seed", "1" * 5000], "--seed", "[0, 18446744073709551615]"),
    (["profile", "--T", "1e3"], "--T", "[1, 10000000]"),
    (["check", "--batch", "-4"], "--batch", "[1, 10000000]"),
    (["sweep", "c.json", "--workers", "0"], "--workers", "[1, 1024]"),
    (["sweep", "c.json", "--timeout", "inf"], "--timeout", "(0, 1e+06]"),
    (["sweep", "c.json", "--max-points", "0"], "--max-points", "[1, 1000000000000]"),
])
def test_numeric_arguments_name_themselves_and_their_limit(run, argv, named, limit):
    line = _one_error_line(*run(*argv)[::2])
    assert f"argument {named}: expected" in line and limit in line


def test_absurd_input_arrays_are_refused_before_allocating(run):
    line = _one_error_line(*run("profile", "--T", "10000000", "--batch", "1000")[::2])
    assert "--T x --batch x inputs" in line and "at most 1000000000" in line


def test_absurd_grids_are_refused_unless_asked_for(run, tmp_path):
    cfg = _write_config(tmp_path / "big.json", function="gradient_decay",
                        grid={"gain": [1 + i / 1000 for i in range(1000)], "T": list(range(1, 1001)),
                              "replicate": list(range(1000))})
    line = _one_error_line(*run("sweep", cfg, "--quiet")[::2])
    assert "1000000000 points (1000 gain x 1000 T x 1000 replicate)" in line and "--max-points" in line
    cfg = _write_config(tmp_path / "small.json", function="gradient_decay", grid={"T": [3, 4, 5]})
    assert "3 points" in _one_error_line(*run("sweep", cfg, "--quiet", "--max-points", "2")[::2])
    assert run("sweep", cfg, "--quiet", "--max-points", "3")[0] == 0
