"""Attack run: hostile inputs against the command line and sweeps, counted.

Run from the repository root (a few minutes on 2 cores)::

    PYTHONPATH=$PWD nice python scripts/attack.py [--seed 0] [--quick]

Families: hostile weight files (predict/profile/check), argument fuzzing (random option values),
hostile sweep configs and damaged stores (the generator of tests/experiments/test_sweep_fuzz.py),
SIGKILL of the sweep driver (then: do its workers let go of its stdout, does a rerun resume every
finished point and give the reference results), SIGKILL of one worker of the local process pool,
and of one Dask worker; hostile cells and inputs through the time loops, compiled and NumPy's (the
same exception, warnings and bits expected); ra.predict, stationary_statistics and drift_for on
hostile cells and input descriptions. Columns: inputs tried, tracebacks (status 1 or a Python
traceback; for the API: an exception other than ValueError/TypeError), wrong exit codes (not 0/2,
or 2 without exactly one error line), hangs (past a deadline; for driver kills: workers outliving
the driver), silent wrong results (status 0 with NaN in the output, a result different from a
direct call, a write outside the allowed place), points lost (finished points not resumed). Every
problem is printed once with its input.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cli"), str(ROOT / "tests" / "experiments"),
                str(ROOT / "scripts" / "benchmarks")]

import numpy as np  # noqa: E402
from _timing import machine  # noqa: E402

from rnnanalysis.cli import main  # noqa: E402
from rnnanalysis.experiments import Grid, Store, gradient_decay, sweep  # noqa: E402

NAN = re.compile(r"\bnan\b", re.IGNORECASE)
COLUMNS = ("inputs", "tracebacks", "wrong_exit", "hangs", "silent_wrong", "points_lost")
DEADLINE_S = 60.0


class Tally:
    def __init__(self):
        self.rows = {}

    def add(self, family, column=None, note=""):
        row = self.rows.setdefault(family, dict.fromkeys(COLUMNS, 0))
        if column is None:
            row["inputs"] += 1
        else:
            row[column] += 1
            print(f"  [{family}] {column}: {note[:300]}", flush=True)

    def table(self):
        head = f"| {'family':<28} | " + " | ".join(COLUMNS) + " |"
        lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
        total = dict.fromkeys(COLUMNS, 0)
        for fam, row in self.rows.items():
            lines.append(f"| {fam:<28} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
            for c in COLUMNS:
                total[c] += row[c]
        lines.append(f"| {'total':<28} | " + " | ".join(str(total[c]) for c in COLUMNS) + " |")
        return "\n".join(lines)


def _in_process(argv):
    """(status, stdout, stderr) of main(argv) on a thread with a deadline; status None = hang."""
    out, err, result = io.StringIO(), io.StringIO(), []

    def target():
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                result.append(main(argv))
            except BaseException as exc:  # noqa: BLE001 - anything escaping main is a finding
                result.append(("escaped", repr(exc)))

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(DEADLINE_S)
    return (result[0] if result else None), out.getvalue(), err.getvalue()


def _judge(tally, family, argv, code, out, err):
    tally.add(family)
    what = f"{argv!r:.200} -> {code} {err.strip()[-200:]!r}"
    if code is None:
        tally.add(family, "hangs", what)
    elif isinstance(code, tuple) or code == 1 or "Traceback" in err:
        tally.add(family, "tracebacks", what)
    elif code not in (0, 2) or (code == 2 and sum(line.startswith("rnnanalysis: error: ")
                                                  for line in err.splitlines()) != 1):
        tally.add(family, "wrong_exit", what)
    elif code == 0 and NAN.search(out):
        line = next(x for x in out.splitlines() if NAN.search(x))
        tally.add(family, "silent_wrong", f"NaN printed with status 0 ({line.strip()[:120]!r}): " + what)


def hostile_files(tally, workdir):
    from test_cli_fuzz import BAD_FILES

    d = workdir / "files"
    d.mkdir()
    for name, data in BAD_FILES.items():
        (d / name).write_bytes(data)
    os.mkfifo(d / "fifo.npy")
    names = sorted(BAD_FILES) + ["fifo.npy", "missing.npy"]
    for name in names:
        for command in ("predict", "profile", "check"):
            argv = [command, str(d / name)] + (["--T", "5"] if command != "predict" else [])
            _judge(tally, "hostile weight files", argv, *_in_process(argv))


VALUES = ["0", "1", "2", "7", "-1", "-2", "2.5", "1e-300", "1e300", "1e400", "nan", "-inf", "inf",
          "99999999999999999999", "1" * 5000, "", " ", "x", "0x10", "1_000", "\x00", "ü", "1e3",
          "tanh", "relu", "linear", "sigmoid", "identity", "orthogonal", "gaussian", "lstm", "gru"]
OPTIONS = {"profile": ["--hidden", "--inputs", "--gain", "--T", "--batch", "--seed", "--init",
                       "--activation", "--kind"],
           "check": ["--hidden", "--inputs", "--gain", "--T", "--batch", "--seed", "--init", "--kind"],
           "predict": ["--input-std", "--activation", "--kind", "--max-bytes", "--prefix"],
           "derive": ["--activation", "--width"],
           "sweep": ["--workers", "--timeout", "--max-points"]}


def argument_fuzz(tally, rng, workdir, n):
    good = workdir / "good.npy"
    np.save(good, np.random.default_rng(0).standard_normal((4, 4)) / 2)
    cfg = workdir / "ok.json"
    cfg.write_text(json.dumps({"function": "gradient_decay", "grid": {"T": 3, "hidden": 2}}))
    for _ in range(n):
        command = rng.choice(sorted(OPTIONS))
        argv = [command]
        if command == "predict":
            argv.append(str(good))
        elif command == "derive":
            argv.append(rng.choice(["elman", "lstm", "gru", "x"]))
        elif command == "sweep":
            argv += [str(cfg), "--quiet"]
        for opt in rng.sample(OPTIONS[command], rng.randint(1, min(3, len(OPTIONS[command])))):
            argv += [opt, rng.choice(VALUES)]
        if command in ("profile", "check") and "--T" not in argv:
            argv += ["--T", "20"]
        if command in ("profile", "check") and "--hidden" not in argv:
            argv += ["--hidden", "4"]
        _judge(tally, "argument fuzzing", argv, *_in_process(argv))


def sweep_configs(tally, rng, workdir, n):
    import test_sweep_fuzz as fuzz

    fuzz.sweep_module.local_pool = lambda max_workers=None: ThreadPoolExecutor(2)

    class Capture:
        def __init__(self):
            self.out, self.err = io.StringIO(), io.StringIO()

        def readouterr(self):
            o, e = self.out.getvalue(), self.err.getvalue()
            for buf in (self.out, self.err):
                buf.seek(0)
                buf.truncate()
            return o, e

    cap = Capture()
    real_main = fuzz.main

    def captured_main(argv):
        with contextlib.redirect_stdout(cap.out), contextlib.redirect_stderr(cap.err):
            return real_main(argv)

    fuzz.main = captured_main
    for i in range(n):
        tally.add("hostile sweep configs/stores")
        try:
            fuzz._run_case(rng, workdir / f"cfg{i}", cap)
        except AssertionError as exc:
            msg = str(exc)
            column = ("hangs" if msg.startswith("hang") else "tracebacks" if "Traceback" in msg
                      else "points_lost" if "lost" in msg or "store rewritten" in msg
                      else "silent_wrong" if "wrong result" in msg or "outside" in msg else "wrong_exit")
            tally.add("hostile sweep configs/stores", column, msg)


def _sweep_cmd(cfg, workers=2):
    return [sys.executable, "-m", "rnnanalysis", "sweep", str(cfg), "--workers", str(workers), "--quiet"]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
KILL_GRID = {"gain": [0.8, 1.2], "replicate": list(range(6)), "T": 3000, "hidden": 32, "batch": 16}


def _start_kill_sweep(workdir, name, extra=(), **popen):
    """Write the kill grid's sweep config ``<name>.json`` and start its sweep in a new session."""
    cfg = workdir / f"{name}.json"
    cfg.write_text(json.dumps({"function": "gradient_decay", "grid": KILL_GRID, "seed": 3}))
    proc = subprocess.Popen(_sweep_cmd(cfg) + list(extra), stdout=subprocess.PIPE, env=ENV,
                            start_new_session=True, **popen)
    return cfg, proc


