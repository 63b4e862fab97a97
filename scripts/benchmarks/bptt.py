"""Per-lag gradient norms and BPTT: rnnanalysis (NumPy) against PyTorch and JAX, same run.

Usage (unset the OpenBLAS overrides of this machine for this command only; see
docs/benchmarking.md):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/benchmarks/bptt.py [--rounds 5]

Workload: tanh Elman RNN, float64, m = n inputs, loss v . h_T.
- profile: per-lag norms ||d(v.h_T)/dh_k|| for every k. Peers: PyTorch autograd over a Python
  time loop with retain_grad() on every state; JAX lax.scan + grad with respect to zero
  perturbations of every state (jit-compiled).
- bptt: all parameter gradients (no input gradients, like the peers). Peers: torch.nn.RNN
  (its fused C++ loop) + backward; JAX
  lax.scan + grad (jit).
Prints median time ratios peer / ours over interleaved rounds (> 1: we are faster), the fraction
of this machine's (B x n)(n x n) GEMM rate that our profile reaches, our profile with the time
loops as NumPy calls from Python against the compiled loops (``ra.compiled_loops``; the same
arithmetic, bit for bit), and an ensemble of 64 networks in one call against a loop over them
(with the CPU time of both: how much work one call saves, and how many cores it keeps busy).
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, load, machine, median, median_ratio  # noqa: E402

import rnnanalysis as ra  # noqa: E402

SIZES = [(64, 1000, 32), (128, 1000, 32), (256, 500, 16), (32, 10000, 8)]


def torch_peers(cell, xs, v):
    import torch

    p = {k: torch.tensor(a) for k, a in cell.params.items()}
    x, vt = torch.tensor(xs), torch.tensor(v)
    T, B, n = xs.shape[0], xs.shape[1], cell.hidden
    rnn = torch.nn.RNN(xs.shape[2], n).double()
    with torch.no_grad():
        for k, a in p.items():
            getattr(rnn, k + "_l0").copy_(a)

    def profile():
        h = torch.zeros(B, n, dtype=torch.float64, requires_grad=True)
        hs = [h]
        for t in range(T):
            h = torch.tanh(x[t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
            h.retain_grad()
            hs.append(h)
        (h * vt).sum().backward()
        return torch.stack([s.grad.norm(dim=1) for s in hs])

    def bptt():
        rnn.zero_grad()
        out, _ = rnn(x)
        (out[-1] * vt).sum().backward()
        return rnn.weight_hh_l0.grad

    return profile, bptt


def jax_peers(cell, xs, v):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    p = {k: jnp.asarray(a) for k, a in cell.params.items()}
    x, vj = jnp.asarray(xs), jnp.asarray(v)
    B, n = xs.shape[1], cell.hidden
    h0 = jnp.zeros((B, n))

    def run(params, deltas):
        def step(h, inp):
            xt, dt = inp
            h = jnp.tanh(xt @ params["weight_ih"].T + params["bias_ih"] + h @ params["weight_hh"].T
                         + params["bias_hh"]) + dt
            return h, None
        h, _ = jax.lax.scan(step, h0, (x, deltas))
        return jnp.sum(h * vj)

    zeros = jnp.zeros(xs.shape[:2] + (n,))
    prof = jax.jit(lambda d: jnp.linalg.norm(jax.grad(run, argnums=1)(p, d), axis=-1))
    grads = jax.jit(lambda q: jax.grad(run)(q, zeros))
    return (lambda: prof(zeros).block_until_ready(),
            lambda: jax.tree_util.tree_map(lambda a: a.block_until_ready(), grads(p)))


def _numpy_loops(fn):
    """fn() with the time loops as NumPy calls from Python (the same arithmetic, bit for bit)."""
    with ra.compiled_loops(False):
        return fn()


def _loop(members, xs):
    return [ra.gradient_profile(c, xs) for c in members]


def gemm_rate(B, n, reps=2000):
    """This machine's float64 (B x n)(n x n) GEMM rate in GFLOP/s now: the median of 5 runs on
    one BLAS thread and on the default threads, the better of the two (the package's time loops
    pick between them by timing)."""
    rng = np.random.default_rng(0)
    h, w, out = rng.normal(size=(B, n)), rng.normal(size=(n, n)), np.empty((B, n))
    from threadpoolctl import threadpool_limits

    best = 0.0
    for limit in (1, None):
        rates = []
        with threadpool_limits(limits=limit, user_api="blas"):
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(reps):
                    np.matmul(h, w, out=out)
                rates.append(2 * B * n * n * reps / (time.perf_counter() - t0) / 1e9)
        best = max(best, float(np.median(rates)))
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one small size, 2 rounds (smoke test)")
    args = ap.parse_args(argv)
    where = machine()
    print(f"machine: {where}; {load()}", flush=True)
    sizes = [(32, 200, 4)] if args.quick else SIZES
    rounds = 2 if args.quick else args.rounds
    peers = []
    for name in ("torch", "jax"):
        try:
            __import__(name)
            peers.append(name)
        except ImportError:
            print(f"({name} not installed: skipped)")
    rows = []
    for n, T, B in sizes:
        rng = np.random.default_rng(0)
        cell = ra.Elman(n, n, seed=0)
        xs = rng.normal(size=(T, B, n))
        v = rng.normal(size=(B, n))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        fns = {"ours_profile": partial(ra.gradient_profile, cell, xs, direction=v),
               "ours_bptt": partial(ra.bptt, cell, xs, v, input_grads=False)}
        if ra.has_compiled_loops():
            fns["numpy_profile"] = partial(_numpy_loops, fns["ours_profile"])
        if "torch" in peers:
            fns["torch_profile"], fns["torch_bptt"] = torch_peers(cell, xs, v)
        if "jax" in peers:
            fns["jax_profile"], fns["jax_bptt"] = jax_peers(cell, xs, v)
        times = interleaved(fns, rounds)
        flops = 2 * T * B * n * n * 2 + 2 * T * B * n * n      # recurrent fwd + bwd, input projection
        frac = flops / median(times, "ours_profile") / 1e9 / gemm_rate(B, n)
        row = {"size": f"n={n}, T={T}, B={B}", "profile_ms": 1e3 * median(times, "ours_profile"),
               "bptt_ms": 1e3 * median(times, "ours_bptt"), "gemm_fraction": frac}
        if "numpy_profile" in times:
            row["numpy_profile"] = median_ratio(times, "numpy_profile", "ours_profile")
        for peer in peers:
            for task in ("profile", "bptt"):
                row[f"{peer}_{task}"] = median_ratio(times, f"{peer}_{task}", f"ours_{task}")
        rows.append(row)
        print(row, flush=True)

    ensembles = ([(4, 16, 100, 2)] if args.quick
                 else [(64, 16, 1000, 4), (64, 32, 1000, 8), (64, 64, 1000, 16)])
    ens_rows = []
    for E, n, T, B in ensembles:
        ens = ra.Elman(n, n, ensemble=E, seed=0)
        members = [ra.Elman.from_params({k: a[e] for k, a in ens.params.items()}) for e in range(E)]
        xs = np.random.default_rng(1).normal(size=(T, B, n))
        cpu = {}
        times = interleaved({"ensemble": partial(ra.gradient_profile, ens, xs),
                             "loop": partial(_loop, members, xs)}, rounds, cpu=cpu)
        ens_rows.append((E, n, T, B, median_ratio(times, "loop", "ensemble"),
                         median_ratio(cpu, "loop", "ensemble"),
                         median(cpu, "ensemble") / median(times, "ensemble")))

    print(f"\nmachine: {where}; {load()} at the end; ratios = median over {rounds} interleaved rounds "
          "of peer time / ours")
    print("\n| size | profile (ms) | bptt (ms) | PyTorch/ours profile | PyTorch/ours bptt "
          "| JAX/ours profile | JAX/ours bptt | fraction of GEMM rate | NumPy loops/compiled profile "
          "| machine |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        def cell_of(key, r=r):
            return f"{r[key]:.2f}x" if key in r else "n/a"
        print(f"| {r['size']} | {r['profile_ms']:.0f} | {r['bptt_ms']:.0f} | {cell_of('torch_profile')} | "
              f"{cell_of('torch_bptt')} | {cell_of('jax_profile')} | {cell_of('jax_bptt')} | "
              f"{100 * r['gemm_fraction']:.0f}% | {cell_of('numpy_profile')} | {machine(short=True)} |")
    for E, n, T, B, ratio, work, cores in ens_rows:
        print(f"ensemble of {E} networks (n={n}, T={T}, B={B}) in one call vs a loop over them: "
              f"{ratio:.2f}x faster (CPU time: the loop's {work:.2f}x; one call keeps {cores:.2f} cores "
              f"busy) [{machine(short=True)}]")


if __name__ == "__main__":
    main()
