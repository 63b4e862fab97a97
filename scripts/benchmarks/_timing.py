"""Interleaved timing: candidates and peers in alternating rounds in one process, median ratios."""

from __future__ import annotations

import statistics
import time


def interleaved(fns: dict, rounds: int = 5, pause: float = 0.15) -> dict:
    """Run each zero-argument callable once per round, in turn; return name -> list of seconds.

    A short pause between calls lets OpenBLAS threads stop spinning before another library's
    BLAS runs (docs/benchmarking.md).
    """
    times = {k: [] for k in fns}
    for fn in fns.values():              # warm-up (JIT compilation, caches, first-touch memory)
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(pause)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def median_ratio(times: dict, peer: str, ours: str) -> float:
    """median over rounds of time(peer) / time(ours): > 1 means ours is faster."""
    return statistics.median(p / o for p, o in zip(times[peer], times[ours], strict=True))


def median(times: dict, name: str) -> float:
    return statistics.median(times[name])