def _read_all(proc, got):
    got.append(proc.stdout.read())


def _reference():
    with ThreadPoolExecutor(2) as ex:
        return sweep(gradient_decay, Grid(KILL_GRID, seed=3), ex).results


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _resume_and_compare(tally, family, cfg, reference, kept):
    proc = subprocess.run(_sweep_cmd(cfg) + ["--json"], capture_output=True, text=True, env=ENV, timeout=600)
    if proc.returncode != 0:
        tally.add(family, "wrong_exit", f"resume exited {proc.returncode}: {proc.stderr[-300:]}")
        return
    data = json.loads(proc.stdout)
    if data["resumed"] < kept:
        tally.add(family, "points_lost", f"{kept} finished points on disk, {data['resumed']} resumed")
    if [r["result"] for r in data["records"]] != reference:
        tally.add(family, "silent_wrong", "resumed results differ from the reference run")


def driver_kills(tally, rng, workdir, n, reference):
    family = "SIGKILL of the sweep driver"
    for i in range(n):
        tally.add(family)
        cfg, proc = _start_kill_sweep(workdir, f"kill{i}", stderr=subprocess.DEVNULL)
        store = workdir / f"kill{i}.jsonl"
        want = rng.randint(0, 9)                        # finished points before the kill
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and \
                not (store.exists() and store.read_bytes().count(b"\n") >= 1 + want):
            time.sleep(0.01)
        time.sleep(rng.random() * 0.3)
        workers = _children(proc.pid)
        if proc.poll() is not None:                     # ended and reaped: its pid is no longer ours
            print(f"  (driver kill {i}: the sweep had already ended; not counted as a kill)")
        else:                                           # (if it ends now it stays a zombie until wait)
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        got = []
        reader = threading.Thread(target=_read_all, args=(proc, got), daemon=True)
        reader.start()
        reader.join(15)
        settle = time.monotonic() + 5                  # a dying worker closes its files, then turns zombie
        while time.monotonic() < settle and any(_alive(w) for w in workers):
            time.sleep(0.05)
        if not got or any(_alive(w) for w in workers):
            tally.add(family, "hangs", f"workers {[w for w in workers if _alive(w)]} outlived the driver")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        kept = len(Store(store).read(warn=False).records) if store.exists() else 0
        _resume_and_compare(tally, family, cfg, reference, kept)


