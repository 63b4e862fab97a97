"""Checks at the public boundary: every message names the argument, what came, what was expected."""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np


def as_dtype(dtype) -> np.dtype:
    """The floating dtype asked for: float64 (default) or float32."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def float_array(name: str, value, *, dtype=None, ndim=None, finite=True) -> np.ndarray:
    """``value`` as a real floating array; rejects int/complex/object dtypes, NaN/inf, wrong ndim."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "f":
        kind = {"i": "integer", "u": "unsigned integer", "b": "boolean", "c": "complex",
                "O": "object"}.get(arr.dtype.kind, str(arr.dtype))
        raise TypeError(f"{name}: expected a real floating-point array, got {kind} dtype {arr.dtype}")
    if arr.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name}: expected float32 or float64, got {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} dimensions, "
                             f"got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    return arr


_BOUNDS = ((">=", operator.ge), (">", operator.gt), ("<", operator.lt))


def finite_float(name: str, value, *, at_least=None, above=None, below=None, unit: str = "") -> float:
    """``value`` as a finite float, optionally ``>= at_least``, ``> above`` and ``< below``.

    Bools, strings and other non-numbers are a TypeError, NaN/inf and values out of range a
    ValueError; both name the argument, the range and the value (``unit`` is appended to the range):

        >>> finite_float("lr", 0.1, above=0)
        0.1
        >>> finite_float("momentum", 1.0, at_least=0, below=1)
        Traceback (most recent call last):
        ...
        ValueError: momentum: expected a finite number >= 0 and < 1, got 1.0
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    bounds = [(sym, test, b) for (sym, test), b in zip(_BOUNDS, (at_least, above, below), strict=True)
              if b is not None]
    if not math.isfinite(v) or not all(test(v, b) for _, test, b in bounds):
        rng = "".join(f" {'and ' if i else ''}{sym} {b:g}" for i, (sym, _, b) in enumerate(bounds))
        rng += f" ({unit})" if unit else ""
        raise ValueError(f"{name}: expected a finite number{rng}, got {value!r}")
    return v


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (bools and floats rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def rng_from(seed) -> np.random.Generator:
    """A Generator from an int seed, a Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed: expected an int, a numpy.random.Generator or None, got {type(seed).__name__}")
