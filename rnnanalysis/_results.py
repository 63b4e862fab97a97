"""Frozen result objects: ``to_dict()`` (JSON-safe) and ``save()`` to .json or .npz."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np


def jsonable(value):
    """Arrays to nested lists; non-finite floats to the strings "inf", "-inf", "nan"."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


class Result:
    """Mixin for frozen dataclasses of results."""

    def to_dict(self) -> dict:
        """Field name -> JSON-safe value (arrays as nested lists)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not f.name.startswith("_")}

    def save(self, path) -> Path:
        """Write to ``.json`` (to_dict) or ``.npz`` (array fields; dict fields flattened as a.b)."""
        path = Path(path)
        if path.suffix == ".json":
            path.write_text(json.dumps({"type": type(self).__name__, **self.to_dict()}, indent=1))
        elif path.suffix == ".npz":
            arrays = {}
            for f in dataclasses.fields(self):
                if f.name.startswith("_"):
                    continue
                v = getattr(self, f.name)
                if isinstance(v, dict):
                    arrays.update({f"{f.name}.{k}": np.asarray(x) for k, x in v.items()})
                elif v is not None:
                    arrays[f.name] = np.asarray(v)
            np.savez(path, **arrays)
        else:
            raise ValueError(f"path: expected a .json or .npz file name, got {str(path)!r}")
        return path