def worker_kills(tally, rng, workdir, n, reference):
    family = "SIGKILL of a pool worker"
    for i in range(n):
        tally.add(family)
        _, proc = _start_kill_sweep(workdir, f"wkill{i}", ["--json"], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_children(proc.pid)) < 2:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.5)
        victims = _children(proc.pid)
        if victims and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(rng.choice(victims), signal.SIGKILL)
        else:
            print(f"  (worker kill {i}: the sweep had already ended)")
        try:
            out, err = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            tally.add(family, "hangs", "the sweep did not finish after a worker was killed")
            continue
        if proc.returncode != 0:
            tally.add(family, "wrong_exit", f"status {proc.returncode}: {err[-300:]}")
            continue
        if [r["result"] for r in json.loads(out)["records"]] != reference:
            tally.add(family, "silent_wrong", "results differ from the reference run")


def dask_worker_kills(tally, rng, workdir, n, reference):
    family = "SIGKILL of a Dask worker"
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("  (dask.distributed not installed: Dask worker kills skipped)")
        return
    for i in range(n):
        tally.add(family)
        store = workdir / f"dask{i}.jsonl"
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            victim = rng.choice(list(client.run(os.getpid).values()))
            killer = threading.Timer(0.5 + rng.random(), os.kill, args=(victim, signal.SIGKILL))
            killer.start()
            try:
                res = sweep(gradient_decay, Grid(KILL_GRID, seed=3), client.get_executor(), store=store)
            except Exception as exc:  # noqa: BLE001
                tally.add(family, "wrong_exit", f"{type(exc).__name__}: {exc}")
                continue
            finally:
                killer.cancel()
            if res.results != reference:
                tally.add(family, "silent_wrong", "results differ from the reference run")


# ---- the compiled time loops against the NumPy loops ---------------------------------------

KINDS = ("Elman", "LSTM", "GRU", "LayerNormElman", "LayerNormLSTM", "Stack", "Subclass")
LAYOUTS = ("c", "fortran", "transposed", "negative", "readonly", "strided", "float32", "huge", "list",
           "c", "fortran", "transposed", "negative", "readonly", "strided", "float32", "huge", "list",
           "int", "float16", "complex", "object", "nan", "inf")


