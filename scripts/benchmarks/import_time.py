"""Import time of rnnanalysis in fresh interpreters, against numpy and scipy.stats measured in the same run.

Usage:

    python scripts/benchmarks/import_time.py [--rounds 7]

Each workload is a fresh ``python -X importtime -c ...``; the rounds interleave the workloads and the
script prints the median of the time Python reports for the workload's top-level imports (the
``-X importtime`` figures) less those of an empty ``-c pass`` run in the same round (the start-up
imports of ``site``), and the ratio to ``import numpy``.
Workloads: ``import rnnanalysis`` (the package loads each name on first use), the numeric core
(``ra.Elman`` + ``ra.gradient_profile``: cells, simulate, scipy.special), everything (``ra.predict``,
``ra.train``, ``ra.plots``, ``ra.derive``'s SymPy), and the peers numpy and scipy.stats.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

from _timing import machine

ROOT = Path(__file__).resolve().parents[2]

WORKLOADS = {
    "numpy (peer)": "import numpy",
    "scipy.stats (peer)": "import scipy.stats",
    "import rnnanalysis": "import rnnanalysis",
    "numeric core": "import rnnanalysis as ra; ra.Elman; ra.gradient_profile",
    "everything": "import rnnanalysis as ra; ra.predict; ra.train; ra.plots; ra.figures; import sympy",
}


def import_seconds(code):
    """Seconds Python reports (-X importtime) for all the top-level imports ``code`` makes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env, check=True,
                         capture_output=True, text=True).stderr
    total = 0
    for line in err.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) == 1:
            total += int(m.group(1))
    return total * 1e-6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    times = {k: [] for k in WORKLOADS}
    for _ in range(args.rounds):
        startup = import_seconds("pass")
        for name, code in WORKLOADS.items():
            times[name].append(import_seconds(code) - startup)
    print(f"machine: {machine()}, Python {platform.python_version()}; "
          f"median of {args.rounds} interleaved rounds, each a fresh interpreter")
    numpy_s = statistics.median(times["numpy (peer)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:20s} {med * 1e3:8.1f} ms   x{med / numpy_s:5.2f} of import numpy")


if __name__ == "__main__":
    main()
