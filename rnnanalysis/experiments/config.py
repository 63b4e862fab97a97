"""Sweep configurations as JSON files, for ``rnnanalysis sweep CONFIG``.

A config names a built-in function (:data:`~rnnanalysis.experiments.functions.SWEEP_FUNCTIONS`),
its grid (axis -> list of values, or a single value for a fixed parameter), the root seed and
the store: a path relative to the config file's directory that must stay inside it (default:
the config's name with ``.jsonl``). A config is something people share, so it cannot point
the store elsewhere; the command line can (``rnnanalysis sweep CONFIG --store PATH``)::

    {"function": "gradient_decay",
     "grid": {"gain": [0.5, 1.0, 2.0], "replicate": [0, 1, 2], "T": 200, "hidden": 64},
     "seed": 0,
     "store": "gain.jsonl"}
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .functions import SWEEP_FUNCTIONS
from .grid import MAX_POINTS, Grid

__all__ = ["SweepConfig", "load_config"]

KEYS = {"function", "grid", "seed", "store"}
MAX_CONFIG_BYTES = 1 << 24                          # 16 MiB


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"key {key!r} appears twice in one object")
        obj[key] = value
    return obj


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_CONFIG_BYTES; FIFOs and devices refused unopened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: not a regular file")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: {st.st_size} bytes; a sweep config is at most {MAX_CONFIG_BYTES}")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a regular file")
        return os.read(fd, MAX_CONFIG_BYTES + 1)[:MAX_CONFIG_BYTES + 1]
    finally:
        os.close(fd)


def _store_path(path: Path, cfg: dict, override) -> Path:
    """The store: ``override`` (from the command line) as given, else the config's ``"store"``
    resolved against the config's directory, which it may not leave."""
    if override is not None:
        store = Path(override)
    else:
        name = cfg.get("store", path.with_suffix(".jsonl").name)
        if not isinstance(name, str) or not name or "\0" in name:
            raise TypeError(f"store: expected a file path string, got {name!r:.80}")
        base = path.parent.resolve()
        store = (base / name).resolve()
        if Path(name).is_absolute() or not store.is_relative_to(base):
            raise ValueError(f"store: {name!r} is outside the config's directory {base}; a config may "
                             f"only name a store beside it (give another place with --store PATH)")
    if store.resolve() == path.resolve():
        raise ValueError(f"store: {str(store)!r} is the config file itself")
    return store


@dataclass(frozen=True)
class SweepConfig:
    """name: the function's name; fn: the function; grid: a Grid; store: the store's Path."""

    name: str
    fn: object
    grid: Grid
    store: Path


def load_config(path, store=None, max_points=None) -> SweepConfig:
    """Read and check a sweep config; every problem is a ValueError/TypeError naming the file.

    ``store``: a path overriding the config's ``"store"`` (used as given); ``max_points``: the
    largest grid accepted (default :data:`~rnnanalysis.experiments.grid.MAX_POINTS`).
    """
    path = Path(path)
    data = _read_regular(path)
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: more than {MAX_CONFIG_BYTES} bytes; a sweep config is at most that")
    try:
        cfg = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:          # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: not a JSON file ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a sweep config (JSON nested too deeply)") from None
    try:
        if not isinstance(cfg, dict):
            raise TypeError(f"expected a JSON object, got {type(cfg).__name__}")
        unknown = set(cfg) - KEYS
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; expected {sorted(KEYS)}")
        name = cfg.get("function")
        if not isinstance(name, str) or name not in SWEEP_FUNCTIONS:
            raise ValueError(f"function: expected one of {sorted(SWEEP_FUNCTIONS)}, got {name!r:.80}")
        if not isinstance(cfg.get("grid"), dict):
            raise TypeError(f"grid: expected an object of axis -> values, got {cfg.get('grid')!r:.80}")
        grid = Grid(cfg["grid"], seed=cfg.get("seed", 0), max_points=max_points or MAX_POINTS)
        store = _store_path(path, cfg, store)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from None
    return SweepConfig(name, SWEEP_FUNCTIONS[name], grid, store)