def _cases(tally, family, n, make):
    """Count n attempts of ``family`` and yield the cases ``make()`` builds; a case the public
    constructors refuse (ValueError/TypeError) is a correct refusal, not a case to run."""
    for _ in range(n):
        tally.add(family)
        try:
            yield make()
        except (ValueError, TypeError):
            continue


def _hostile_cell(rng, ra):
    kind = rng.choice(KINDS)
    act = rng.choice(["tanh", "tanh", "relu", "sigmoid", "linear", "custom"])
    if act == "custom":
        act = ra.custom_activation(np.tanh, lambda a: 1 - np.tanh(a) ** 2, gamma=1.0, name="tanh")
    kw = dict(seed=rng.randrange(100), dtype=rng.choice([np.float64, np.float32]),
              ensemble=rng.choice([None, None, 1, 3]), gain=rng.choice([0.5, 1.0, 1.5, 4.0, 1e200]))
    n, m = rng.choice([1, 2, 5, 33]), rng.choice([1, 3])
    if kind == "Stack":
        layers = [getattr(ra, rng.choice(["Elman", "LSTM", "GRU"]))(n, m if i == 0 else n, act, **kw)
                  for i in range(2)]
        return ra.Stack(layers), f"Stack {[type(c).__name__ for c in layers]} n={n} m={m} {act!s:.20} {kw}"
    if kind == "Subclass":
        class Sub(getattr(ra, rng.choice(["Elman", "LSTM", "GRU"]))):
            pass
        return Sub(n, m, act, **kw), f"Sub({Sub.__mro__[1].__name__}) n={n} m={m} {act!s:.20} {kw}"
    return getattr(ra, kind)(n, m, act, **kw), f"{kind} n={n} m={m} {act!s:.20} {kw}"


def _hostile_array(rng, shape, layout):
    a = np.random.default_rng(rng.randrange(1 << 30)).normal(size=shape)
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "transposed":
        return np.ascontiguousarray(a.T).T
    if layout == "negative":
        return np.ascontiguousarray(a[::-1])[::-1]
    if layout == "readonly":
        a.flags.writeable = False
    elif layout == "strided":
        return np.repeat(a, 2, axis=-1)[..., ::2]
    elif layout in ("int", "float16", "float32", "complex", "object"):
        return (a * 3).astype({"int": np.int64, "float16": np.float16, "float32": np.float32,
                               "complex": np.complex128, "object": object}[layout])
    elif layout in ("nan", "inf") and a.size:
        a.flat[rng.randrange(a.size)] = np.nan if layout == "nan" else np.inf
    elif layout == "list":
        return a.tolist()
    elif layout == "huge":
        return a * 1e4
    return a


def _outcome(fn):
    """('ok', value) or ('raised', exception)."""
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 - compared between the two paths
        return "raised", exc


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _kernel_calls(ra, cell, xs, h0, grad, every, checkpoint):
    lead = (cell.ensemble,) if cell.ensemble else ()
    out = {"states": lambda: ra.simulate(cell, xs, h0).states,
           "bptt": lambda: (lambda r: {"adj": r.adjoints, "gx": r.grad_xs, **r.grads})(
               ra.bptt(cell, xs, grad, h0, checkpoint=checkpoint)),
           "profile": lambda: ra.gradient_profile(cell, xs, h0, checkpoint=checkpoint).log10_norms,
           "products": lambda: ra.jacobian_products(cell, xs, h0, top=1).log10_sigma_max}
    if every is not None:
        out["bptt every"] = lambda: ra.bptt(cell, xs, every, h0, at="every").adjoints
    del lead
    return out


