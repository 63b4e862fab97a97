"""Fuzzing `rnnanalysis sweep` with hostile configs and damaged stores (a seeded generator).

Every case must end with status 0, or with status 2 and exactly one ``rnnanalysis: error:``
line; never a traceback or another status, never a hang (each case has a deadline), never a
write outside the config's directory (or the ``--store`` the command line named), never a
finished point lost (a store of the sweep only grows, and its genuine records are resumed),
and on success every result equals a direct call of the point's function.

The default run tries cases for about three seconds; ``-m slow`` runs a longer variant.
Points run on threads here (the process pool is exercised by test_sweep and the CLI tests).
"""

import hashlib
import importlib
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rnnanalysis._results import jsonable
from rnnanalysis.cli import main
from rnnanalysis.experiments import Grid, Store, gradient_decay
from rnnanalysis.experiments.store import checksum

sweep_module = importlib.import_module("rnnanalysis.experiments.sweep")

DEADLINE_S = 20.0

AXIS_VALUES = [[0.5, 1.5], [1, 1.0], [], [float("nan")], ["x"], [[1]], [{"a": 1}], [True, False],
               [-2], [10 ** 30], "linear", 3, 2.5, None, [1e308, -1e308], list(range(4)), ["tanh", "linear"]]
AXIS_NAMES = ["gain", "T", "hidden", "activation", "replicate", "seed", "bogus", "1bad", "", "batch"]
STORES = ["s.jsonl", "sub/s.jsonl", "../outside.jsonl", "/tmp/rnnanalysis-fuzz-abs.jsonl", "", "c.json",
          "./c.json", "a/../../x.jsonl", "fifo", "link_out", "/dev/zero", "x\u0000y", "n" * 300, ".", "sub",
          5, None, ["s"]]


def _grid(rng):
    grid = {"T": rng.choice([2, 3]), "hidden": rng.choice([2, 3]), "batch": 1}
    grid[rng.choice(["gain", "replicate"])] = rng.choice([[0.5, 1.5], [0, 1], [0.9]])
    for _ in range(rng.choice([0, 0, 0, 0, 1, 2])):
        grid[rng.choice(AXIS_NAMES)] = rng.choice(AXIS_VALUES)
    return grid


def _config_text(rng, cfg):
    text = json.dumps(cfg)
    damage = rng.randrange(24)
    if damage == 0:
        return text[: rng.randrange(len(text))]
    if damage == 1:
        return "[" * 50_000 + "]" * 50_000
    if damage == 2:
        return text[:-1] + ', "function": "gradient_decay"}'                       # duplicate key
    if damage == 3:
        return "\ufeff" + text
    if damage == 4:
        return text.replace('"', "'", 1)
    if damage == 5:
        return json.dumps([cfg])
    if damage == 6:
        return text[:-1] + ', "extra": 1}'
    if damage == 7:
        return '{"a": ' * 3000 + "1" + "}" * 3000
    return text


def _damaged_store(rng, path, genuine_lines):
    """A store at ``path``: genuine lines (header + records of this sweep) with damage."""
    lines = list(genuine_lines)
    last = json.loads(lines[-1])                                          # an intact record
    for _ in range(rng.randrange(1, 4)):
        kind = rng.randrange(10)
        i = rng.randrange(len(lines)) if lines else 0
        if kind == 0 and lines:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif kind == 1 and lines:
            b = bytearray(lines[i])
            if b:
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            lines[i] = bytes(b)
        elif kind == 2:
            lines.insert(i, b"[" * 100_000)
        elif kind == 3 and len(lines) > 1:
            rec = {k: v for k, v in last.items() if k != "sha256"}
            rec["seed"] += 1
            rec["result"] = "forged with another seed"
            lines.insert(1, json.dumps({**rec, "sha256": checksum(rec)}).encode())
        elif kind == 4 and len(lines) > 1:
            rec = {k: v for k, v in last.items() if k not in ("sha256", "result")}
            lines.insert(1, json.dumps({**rec, "sha256": checksum(rec)}).encode())
        elif kind == 5:
            lines = [b"my notes, not a store"] + lines[1:]
        elif kind == 6:
            lines.insert(i, b"\xff\xfe\x00garbage")
        elif kind == 7:
            head = {"format": "rnnanalysis-sweep-store", "version": 1, "fn": "other:fn", "root_seed": 0,
                    "axes": ["x"]}
            lines = [json.dumps({**head, "sha256": checksum(head)}).encode()] + lines[1:]
        elif kind == 8:
            lines = lines[1:]                                                       # headerless
        else:
            lines.append(b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + rng.choice([b"", b"\n"]))


def _snapshot(root, allowed):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            p = Path(dirpath) / name
            if any(p == a or a in p.parents for a in allowed):
                continue
            st = os.lstat(p)
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
            out[str(p)] = (st.st_mode, st.st_size, digest)
    return out


