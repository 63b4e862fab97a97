"""Sweeps on a local pool: results equal direct calls, interrupted sweeps resume, damage is skipped."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from rnnanalysis._results import Result
from rnnanalysis.experiments import Grid, Store, StoreWarning, SweepError, gradient_decay, sweep

GRID = Grid({"gain": [0.5, 1.0, 2.0], "replicate": range(2), "T": 30, "hidden": 8}, seed=11)


def _direct(grid):
    """The oracle: each point's function called here, in this process, with the grid's seed."""
    return [json.loads(json.dumps(_jsonable(gradient_decay(**p.kwargs, seed=p.seed)))) for p in grid]


def _jsonable(value):
    from rnnanalysis._results import jsonable

    return jsonable(value)


@pytest.fixture(scope="module")
def pool_run():
    return sweep(gradient_decay, GRID, max_workers=2)          # the default: a process pool


def test_process_pool_equals_direct_calls(pool_run):
    assert pool_run.results == _direct(GRID)
    assert pool_run.computed == len(GRID) and pool_run.resumed == 0
    assert [r["params"] for r in pool_run.records] == [p.params for p in GRID]


def test_any_executor_gives_the_same_bits(pool_run):
    with ThreadPoolExecutor(3) as ex:
        threaded = sweep(gradient_decay, GRID, ex)
    assert threaded.results == pool_run.results


def test_array_has_the_grid_shape(pool_run):
    rates = pool_run.array("rate_log10_per_step")
    assert rates.shape == (3, 2, 1, 1) and rates.dtype == float
    assert pool_run.array("log10_norm_mean").shape == (3, 2, 1, 1, 31)
    with pytest.raises(ValueError, match="not a key"):
        pool_run.array("nope")


def test_linear_rate_tracks_log10_gain():
    """Independent check of the numbers: linear Elman, iid N(0, g^2/n) W -> rate ~ log10 g."""
    grid = Grid({"gain": [0.5, 2.0], "replicate": range(4), "T": 60, "hidden": 128, "activation": "linear"})
    with ThreadPoolExecutor(2) as ex:
        rates = sweep(gradient_decay, grid, ex).array("rate_log10_per_step")
    assert np.allclose(rates.mean(axis=1).ravel(), np.log10([0.5, 2.0]), atol=0.03)


def test_gradient_decay_against_explicit_matrix_powers():
    """Linear Elman: log10 ||v^T W^k|| by repeated products, fitted by least squares by hand."""
    import rnnanalysis as ra

    seed, n, T = 123, 10, 30
    got = gradient_decay(hidden=n, T=T, gain=1.3, activation="linear", batch=2, seed=seed)
    cell = ra.Elman(n, 1, "linear", init="gaussian", gain=1.3, seed=np.random.default_rng(seed))
    W, v = cell.params["weight_hh"], np.full(n, n ** -0.5)
    norms, row = [], v
    for _ in range(T + 1):
        norms.append(np.log10(np.linalg.norm(row)))
        row = row @ W
    slope = np.polyfit(np.arange(T + 1), norms, 1)[0]
    np.testing.assert_allclose(got["log10_norm_mean"], norms, rtol=1e-10, atol=1e-12)
    assert got["rate_log10_per_step"] == pytest.approx(slope, rel=1e-10)


def test_interrupted_sweep_resumes_without_recomputing(tmp_path, pool_run):
    store = tmp_path / "s.jsonl"
    seen = []

    def stop_after_two(done, total, record):
        if record is not None:
            seen.append(record["key"])
            if len(seen) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(gradient_decay, GRID, store=store, max_workers=2, progress=stop_after_two)
    kept = Store(store).read().records
    assert [r["key"] for r in kept] == seen                    # everything reported is on disk
    before = store.read_bytes()
    calls = []
    res = sweep(gradient_decay, GRID, store=store, max_workers=2, progress=lambda *a: calls.append(a))
    assert res.resumed == 2 and res.computed == len(GRID) - 2
    assert calls[0] == (2, len(GRID), None)
    assert res.results == pool_run.results
    assert store.read_bytes().startswith(before)               # append-only
    again = sweep(gradient_decay, GRID, store=store)
    assert again.computed == 0 and again.results == pool_run.results


def test_corrupt_and_torn_records_are_reported_skipped_and_recomputed(tmp_path, pool_run):
    store = tmp_path / "s.jsonl"
    with ThreadPoolExecutor(2) as ex:
        sweep(gradient_decay, GRID, ex, store=store)
    lines = store.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"seed":', b'"seed":1', 1)    # altered
    lines[-2] = lines[-2][:40]                                 # torn
    store.write_bytes(b"\n".join(lines[:-1]))                  # and no final newline
    with pytest.warns(StoreWarning) as caught, ThreadPoolExecutor(2) as ex:
        res = sweep(gradient_decay, GRID, ex, store=store)
    assert len(caught) == 2
    assert res.computed == 2 and res.resumed == len(GRID) - 2 and res.skipped_lines == 2
    assert res.results == pool_run.results


def test_a_store_belongs_to_one_function_and_root_seed(tmp_path):
    store = tmp_path / "s.jsonl"
    grid = Grid({"x": [1, 2]}, seed=0)
    with ThreadPoolExecutor(1) as ex:
        sweep(_square, grid, ex, store=store)
        for fn, g in ((_cube, grid), (_square, Grid({"x": [1, 2]}, seed=1))):
            with pytest.raises(ValueError, match="holds another sweep"):
                sweep(fn, g, ex, store=store)
        res = sweep(_square, Grid({"x": [1, 2, 3]}, seed=0), ex, store=store)   # an axis may grow
    assert res.computed == 1 and res.results == [1, 4, 9]


def test_a_record_with_another_seed_does_not_hide_the_genuine_one(tmp_path):
    """Resume matches records by (point, seed): a valid record of the same point with another
    seed, earlier in the file, neither counts as finished nor masks the genuine record."""
    from rnnanalysis.experiments.store import checksum

    store = tmp_path / "s.jsonl"
    grid = Grid({"x": [1, 2]}, seed=0)
    with ThreadPoolExecutor(1) as ex:
        sweep(_square, grid, ex, store=store)
        lines = store.read_text().splitlines()
        stray = {k: v for k, v in json.loads(lines[1]).items() if k != "sha256"}
        stray.update(seed=stray["seed"] + 1, result=-1)
        lines.insert(1, json.dumps({**stray, "sha256": checksum(stray)}))
        store.write_text("\n".join(lines) + "\n")
        for _ in range(2):
            res = sweep(_square, grid, ex, store=store)
            assert res.computed == 0 and res.results == [1, 4]


def test_a_checksummed_record_without_result_is_recomputed(tmp_path):
    from rnnanalysis.experiments.store import checksum

    store = tmp_path / "s.jsonl"
    grid = Grid({"x": [1, 2]}, seed=0)
    with ThreadPoolExecutor(1) as ex:
        sweep(_square, grid, ex, store=store)
        lines = store.read_text().splitlines()
        bare = {k: v for k, v in json.loads(lines[1]).items() if k not in ("sha256", "result")}
        lines[1] = json.dumps({**bare, "sha256": checksum(bare)})
        store.write_text("\n".join(lines) + "\n")
        with pytest.warns(StoreWarning, match="no 'result' field"):
            res = sweep(_square, grid, ex, store=store)
    assert res.computed == 1 and res.results == [1, 4]


def _square(x, seed):
    return x * x


def _cube(x, seed):
    return x ** 3


def _fails_on_two(x, seed):
    if x == 2:
        raise ValueError("x=2 is bad")
    return x


def test_failing_points_raise_after_the_others_are_stored(tmp_path):
    store = tmp_path / "s.jsonl"
    with ThreadPoolExecutor(2) as ex, \
            pytest.raises(SweepError, match=r"1 of 3 points failed.*x=2 is bad") as e:
        sweep(_fails_on_two, {"x": [1, 2, 3]}, ex, store=store)
    assert isinstance(e.value.__cause__, ValueError)
    assert sorted(r["result"] for r in Store(store).read().records) == [1, 3]


def test_bad_arguments_fail_before_any_work(tmp_path):
    with pytest.raises(TypeError, match="cannot be called with the parameters"):
        sweep(gradient_decay, {"gian": [1.0]})
    with pytest.raises(TypeError, match="cannot be sent to worker processes"):
        sweep(lambda x, seed: x, {"x": [1]})
    with pytest.raises(TypeError, match="Executor"):
        sweep(_square, {"x": [1]}, executor="dask")
    with pytest.raises(TypeError, match="callable"):
        sweep(3, {"x": [1]})


def _not_json(x, seed):
    return object()


def test_non_json_results_are_a_clear_error():
    with ThreadPoolExecutor(1) as ex, pytest.raises(SweepError, match="not JSON-safe"):
        sweep(_not_json, {"x": [1]}, ex)


def test_non_finite_results_round_trip(tmp_path):
    store = tmp_path / "s.jsonl"
    with ThreadPoolExecutor(1) as ex:
        first = sweep(_inf_and_array, {"x": [1]}, ex, store=store)
        again = sweep(_inf_and_array, {"x": [1]}, ex, store=store)
    assert first.results == again.results == [{"a": [0.1, "inf", "nan"], "b": "-inf"}]
    assert again.computed == 0


def _inf_and_array(x, seed):
    return {"a": np.array([0.1, np.inf, np.nan]), "b": -np.inf}


def _dies_once(x, seed, marker):
    """Kills its own worker process the first time it runs x == 2 (the marker file says so)."""
    import os
    import signal
    from pathlib import Path

    if x == 2 and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x


def _always_dies(x, seed):
    import os
    import signal

    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x


def test_a_killed_local_worker_is_replaced_and_its_points_rerun(tmp_path):
    grid = Grid({"x": [1, 2, 3, 4], "marker": str(tmp_path / "died")})
    with pytest.warns(RuntimeWarning, match="worker process died; restarted"):
        res = sweep(_dies_once, grid, store=tmp_path / "s.jsonl", max_workers=2)
    assert (tmp_path / "died").exists() and res.results == [1, 4, 9, 16] and res.computed == 4


def test_a_point_that_always_kills_its_worker_fails_after_bounded_retries(tmp_path):
    store = tmp_path / "s.jsonl"
    with pytest.warns(RuntimeWarning), \
            pytest.raises(SweepError, match=r"1 of 3 points failed.*x': 2.*died each of the 3 times"):
        sweep(_always_dies, {"x": [1, 2, 3]}, store=store, max_workers=1)
    assert sorted(r["result"] for r in Store(store).read().records) == [1, 9]


def test_a_second_driver_on_the_same_store_is_refused(tmp_path):
    store = tmp_path / "s.jsonl"
    grid = Grid({"x": [1, 2]})
    with Store(store).writer("elsewhere:driver", 0, ["x"]), ThreadPoolExecutor(1) as ex, \
            pytest.raises(BlockingIOError, match="another sweep driver"):
        sweep(_square, grid, ex, store=store)


class _DiesWhenSent(Result):
    """A result whose conversion for sending kills the worker that made it (SIGKILL)."""

    def to_dict(self):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _killed_while_returning(x, seed, marker):
    """The first call returns normally and its worker is killed while it sends the result back
    (deterministic: killed inside the result's conversion, after ``fn`` returned)."""
    from pathlib import Path

    if not Path(marker).exists():
        Path(marker).touch()
        return _DiesWhenSent()
    return x


def test_a_worker_killed_while_sending_its_result_does_not_wedge_the_pool(tmp_path):
    import threading
    import warnings

    grid = Grid({"x": [1], "marker": str(tmp_path / "killed")})
    done = []
    runner = threading.Thread(target=lambda: done.append(sweep(_killed_while_returning, grid, max_workers=1)),
                              daemon=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner.start()
        runner.join(60)
    assert done, "the sweep hung after a worker died while sending its result"
    assert done[0].results == [1] and any("worker process died" in str(w.message) for w in caught)