def compiled_loops(tally, rng, n):
    """Hostile cells and inputs through simulate/bptt/gradient_profile/jacobian_products with
    the compiled loops and with the NumPy loops: the same exception or the same bits."""
    import warnings

    import rnnanalysis as ra

    family = "compiled time loops"
    if not ra.has_compiled_loops():
        print("  (compiled loops not built: python setup.py build_ext --inplace; family skipped)")
        return
    for cell, what in _cases(tally, family, n, lambda: _hostile_cell(rng, ra)):
        T, B = rng.choice([0, 1, 1, 2, 3, 17, 70, 70]), rng.choice([1, 2, 4])
        layout = rng.choice(LAYOUTS)
        lead = (cell.ensemble,) if cell.ensemble else ()
        xs = _hostile_array(rng, (T, B, cell.inputs), layout)
        h0 = (None if rng.random() < 0.5 else
              _hostile_array(rng, lead + (B, cell.hidden), rng.choice(LAYOUTS)))
        grad = _hostile_array(rng, lead + (B, cell.hidden), rng.choice(["c", "c", "transposed", "float32"]))
        every = _hostile_array(rng, (T,) + lead + (B, cell.hidden), "c") if rng.random() < 0.3 else None
        checkpoint = rng.choice([None, None, 1, 2, 5, True])
        errstate = rng.choice(["default", "raise", "ignore"])
        what = f"{what} T={T} B={B} xs={layout} h0={type(h0).__name__} ckpt={checkpoint} err={errstate}"
        for name, call in _kernel_calls(ra, cell, xs, h0, grad, every, checkpoint).items():
            results = []
            for enabled in (True, False):
                with ra.compiled_loops(enabled), warnings.catch_warnings(record=True) as warned, \
                        (np.errstate(all=errstate) if errstate != "default" else contextlib.nullcontext()):
                    warnings.simplefilter("always")
                    results.append((*_outcome(call), sorted({str(w.message).split(" encountered")[0]
                                                             for w in warned})))
            (fast_s, fast, fast_w), (slow_s, slow, slow_w) = results
            note = f"{name}: {what}"
            asked = errstate == "raise" and isinstance(fast, FloatingPointError)   # the user's errstate
            if fast_s != slow_s or asked and not isinstance(slow, FloatingPointError):
                tally.add(family, "silent_wrong", f"compiled {fast_s} {fast!r:.80}, NumPy {slow_s} "
                          f"{slow!r:.80} <- {note}")
            elif fast_s == "raised" and not asked and not isinstance(fast, (ValueError, TypeError)):
                tally.add(family, "tracebacks", f"{type(fast).__name__}: {fast} <- {note}")
            elif fast_s == "ok" and not _same(fast, slow):
                tally.add(family, "silent_wrong", f"compiled result differs from NumPy's <- {note}")
            elif fast_w != slow_w:
                tally.add(family, "silent_wrong", f"warnings {fast_w} compiled vs {slow_w} NumPy <- {note}")


def compiled_threads(tally, rounds):
    """Profiles, trajectories and gradients of five cells on four threads at once (the replay
    releases the GIL), each equal bit for bit to the same call alone and to the NumPy loops."""
    import rnnanalysis as ra

    family = "compiled time loops"
    cells = [ra.LSTM(16, 3, seed=1), ra.GRU(16, 3, seed=2, dtype=np.float32),
             ra.Elman(32, 3, seed=3, ensemble=4), ra.Elman(8, 3, "relu", seed=4),
             ra.LSTM(24, 3, seed=5, ensemble=3, dtype=np.float32)]
    xs = np.random.default_rng(0).normal(size=(300, 4, 3))

    def job(c):
        grad = np.ones(((c.ensemble,) if c.ensemble else ()) + (4, c.hidden))
        return (ra.gradient_profile(c, xs).log10_norms, ra.simulate(c, xs).states,
                ra.bptt(c, xs, grad).grads["weight_hh"])

    alone = [job(c) for c in cells]
    with ra.compiled_loops(False):
        slow = [job(c) for c in cells]
    for _ in range(rounds):
        tally.add(family)
        with ThreadPoolExecutor(4) as ex:
            together = list(ex.map(job, cells * 2))
        for got, want, numpy_loops, cell in zip(together, alone * 2, slow * 2, cells * 2, strict=True):
            if not all(map(_same, got, want)) or not all(map(_same, want, numpy_loops)):
                tally.add(family, "silent_wrong", f"{cell!r} on 4 threads differs from alone / NumPy's loops")


def _protocol_calls(cell, xs, frozen):
    s0 = np.zeros((xs.shape[1], cell.state_size))
    fc = cell.run(xs, s0)
    g = np.ones(s0.shape)
    u = cell.project(xs)
    return {"forward(read-only u)": lambda: cell.forward(frozen, s0)[0],
            "forward(float32 u)": lambda: cell.forward(u.astype(np.float32), s0)[0],
            "backward_steps(float32 out)": lambda: cell.backward_steps(
                fc.cache, 0, len(xs), g, np.zeros((len(xs),) + g.shape, np.float32)),
            "backward_steps(lo=-2)": lambda: cell.backward_steps(
                fc.cache, -2, len(xs), g, np.zeros((len(xs) + 2,) + g.shape))}


