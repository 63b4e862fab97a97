"""Sweep configurations as JSON files, for ``rnnanalysis sweep CONFIG``.

A config names a built-in function (:data:`~rnnanalysis.experiments.functions.SWEEP_FUNCTIONS`),
its grid (axis -> list of values, or a single value for a fixed parameter), the root seed and
the store (a relative path is taken relative to the config file; default: the config's name
with ``.jsonl``)::

    {"function": "gradient_decay",
     "grid": {"gain": [0.5, 1.0, 2.0], "replicate": [0, 1, 2], "T": 200, "hidden": 64},
     "seed": 0,
     "store": "gain.jsonl"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .functions import SWEEP_FUNCTIONS
from .grid import Grid

__all__ = ["SweepConfig", "load_config"]

KEYS = {"function", "grid", "seed", "store"}


@dataclass(frozen=True)
class SweepConfig:
    """name: the function's name; fn: the function; grid: a Grid; store: the store's Path."""

    name: str
    fn: object
    grid: Grid
    store: Path


def load_config(path) -> SweepConfig:
    """Read and check a sweep config; every problem is a ValueError/TypeError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        cfg = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON file ({exc})") from None
    try:
        if not isinstance(cfg, dict):
            raise TypeError(f"expected a JSON object, got {type(cfg).__name__}")
        unknown = set(cfg) - KEYS
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; expected {sorted(KEYS)}")
        name = cfg.get("function")
        if not isinstance(name, str) or name not in SWEEP_FUNCTIONS:
            raise ValueError(f"function: expected one of {sorted(SWEEP_FUNCTIONS)}, got {name!r}")
        if not isinstance(cfg.get("grid"), dict):
            raise TypeError(f"grid: expected an object of axis -> values, got {cfg.get('grid')!r}")
        grid = Grid(cfg["grid"], seed=cfg.get("seed", 0))
        store = cfg.get("store", path.with_suffix(".jsonl").name)
        if not isinstance(store, str) or not store:
            raise TypeError(f"store: expected a file path string, got {store!r}")
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from None
    store = Path(store)
    store = store if store.is_absolute() else path.parent / store
    return SweepConfig(name, SWEEP_FUNCTIONS[name], grid, store)
