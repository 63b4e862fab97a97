"""Sweeps on a real dask.distributed cluster: same bits as the local run; a killed worker loses nothing."""

import json
import os
import signal

import pytest

distributed = pytest.importorskip("distributed")

from rnnanalysis.experiments import Grid, Store, gradient_decay, sweep  # noqa: E402

GRID = Grid({"gain": [0.5, 1.0, 2.0], "replicate": range(3), "T": 40, "hidden": 16}, seed=5)
SLOW = Grid(  # 0.3 s a point
    {"gain": [0.8, 1.2], "replicate": range(4), "T": 4000, "hidden": 128, "batch": 8}, seed=6)


def test_dask_cluster_equals_local_process_pool_bit_for_bit(tmp_path):
    local = sweep(gradient_decay, GRID, max_workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = sweep(gradient_decay, GRID, client.get_executor(), store=tmp_path / "s.jsonl")
    assert on_dask.results == local.results
    assert [r["result"] for r in Store(tmp_path / "s.jsonl").read().records] != []
    resumed = sweep(gradient_decay, GRID, store=tmp_path / "s.jsonl", max_workers=1)
    assert resumed.computed == 0 and resumed.results == local.results


def test_killing_a_worker_mid_sweep_loses_no_finished_point(tmp_path):
    store = tmp_path / "s.jsonl"
    state = {"killed": None, "done_before_kill": 0}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:

        def kill_one_worker(done, total, record):
            if record is not None and state["killed"] is None and done >= 2:
                busy = client.processing()             # worker address -> tasks running there
                nanny = next(n for n in cluster.workers.values() if busy.get(n.worker_address))
                state["killed"] = nanny.process.process.pid
                state["done_before_kill"] = done
                state["bytes_before_kill"] = store.read_bytes()
                os.kill(state["killed"], signal.SIGKILL)

        res = sweep(gradient_decay, SLOW, client.get_executor(), store=store, progress=kill_one_worker)
    assert state["killed"] is not None and state["done_before_kill"] < len(SLOW)
    records = Store(store).read().records
    assert len(records) == len(SLOW) == len({r["key"] for r in records})      # each point once
    assert store.read_bytes().startswith(state["bytes_before_kill"])          # nothing rewritten
    again = sweep(gradient_decay, SLOW, store=store, max_workers=1)
    assert again.computed == 0 and again.results == res.results
    direct = sweep(gradient_decay, Grid(SLOW.axes, seed=SLOW.seed), max_workers=2)
    assert direct.results == res.results


def test_cli_sweep_on_a_scheduler_address(tmp_path, capsys):
    from rnnanalysis.cli import main

    cfg = tmp_path / "d.json"
    cfg.write_text('{"function": "gradient_decay", "grid": {"gain": [0.5, 1.0], "T": 20, "hidden": 8}}')
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        code = main(["sweep", str(cfg), "--scheduler", cluster.scheduler_address, "--json", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    local = sweep(gradient_decay, Grid({"gain": [0.5, 1.0], "T": 20, "hidden": 8}), max_workers=1)
    assert [r["result"] for r in json.loads(out)["records"]] == local.results
