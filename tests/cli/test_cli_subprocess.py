"""Real processes: `python -m rnnanalysis` errors, and a sweep killed with SIGKILL that resumes."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.experiments import Grid, Store, gradient_decay, sweep

ROOT = Path(__file__).resolve().parents[2]


def _python_m(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "rnnanalysis", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120, **kw)


def test_python_m_bad_file_and_bad_arguments(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((3, 3)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "w.npy").read_bytes()[:100])
    for args in (["profile", tmp_path / "cut.npy"], ["profile", "--hidden", "zero"]):
        proc = _python_m(*args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("rnnanalysis: error: ")
    ok = _python_m("profile", tmp_path / "w.npy", "--activation", "linear", "--T", "5", "--json")
    assert ok.returncode == 0 and ok.stderr == ""
    assert json.loads(ok.stdout)["log10_norm_mean"][1] > 0        # ones(3,3): norm grows ~3x per step


def test_sweep_killed_with_sigkill_resumes_losing_nothing(tmp_path):
    grid = {"gain": [0.9, 1.1], "replicate": [0, 1, 2, 3], "T": 1500, "hidden": 32, "batch": 16}
    cfg = tmp_path / "kill.json"
    cfg.write_text(json.dumps({"function": "gradient_decay", "grid": grid, "seed": 1}))
    store = tmp_path / "kill.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "rnnanalysis", "sweep", str(cfg), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists() and store.read_bytes().count(b"\n") >= 3:      # header + 2 points
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)          # the driver and its worker, mid-sweep
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    kept = Store(store).read(warn=False).records
    assert 2 <= len(kept) < 8, "the sweep was not interrupted in the middle"
    before = store.read_bytes()
    done = _python_m("sweep", cfg, "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["resumed"] == len(kept) and data["computed"] == 8 - len(kept)
    assert store.read_bytes().startswith(before)
    with ThreadPoolExecutor(2) as ex:
        reference = sweep(gradient_decay, Grid(grid, seed=1), ex)
    assert [r["result"] for r in data["records"]] == reference.results


def test_console_script_when_installed():
    exe = shutil.which("rnnanalysis")
    if exe is None:
        pytest.skip("the package is not installed (pip install -e .) so there is no console script")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"rnnanalysis {ra.__version__}"


def test_workers_exit_when_the_driver_is_killed(tmp_path):
    """SIGKILL to the driver alone: its pool workers must not live on holding its stdout, so a
    caller reading that output sees end-of-file at once instead of hanging."""
    grid = {"gain": [0.9, 1.1], "replicate": list(range(6)), "T": 3000, "hidden": 32, "batch": 16}
    cfg = tmp_path / "orphan.json"
    cfg.write_text(json.dumps({"function": "gradient_decay", "grid": grid}))
    store = tmp_path / "orphan.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "rnnanalysis", "sweep", str(cfg), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (store.exists() and store.read_bytes().count(b"\n") >= 2):
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)                # the driver only
        proc.wait(timeout=30)
        eof = []
        reader = threading.Thread(target=lambda: eof.append(proc.stdout.read()), daemon=True)
        reader.start()
        reader.join(15)
        assert eof, "pool workers outlived the driver and still hold its stdout"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)          # whatever is left of the group
        except ProcessLookupError:
            pass
