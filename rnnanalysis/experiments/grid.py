"""Grids of experiment points with deterministic per-point seeds.

A :class:`Grid` is the Cartesian product of named axes, e.g. gain x replicate x length, in
row-major order (the last axis varies fastest). Every point gets a key — the canonical JSON
of its parameters — and a seed derived from the grid's root seed and that key:

.. math::
    \\text{seed}(p) = \\text{SeedSequence}(\\text{root},\\ \\text{spawn\\_key} =
    \\text{sha256}(\\text{key}(p)))\\text{.generate\\_state}(1, \\text{uint64})

so a point's seed depends on its parameters only, not on its position: adding values to an
axis, reordering the axes or running the points on other machines leaves every existing
point's seed — and so its result — unchanged.

References:
    O'Neill (2015), PCG / NumPy ``SeedSequence`` (independent streams from one root entropy).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "Point", "point_key"]

RESERVED = ("seed",)
REPLICATE = "replicate"      # an axis of repeats: it changes the seed, and is not passed to fn
MAX_POINTS = 10 ** 6         # a larger grid is refused unless asked for (max_points=)


def _axis_value(axis, value):
    """A JSON scalar (bool, int, finite float, str) from an axis value."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"grid axis {axis!r}: values must be finite, got {value!r}")
        return v
    if isinstance(value, str):
        return value
    raise TypeError(f"grid axis {axis!r}: expected numbers or strings, got {type(value).__name__} {value!r}")


def point_key(params: dict) -> str:
    """Canonical JSON of a point's parameters (sorted keys, no spaces): its identity in a store."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Point:
    """One grid point: ``index`` in row-major order, ``params`` (axis -> value), ``key``, ``seed``.

    ``seed`` is a 64-bit int; pass it on as ``seed=`` (``numpy.random.default_rng(seed)``).
    """

    index: int
    params: dict
    key: str
    seed: int

    @property
    def kwargs(self) -> dict:
        """The parameters a sweep function receives: ``params`` without ``replicate``."""
        return {k: v for k, v in self.params.items() if k != REPLICATE}


class Grid:
    """The Cartesian product of named axes, with a root seed for the per-point seeds.

    Args:
        axes: mapping axis name -> sequence of values (numbers or strings), or a single value
            (a fixed parameter, an axis of length 1). The name ``"seed"`` is reserved for the
            derived per-point seed; an axis ``"replicate"`` (e.g. ``range(5)``) gives repeats:
            it changes each point's seed and is not passed on to the function
            (:attr:`Point.kwargs`).
        seed: root seed (a non-negative int).
        max_points: the largest grid accepted (default 10**6); the size is checked from the
            axes' lengths before any value is read. Points are made on demand (iteration,
            indexing), never all at once.

    Example:
        >>> g = Grid({"gain": [0.5, 1.0], "replicate": range(3)}, seed=0)
        >>> len(g), g.shape, g[4].params
        (6, (2, 3), {'gain': 1.0, 'replicate': 1})
        >>> g[4].seed == Grid({"replicate": range(9), "gain": [2.0, 1.0]}, seed=0).point(
        ...     gain=1.0, replicate=1).seed
        True
    """

    def __init__(self, axes, *, seed: int = 0, max_points: int = MAX_POINTS):
        if not hasattr(axes, "items"):
            raise TypeError(f"axes: expected a mapping of axis name -> values, got {type(axes).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise TypeError(f"seed: expected a non-negative int root seed, got {seed!r:.80}")
        if isinstance(max_points, bool) or not isinstance(max_points, numbers.Integral) or max_points < 1:
            raise TypeError(f"max_points: expected a positive int, got {max_points!r:.80}")
        self.seed = int(seed)
        raw = {}
        for name, values in axes.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"axes: axis names must be identifiers, got {name!r:.80}")
            if name in RESERVED:
                raise ValueError(f"axes: {name!r} is reserved for the derived per-point seed; "
                                 f"name the replicate axis e.g. 'replicate'")
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                values = [values]
            elif not hasattr(values, "__len__"):  # an iterator: never more than the limit
                values = list(itertools.islice(values, max_points + 1))
            raw[name] = values
        size = math.prod(len(v) for v in raw.values())    # checked before any value is touched
        if size > max_points:
            sizes = " x ".join(f"{len(v)} {k}" for k, v in raw.items())
            raise ValueError(f"grid: {size} points ({sizes}) is more than max_points={max_points}; "
                             f"raise the limit (Grid(..., max_points=N), CLI --max-points N) if you mean it")
        self.axes = {}
        for name, values in raw.items():
            vals = tuple(_axis_value(name, v) for v in values)
            if not vals:
                raise ValueError(f"grid axis {name!r}: expected at least one value, got none")
            if len({(isinstance(v, str), v) for v in vals}) != len(vals):     # 1 == 1.0 == True
                raise ValueError(f"grid axis {name!r}: repeated values (numerically equal) in "
                                 f"{list(vals)!r:.200}")
            self.axes[name] = vals
        self.shape = tuple(len(v) for v in self.axes.values())

    def __len__(self):
        return math.prod(self.shape)

    def __repr__(self):
        return f"Grid({self.axes!r}, seed={self.seed})"

    def to_dict(self) -> dict:
        """JSON-safe description: ``{"axes": {...}, "seed": root}``."""
        return {"axes": {k: list(v) for k, v in self.axes.items()}, "seed": self.seed}

    def derive_seed(self, key: str) -> int:
        """The 64-bit seed of the point with canonical key ``key``."""
        digest = hashlib.sha256(key.encode()).digest()
        words = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4))
        ss = np.random.SeedSequence(self.seed, spawn_key=words)
        return int(ss.generate_state(1, np.uint64)[0])

    def _make(self, index, params) -> Point:
        key = point_key(params)
        return Point(index, params, key, self.derive_seed(key))

    def __getitem__(self, index) -> Point:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -n <= index < n:
            raise IndexError(f"grid index: expected an int in [-{n}, {n}), got {index!r}")
        index = int(index) % n
        multi = np.unravel_index(index, self.shape)
        return self._make(index, {k: v[i] for (k, v), i in zip(self.axes.items(), multi, strict=True)})

    def __iter__(self):
        for index, values in enumerate(itertools.product(*self.axes.values())):
            yield self._make(index, dict(zip(self.axes, values, strict=True)))

    def keys(self):
        """``(params, key)`` of every point in row-major order, without deriving seeds (cheap)."""
        for values in itertools.product(*self.axes.values()):
            params = dict(zip(self.axes, values, strict=True))
            yield params, point_key(params)

    def point(self, **params) -> Point:
        """The point with these axis values (every axis named once)."""
        if set(params) != set(self.axes):
            raise ValueError(f"point: expected values for axes {list(self.axes)}, got {sorted(params)}")
        multi = []
        for name, vals in self.axes.items():
            v = _axis_value(name, params[name])
            if v not in vals:
                raise ValueError(f"point: {name}={params[name]!r} is not on the grid; "
                                 f"axis values {list(vals)}")
            multi.append(vals.index(v))
        return self[int(np.ravel_multi_index(multi, self.shape))]