def compiled_protocol(tally):
    """The cell protocol's forward/backward_steps called directly with operands the replay
    must not take as they are (read-only or float32 in a float64 cell, a negative first step):
    the same exception or the same bits on both paths, and read-only memory left unchanged."""
    import rnnanalysis as ra

    family = "compiled time loops"
    xs = np.random.default_rng(0).normal(size=(6, 3, 2))
    for kind in ("Elman", "LSTM", "GRU"):
        cell = getattr(ra, kind)(4, 2, seed=0)
        u = cell.project(xs)
        frozen = u.copy()
        frozen.flags.writeable = False
        for name, call in _protocol_calls(cell, xs, frozen).items():
            tally.add(family)
            with ra.compiled_loops(True):
                fast_s, fast = _outcome(call)
            with ra.compiled_loops(False):
                slow_s, slow = _outcome(call)
            if fast_s != slow_s or fast_s == "ok" and not _same(fast, slow) or not _same(frozen, u):
                tally.add(family, "silent_wrong", f"{kind}.{name}: compiled {fast_s} {fast!r:.60}, "
                          f"NumPy {slow_s} {slow!r:.60}")


# ---- the predictors: ra.predict on hostile cells and input descriptions ---------------------

STDS = [1.0, 0.0, 1e-12, 0.3, 3.0, 1e6, 1e200, -1.0, float("nan"), float("inf"), "x", None, True, [1.0, 2.0]]


def _predictor_case(rng, ra):
    """(description, call) of one ra.predict / stationary_statistics / drift_for on a hostile cell."""
    kind = rng.choice(["Elman", "Elman", "LSTM", "GRU", "LayerNormElman", "Stack", "W"])
    act = rng.choice(["tanh", "tanh", "relu", "sigmoid", "linear", "custom"])
    if act == "custom":
        act = ra.custom_activation(lambda a: a / (1 + np.abs(a)), lambda a: 1 / (1 + np.abs(a)) ** 2,
                                   gamma=1.0, name="softsign")
    n, m = rng.choice([1, 2, 7, 40, 130]), rng.choice([1, 3])
    kw = dict(seed=rng.randrange(100), dtype=rng.choice([np.float64, np.float32]),
              ensemble=rng.choice([None, None, None, 2]),
              gain=rng.choice([0.0, 0.5, 1.0, 1.5, 3.0, 1e3, 1e200]),
              init=rng.choice(["pytorch", "orthogonal"]))
    if kind == "W":
        W = np.random.default_rng(kw["seed"]).normal(size=(n, n)) * kw["gain"] / np.sqrt(n)
        target, what = W, f"W n={n} gain={kw['gain']}"
    elif kind == "Stack":
        target = ra.Stack([ra.Elman(n, m, act, seed=1), ra.Elman(n, n, act, seed=2)])
        what = f"Stack n={n}"
    else:
        target = getattr(ra, kind)(n, m, act, **kw)
        what = f"{kind} n={n} m={m} {act!s:.20} {kw}"
    if rng.random() < 0.2 and kind != "W" and kind != "Stack":        # zero weights
        target = target.with_params({k: np.zeros_like(v) for k, v in target.params.items()})
        what += " zero weights"
    how = rng.choice(["std", "std", "inputs", "variance", "none"])
    data = np.random.default_rng(1).normal(size=(rng.choice([1, 2, 50]), rng.choice([1, 4]), m))
    shape = rng.choice(["normal", "zero", "constant", "nan", "huge", "int"])
    data = {"normal": data, "zero": 0 * data, "constant": np.ones_like(data),
            "nan": np.where(data > 1, np.nan, data), "huge": data * 1e200,
            "int": (data * 3).astype(int)}[shape]
    arg = {"std": {"input_std": rng.choice(STDS)}, "variance": {"input_variance": rng.choice(STDS)},
           "inputs": {"inputs": data if kind != "W" else data[..., :1]}, "none": {}}[how]
    what += f" {how}={shape if how == 'inputs' else next(iter(arg.values()), None)!r}"
    fn = rng.choice(["predict", "predict", "stationary", "drift"])
    if fn == "predict" or kind == "W":
        return what + " predict", lambda: ra.predict(target, **arg)
    if fn == "stationary":
        return what + " stationary_statistics", lambda: ra.stationary_statistics(target, **arg)
    from rnnanalysis.predict.drift import drift_for

    return what + " drift_for", lambda: drift_for(target, ra.stationary_statistics(target, **arg), **arg)


