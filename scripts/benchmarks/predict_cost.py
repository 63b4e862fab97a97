"""Cost of a prediction from the weights at n = 256, its components, and the simulations it replaces.

Usage:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/benchmarks/predict_cost.py \
        [--hidden 256] [--rounds 5]

For Elman (tanh, ReLU), LSTM and GRU cells (W_hh ~ N(0, 1.5^2/n), m = 8 inputs i.i.d. N(0, 1))
it times, in interleaved rounds (``_timing.interleaved``), in one process:

- ``predict``: the whole ``ra.predict(cell, input_std=1)`` with its defaults, and
  ``predict(xs)``: ``ra.predict(cell, inputs=xs)`` (xs: T = 1000, B = 4; only their mean and
  covariance are used);
- its components, each through the public function ``ra.predict`` calls: the stationary
  statistics (``ra.stationary_statistics``), the stochastic linearisation
  (``linearise.random_product_rate`` on those statistics, on one BLAS thread and with the stop
  rule ``spectral.monte_carlo_stop`` as in predict),
  the scalar mean-field rate (``ra.mean_field``, Elman only), the drift orbit
  (``predict.drift.drift_for`` as predict calls it: the cell at its inputs' mean for at most
  200 steps, and lambda_1 along it where that decides); the rest of ``predict`` (the spectral
  radius, all singular values, forming a gated
  cell's Jacobian at the stationary means) is the difference;
- peers measured in the same run: ``lambda_1`` by :func:`rnnanalysis.lyapunov_spectrum`
  (k = 1) on T = 1000 steps, and the measured profile :func:`rnnanalysis.gradient_profile`
  (T = 1000, B = 1).

Prints median milliseconds (and the fastest round of ``predict``: its cost when a core is free on
a shared machine; and the median CPU time of ``predict``, ``time.process_time``: what it costs
the process whatever the load, all threads counted), each component's share of the median
``predict``, the median ratio lambda_1 / predict (> 1: the prediction is cheaper), the relative
difference between the spectral radius ``predict`` reports (ARPACK above n = 128 for a cell's
matrix) and LAPACK's, the machine and the load average before and after.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, load, machine, median, median_ratio  # noqa: E402
from threadpoolctl import ThreadpoolController  # noqa: E402

import rnnanalysis as ra  # noqa: E402
from rnnanalysis.predict.drift import drift_for  # noqa: E402
from rnnanalysis.predict.linearise import constant_jacobian, random_product_rate  # noqa: E402
from rnnanalysis.predict.spectral import monte_carlo_stop  # noqa: E402

#: one BLAS thread as predict runs these parts (a controller made once: limiting costs ~3 us then)
BLAS = ThreadpoolController()

CELLS = [("Elman tanh", ra.Elman, "tanh"), ("Elman relu", ra.Elman, "relu"),
         ("LSTM", ra.LSTM, "tanh"), ("GRU", ra.GRU, "tanh")]


#: the Monte-Carlo seed ra.predict(..., seed=0) draws first: the component runs predict's steps
PREDICT_MC_SEED = int(np.random.default_rng(0).integers(2 ** 63))


def rate(cell, stats):
    """The stochastic linearisation as predict runs it (one BLAS thread, its seed, stopped once decided)."""
    with BLAS.limit(limits=1, user_api="blas"):
        if not constant_jacobian(cell, stats):
            random_product_rate(cell, stats, seed=PREDICT_MC_SEED, stop=monte_carlo_stop())


def drift(cell, stats):
    """The drift orbit as predict runs it (one BLAS thread)."""
    with BLAS.limit(limits=1, user_api="blas"):
        drift_for(cell, stats, input_std=1.0)


def scalar_mean_field(cell, stats):
    """The i.i.d. mean-field rate predict reports for an Elman cell (sigma_w = ||W||_F / sqrt(n)
    summed as predict does: np.linalg.norm's BLAS dot on two threads waits for a busy core)."""
    W = np.asarray(cell.params["weight_hh"])
    bias = np.asarray(cell.params["bias_ih"]) + cell.params["bias_hh"]
    ra.mean_field(cell.activation.name, math.sqrt(float(np.sum(W * W)) / W.shape[0]),
                  float(np.sqrt(np.mean(bias ** 2))), input_variance=stats.drive_variance)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    n = args.hidden
    print(f"n = {n}, m = 8, inputs N(0, 1); {machine()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; medians of {args.rounds} "
          f"interleaved rounds; before: {load()}\n")
    print("| cell | ra.predict (ms) | fastest round (ms) | CPU time (ms) | predict(inputs=xs) (ms) "
          "| stationary | rate | mean field | drift | spectra + rest | lambda_1, T=1000 (ms) "
          "| gradient_profile, T=1000 (ms) | lambda_1 / predict | rho vs LAPACK |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((1000, 1, 8))
    xs4 = rng.standard_normal((1000, 4, 8))
    for name, cls, act in CELLS:
        cell = cls(n, 8, activation=act, init="gaussian", gain=1.5, seed=0)
        stats = ra.stationary_statistics(cell, input_std=1.0)
        cpu = []

        def predict(c=cell, cpu=cpu):
            t0 = time.process_time()
            ra.predict(c, input_std=1.0)
            cpu.append(time.process_time() - t0)
        fns = {
            "predict": predict,
            "predict_xs": lambda c=cell: ra.predict(c, inputs=xs4),
            "stationary": lambda c=cell: ra.stationary_statistics(c, input_std=1.0),
            "rate": lambda c=cell, s=stats: rate(c, s),
            "drift": lambda c=cell, s=stats: drift(c, s),
            "lyapunov": lambda c=cell: ra.lyapunov_spectrum(c, xs, k=1),
            "profile": lambda c=cell: ra.gradient_profile(c, xs),
        }
        if cls is ra.Elman:
            fns["mean_field"] = lambda c=cell, s=stats: scalar_mean_field(c, s)
        times = interleaved(fns, rounds=args.rounds)
        ms = {k: 1e3 * median(times, k) for k in times}
        total = ms["predict"]
        parts = {k: ms.get(k, 0.0) for k in ("stationary", "rate", "mean_field", "drift")}
        rest = total - sum(parts.values())

        def share(x, total=total):
            return f"{x:.0f} ms ({100 * x / total:.0f}%)"

        rho = ra.predict(cell, input_std=1.0).spectral_radius
        exact = ra.predict(cell, input_std=1.0, method="dense").spectral_radius
        fastest = 1e3 * min(times["predict"])
        cpu_ms = 1e3 * float(np.median(cpu))
        print(f"| {name} | {total:.0f} | {fastest:.0f} | {cpu_ms:.0f} | {ms['predict_xs']:.0f} | "
              f"{share(parts['stationary'])} | {share(parts['rate'])} | "
              f"{share(parts['mean_field']) if 'mean_field' in ms else '—'} | {share(parts['drift'])} | "
              f"{share(rest)} | {ms['lyapunov']:.0f} | {ms['profile']:.0f} | "
              f"{median_ratio(times, 'lyapunov', 'predict'):.1f}x | {abs(rho / exact - 1):.0e} |", flush=True)
    print(f"\nafter: {load()} (2 cores: above ~1 the timings include waiting for a core)")


if __name__ == "__main__":
    main()
