"""Peak memory of a million-step gradient profile with checkpointing.

    python scripts/benchmarks/memory.py [--T 1000000] [--hidden 64]

Runs ``ra.gradient_profile(cell, xs, checkpoint=True)`` (segments of sqrt(T) steps, forward
recomputed per segment) in a fresh process and prints the peak resident memory, next to what
storing the whole trajectory would take (states, input projections and adjoints: 3 arrays of
T x n float64).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import machine  # noqa: E402

import rnnanalysis as ra  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=1_000_000)
    ap.add_argument("--hidden", type=int, default=64)
    args = ap.parse_args(argv)
    T, n = args.T, args.hidden
    cell = ra.Elman(n, 4, init="orthogonal", gain=1.0, seed=0)
    xs = np.random.default_rng(0).standard_normal((T, 1, 4))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    prof = ra.gradient_profile(cell, xs, checkpoint=True)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stored = 3 * T * n * 8 / 2**20
    print(f"T = {T}, n = {n}, B = 1: {seconds:.1f} s; peak RSS {peak:.0f} MB (before the call {base:.0f} MB; "
          f"inputs {xs.nbytes / 2**20:.0f} MB); storing the trajectory would need ~{stored:.0f} MB")
    print(f"machine: {machine()}")
    finite = bool(np.all(np.isfinite(prof.log10_norms)))
    print(f"log10 ||d(v.h_T)/dh_0|| = {prof.log10_norms[0, 0]:.2f}, every lag finite: {finite}")


if __name__ == "__main__":
    main()