def _nan_fields(result):
    """Names of float fields of a result that are NaN (where a number is defined)."""
    import dataclasses

    if result is None or not dataclasses.is_dataclass(result):
        return []
    bad = []
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        if isinstance(v, float) and math.isnan(v) or isinstance(v, np.ndarray) and v.dtype.kind == "f" \
                and np.isnan(v).any():
            bad.append(f.name)
    return bad


#: Fields that are NaN by design where their predictor does not apply (as documented): the
#: mean-field rate of gated cells, the condition number of a matrix beyond the dense SVD, the
#: drift orbit's rate unless it decides (and its kick ratio once it settled).
NAN_BY_DESIGN = {"log10_rate_drift", "log10_rate_stochastic", "log10_rate_stochastic_se",
                 "log10_rate_fixed_point", "log_scale", "condition_number", "log10_rate"}


def _undefined_nan(value, what):
    nan = set(_nan_fields(value)) - NAN_BY_DESIGN
    if what.split(" ")[0] not in ("Elman", "W") or "1e+200" in what:     # gated; |W| beyond 1e150
        nan.discard("log10_rate_mean_field")
    if getattr(value, "settled", False):
        nan.discard("kick_ratio")
    return sorted(nan)


def predictors(tally, rng, n):
    """ra.predict / stationary_statistics / drift_for on hostile cells (zero weights, n = 1,
    float32, ensembles, Stack, LayerNorm, custom activations) and input descriptions (NaN,
    negative, huge std; zero, constant, NaN, integer inputs): a ValueError/TypeError naming
    the argument or a finite result, within the deadline."""
    import rnnanalysis as ra

    family = "predictors"
    for what, call in _cases(tally, family, n, lambda: _predictor_case(rng, ra)):
        result, start = [], time.monotonic()
        t = threading.Thread(target=lambda r=result, c=call: r.append(_outcome(c)), daemon=True)
        t.start()
        t.join(DEADLINE_S / 2)
        took = time.monotonic() - start
        if not result:
            tally.add(family, "hangs", f"> {DEADLINE_S / 2:.0f} s <- {what}")
            t.join()
            continue
        status, value = result[0]
        if status == "raised":
            if not isinstance(value, (ValueError, TypeError)) or "\n" in str(value):
                tally.add(family, "tracebacks", f"{type(value).__name__}: {value} <- {what}")
            elif not re.match(r"[\w \[\]'.]+: ", str(value)) and "not " not in str(value):
                tally.add(family, "wrong_exit", f"error names no argument: {value} <- {what}")
            continue
        nan = _undefined_nan(value, what)
        if nan:
            tally.add(family, "silent_wrong", f"NaN in {nan} ({took:.1f} s) <- {what}")


def run(seed=0, quick=False):
    rng = random.Random(seed)
    tally = Tally()
    scale = 1 if quick else 4
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rnnanalysis-attack-") as tmp:
        work = Path(tmp)
        print("hostile weight files ...", flush=True)
        hostile_files(tally, work)
        print("argument fuzzing ...", flush=True)
        argument_fuzz(tally, rng, work, 60 * scale)
        print("hostile sweep configs and stores ...", flush=True)
        sweep_configs(tally, rng, work, 100 * scale)
        reference = _reference()
        print("driver kills ...", flush=True)
        driver_kills(tally, rng, work, 4 * scale, reference)
        print("pool worker kills ...", flush=True)
        worker_kills(tally, rng, work, scale, reference)
        print("Dask worker kills ...", flush=True)
        dask_worker_kills(tally, rng, work, scale, reference)
        print("compiled time loops against NumPy's ...", flush=True)
        compiled_loops(tally, rng, 100 * scale)
        compiled_threads(tally, 2 * scale)
        compiled_protocol(tally)
        print("predictors ...", flush=True)
        predictors(tally, rng, 60 * scale)
    print(f"\nattack run, seed {seed}{' (quick)' if quick else ''}, {time.monotonic() - start:.0f} s on "
          f"{machine()}\n")
    print(tally.table())
    return tally


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    run(a.seed, a.quick)