def _run_case(rng, root, capsys):
    cfgdir = root / "cfg"
    cfgdir.mkdir(parents=True)
    (root / "outside.jsonl").write_text("outside, must stay as it is\n")
    os.mkfifo(cfgdir / "fifo")
    os.symlink(root / "outside.jsonl", cfgdir / "link_out")
    (cfgdir / "sub").mkdir()
    cfg = {"function": rng.choice(["gradient_decay"] * 12 + ["nope", 3]), "grid": _grid(rng),
           "seed": rng.choice([0, 0, 0, 0, 0, 1, 1, -1, 2.5, "0", 2 ** 70])}
    if rng.random() < 0.8:
        cfg["store"] = rng.choice(["s.jsonl"] * 8 + ["sub/s.jsonl"] * 4 + STORES)
    config = cfgdir / "c.json"
    config.write_text(_config_text(rng, cfg))
    argv = ["sweep", str(config), "--quiet", "--json"]
    allowed = [cfgdir]
    if rng.random() < 0.2:
        cli_store = root / "cli.jsonl"
        argv += ["--store", str(cli_store)]
        allowed.append(cli_store)
    # a store of this very sweep, from an earlier run, possibly damaged
    store_path = None
    if len(allowed) == 1 and isinstance(cfg.get("store", "c.jsonl"), str) and rng.random() < 0.6:
        try:
            store_path = (cfgdir / cfg.get("store", "c.jsonl")).resolve()
            loaded = Grid(cfg["grid"], seed=cfg["seed"])
            fresh = cfgdir in store_path.parents and not store_path.exists()
        except (ValueError, TypeError, OSError, KeyError):
            store_path, fresh = None, False
        if fresh:
            with ThreadPoolExecutor(1) as ex:
                try:
                    sweep_module.sweep(gradient_decay, loaded, ex, store=store_path)
                except Exception:
                    store_path = None
            if store_path is not None and rng.random() < 0.7:
                _damaged_store(rng, store_path, store_path.read_bytes().splitlines())
        else:
            store_path = None
    before_store = store_path.read_bytes() if store_path is not None else None
    genuine = (len(sweep_module._finished(Store(store_path).read(warn=False), sweep_module.function_name(
        gradient_decay), loaded)) if store_path is not None else 0)
    before = _snapshot(root, allowed)
    capsys.readouterr()
    result = []
    worker = threading.Thread(target=lambda: result.append(main(argv)), daemon=True)
    worker.start()
    worker.join(DEADLINE_S)
    out, err = capsys.readouterr()
    what = f"config {config.read_bytes()[:300]!r} argv {argv[2:]}"
    assert result, f"hang: {what}"
    code = result[0]
    assert "Traceback" not in err, what
    assert code in (0, 2), f"status {code}: {err} {what}"
    errors = [line for line in err.splitlines() if line.startswith("rnnanalysis: error: ")]
    assert len(errors) == (code == 2), f"{err} {what}"
    assert all(line.startswith("rnnanalysis: ") for line in err.splitlines()), err
    assert _snapshot(root, allowed) == before, f"wrote outside the allowed place: {what}"
    if before_store is not None:
        assert store_path.read_bytes().startswith(before_store), f"store rewritten: {what}"
    if code == 0:
        data = json.loads(out)
        assert data["resumed"] == genuine or store_path is None, f"finished points lost: {what}"
        grid = Grid(json.loads(config.read_text())["grid"], seed=data["grid"]["seed"])
        for rec, point in zip(data["records"], grid, strict=True):
            want = json.loads(json.dumps(jsonable(gradient_decay(**point.kwargs, seed=point.seed))))
            assert rec["result"] == want, f"silent wrong result at {point.params}: {what}"
    return code


def _fuzz(tmp_path, capsys, monkeypatch, seed, budget_s, max_cases):
    monkeypatch.setattr(sweep_module, "local_pool", lambda max_workers=None: ThreadPoolExecutor(2))
    rng = random.Random(seed)
    start, codes = time.monotonic(), []
    while time.monotonic() - start < budget_s and len(codes) < max_cases:
        codes.append(_run_case(rng, tmp_path / f"case{len(codes)}", capsys))
    print(f"sweep fuzz: {len(codes)} cases, {codes.count(0)} ran, {codes.count(2)} refused")
    assert len(codes) >= 5 and codes.count(0) >= 1 and codes.count(2) >= 1, codes


def test_hostile_sweep_configs_and_stores(tmp_path, capsys, monkeypatch):
    _fuzz(tmp_path, capsys, monkeypatch, seed=20261130, budget_s=3.0, max_cases=200)


@pytest.mark.slow
def test_hostile_sweep_configs_and_stores_long(tmp_path, capsys, monkeypatch):
    _fuzz(tmp_path, capsys, monkeypatch, seed=7, budget_s=120.0, max_cases=3000)
