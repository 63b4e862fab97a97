"""``import rnnanalysis`` stays light: heavy libraries load on first use of what needs them.

Checked by the modules a fresh interpreter has loaded (deterministic), not by timing; the time is
printed by ``python scripts/benchmarks/import_time.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import rnnanalysis as ra

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy.stats", "sympy", "matplotlib", "dask")


def _loaded(code):
    """The modules loaded by a fresh interpreter after running ``code``."""
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def _heavy(modules):
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_import_loads_no_heavy_library():
    assert _heavy(_loaded("import rnnanalysis")) == []


def test_the_numeric_core_loads_no_stats_sympy_or_matplotlib():
    code = ("import numpy as np, rnnanalysis as ra\n"
            "cell = ra.Elman(4, 2, seed=0)\nxs = np.zeros((3, 1, 2))\n"
            "ra.gradient_profile(cell, xs); ra.bptt(cell, xs, np.ones((1, 4))); ra.from_state_dict")
    assert _heavy(_loaded(code)) == []


def test_a_lazy_name_loads_its_module():
    assert "rnnanalysis.predict.meanfield" in _loaded("import rnnanalysis as ra\nra.mean_field")


def test_every_public_name_resolves_and_is_listed():
    for name in ra.__all__:
        assert getattr(ra, name) is not None, name
    assert set(ra.__all__) <= set(dir(ra))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = ra.no_such_name


def test_predict_and_simulate_stay_functions_when_their_modules_are_imported():
    import rnnanalysis.predict.check  # noqa: F401
    import rnnanalysis.simulate  # noqa: F401

    for fn in (ra.predict, ra.simulate):
        assert callable(fn) and not isinstance(fn, types.ModuleType)
    assert isinstance(ra.train, types.ModuleType) and callable(ra.train.train)
