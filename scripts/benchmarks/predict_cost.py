"""Cost of a prediction from the weights at n = 256, against the simulations it replaces.

Usage:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE nice python scripts/benchmarks/predict_cost.py [--hidden 256]

For Elman (tanh), LSTM and GRU cells (W_hh ~ N(0, 1.5^2/n), m = 8 inputs i.i.d. N(0, 1)) it
times, in interleaved rounds (``_timing.interleaved``), in one process:

- ``rate``: what decides the regime — :func:`rnnanalysis.stationary_statistics` plus the
  stochastic linearisation (weights and input moments only);
- ``predict``: the whole ``ra.predict(cell, input_std=1, horizon=0)``, which adds the dense
  spectral analysis (eigenvalues and all singular values of W_hh, or of the 2n x 2n / n x n state
  Jacobian at the stationary means of a gated cell);
- peers measured in the same run: ``lambda_1`` by :func:`rnnanalysis.lyapunov_spectrum` (k = 1)
  on T = 1000 steps, and the measured profile :func:`rnnanalysis.gradient_profile` (T = 1000, B = 1).

Prints median milliseconds and the median ratios peer / ours (> 1: the prediction is cheaper),
with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, machine, median, median_ratio  # noqa: E402

import rnnanalysis as ra  # noqa: E402
from rnnanalysis.predict.linearise import constant_jacobian, random_product_rate  # noqa: E402


def rate(cell):
    stats = ra.stationary_statistics(cell, input_std=1.0)
    if not constant_jacobian(cell, stats):
        random_product_rate(cell, stats)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    n = args.hidden
    print(f"n = {n}, m = 8, inputs N(0, 1); {machine()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; medians of {args.rounds} "
          f"interleaved rounds\n")
    print("| cell | rate (ms) | ra.predict (ms) | lambda_1, T=1000 (ms) | gradient_profile, T=1000 (ms) "
          "| lambda_1 / rate | lambda_1 / predict |")
    print("|---|---|---|---|---|---|---|")
    xs = np.random.default_rng(0).standard_normal((1000, 1, 8))
    for cls in (ra.Elman, ra.LSTM, ra.GRU):
        cell = cls(n, 8, init="gaussian", gain=1.5, seed=0)
        times = interleaved({
            "rate": lambda c=cell: rate(c),
            "predict": lambda c=cell: ra.predict(c, input_std=1.0, horizon=0),
            "lyapunov": lambda c=cell: ra.lyapunov_spectrum(c, xs, k=1),
            "profile": lambda c=cell: ra.gradient_profile(c, xs),
        }, rounds=args.rounds)
        ms = {k: 1e3 * median(times, k) for k in times}
        print(f"| {cls.__name__} | {ms['rate']:.0f} | {ms['predict']:.0f} | {ms['lyapunov']:.0f} | "
              f"{ms['profile']:.0f} | {median_ratio(times, 'lyapunov', 'rate'):.1f}x | "
              f"{median_ratio(times, 'lyapunov', 'predict'):.1f}x |")


if __name__ == "__main__":
    main()
