"""Interleaved timing: candidates and peers in alternating rounds in one process, median ratios."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path


def interleaved(fns: dict, rounds: int = 5, pause: float = 0.15, cpu: dict | None = None) -> dict:
    """Run each zero-argument callable once per round, in turn; return name -> list of seconds.

    A short pause between calls lets OpenBLAS threads stop spinning before another library's
    BLAS runs (docs/benchmarking.md). ``cpu``: a dict that receives name -> list of the
    process's CPU seconds (all its threads) for the same calls.
    """
    times = {k: [] for k in fns}
    for fn in fns.values():              # warm-up (JIT compilation, caches, first-touch memory)
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(pause)
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            if cpu is not None:
                cpu.setdefault(name, []).append(time.process_time() - c0)
    return times


def median_ratio(times: dict, peer: str, ours: str) -> float:
    """median over rounds of time(peer) / time(ours): > 1 means ours is faster."""
    return statistics.median(p / o for p, o in zip(times[peer], times[ours], strict=True))


def median(times: dict, name: str) -> float:
    return statistics.median(times[name])


def machine(short: bool = False) -> str:
    """The machine a ratio was measured on: CPU model and cores, the BLAS NumPy uses, its kernel
    and thread count (from threadpoolctl when installed, else NumPy's build configuration), and
    whether rnnanalysis's time loops run compiled (``ra.has_compiled_loops()``)."""
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        cpu = next((ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines()
                    if ln.startswith("model name")), cpu)
    import numpy as np  # loads the BLAS that threadpoolctl then finds

    blas = "BLAS unknown"
    try:
        from threadpoolctl import threadpool_info
        libs = [d for d in threadpool_info() if d.get("user_api") == "blas"]
        mine = [d for d in libs if "numpy" in d.get("filepath", "")]
        lib = (mine or libs)[0]                  # NumPy's BLAS, not SciPy's or a peer library's
        blas = (f"{lib.get('internal_api', '?')} {lib.get('version') or ''} "
                f"({lib.get('architecture') or '?'} kernel), {lib.get('num_threads')} threads")
    except (ImportError, IndexError):
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
        except (KeyError, TypeError, ValueError):
            pass
    import rnnanalysis as ra

    loops = "compiled loops" if ra.has_compiled_loops() else "loops from Python"
    if short:
        return f"{cpu}, {blas}, {loops}"
    return f"{cpu}, {os.cpu_count()} cores; {blas}; NumPy {np.__version__}; {loops}"


def load() -> str:
    """The machine's load average (1, 5, 15 minutes): other jobs on the cores change small-step
    timings several-fold, so a run says how busy the machine was."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"
