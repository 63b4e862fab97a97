"""Lyapunov spectra: rnnanalysis (NumPy/SciPy) against the same QR method in PyTorch and JAX, one run.

Usage (unset the OpenBLAS overrides of this machine for this command only; see
docs/benchmarking.md):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/benchmarks/lyapunov.py [--rounds 3] [--quick]

Workloads, tanh Elman RNN, float64, gain 1.5 (chaotic), inputs N(0, 0.1^2), B = 1:
- full: all n = 256 exponents over T = 1000 steps. Peers: the textbook forward QR method,
  ``Q, R = qr(J_t Q)`` with the explicit Jacobian ``J_t = diag(1 - h_t^2) W`` (torch.linalg.qr
  in a Python loop; jnp.linalg.qr inside lax.scan, jit-compiled). Pairs timed: (a) QR every step
  on both sides, (b) QR every r steps on both sides (r = the interval our adaptive schedule
  chose), (c) ours with its default adaptive schedule against the peers' every-step QR.
- top1: lambda_1 only, n = 1024, T = 10 000: one vector renormalised per step on every side.
Every library runs on ONE thread (``--threads`` to change): ours limits OpenBLAS through
threadpoolctl as the library does for these shapes, PyTorch via torch.set_num_threads, JAX via
XLA_FLAGS (set before jax is imported). On this 2-core machine, shared with other jobs, two
threads made every library 5-20x slower and the ratios meaningless.
Prints median time ratios peer / ours over interleaved rounds (> 1: we are faster) and the largest
difference between the exponents (forward and adjoint QR differ by O(1/T) at finite T).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, median, median_ratio  # noqa: E402

import rnnanalysis as ra  # noqa: E402


def torch_peer(cell, xs, every, k):
    import torch

    W = torch.tensor(cell.params["weight_hh"])
    u = torch.tensor(xs[:, 0] @ cell.params["weight_ih"].T + cell.params["bias_ih"] + cell.params["bias_hh"])
    n, T = W.shape[0], xs.shape[0]
    q0 = torch.linalg.qr(torch.tensor(np.random.default_rng(0).standard_normal((n, k))))[0]

    def run():
        h, Q, acc = torch.zeros(n, dtype=torch.float64), q0, torch.zeros(k, dtype=torch.float64)
        for t in range(T):
            h = torch.tanh(u[t] + W @ h)
            Q = (1 - h * h)[:, None] * (W @ Q)
            if (t + 1) % every == 0 or t == T - 1:
                if k == 1:
                    nrm = torch.linalg.vector_norm(Q)
                    acc += torch.log(nrm)
                    Q = Q / nrm
                else:
                    Q, R = torch.linalg.qr(Q)
                    acc += torch.log(torch.abs(torch.diagonal(R)))
        return torch.sort(acc / T, descending=True).values.numpy()

    return run


def jax_peer(cell, xs, every, k):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    W = jnp.asarray(cell.params["weight_hh"])
    u = xs[:, 0] @ cell.params["weight_ih"].T + cell.params["bias_ih"] + cell.params["bias_hh"]
    n, T = W.shape[0], xs.shape[0]
    T_used = T - T % every
    u = jnp.asarray(u[:T_used].reshape(T_used // every, every, n))
    q0 = jnp.asarray(np.linalg.qr(np.random.default_rng(0).standard_normal((n, k)))[0])

    def inner(carry, ut):
        h, Q = carry
        h = jnp.tanh(ut + W @ h)
        return (h, (1 - h * h)[:, None] * (W @ Q)), None

    def outer(carry, ublock):
        h, Q, acc = carry
        (h, Q), _ = jax.lax.scan(inner, (h, Q), ublock)
        if k == 1:
            nrm = jnp.linalg.norm(Q)
            return (h, Q / nrm, acc + jnp.log(nrm)), None
        Q, R = jnp.linalg.qr(Q)
        return (h, Q, acc + jnp.log(jnp.abs(jnp.diagonal(R)))), None

    @jax.jit
    def run_jit(u):
        (_, _, acc), _ = jax.lax.scan(outer, (jnp.zeros(n), q0, jnp.zeros(k)), u)
        return -jnp.sort(-acc / T_used)

    return lambda: np.asarray(run_jit(u).block_until_ready())


def available(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="n = 64 / 256 and shorter T, to try the script")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.environ["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'} "
                               f"intra_op_parallelism_threads={args.threads}")
    if available("torch"):
        import torch

        torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args)


def run(args):
    n_full, T_full, n_top, T_top = (64, 300, 256, 2000) if args.quick else (256, 1000, 1024, 10_000)
    peers = [p for p in ("torch", "jax") if available(p)]
    print(f"peers installed: {peers or 'none'}")

    rng = np.random.default_rng(0)
    cell = ra.Elman(n_full, 1, init="gaussian", gain=1.5, seed=1)
    xs = 0.1 * rng.standard_normal((T_full, 1, 1))
    adaptive = ra.lyapunov_spectrum(cell, xs, warmup=0)
    r = max(1, round(T_full / adaptive.orthonormalisations))
    print(f"\nfull spectrum, n = {n_full}, T = {T_full}: our adaptive schedule used "
          f"{adaptive.orthonormalisations} QRs (r ~ {r}); "
          f"lambda_1 = {adaptive.exponents[0, 0]:.4f} nats/step")
    fns = {"ours_every": lambda: ra.lyapunov_spectrum(cell, xs, warmup=0, reorth_every=1),
           "ours_r": lambda: ra.lyapunov_spectrum(cell, xs, warmup=0, reorth_every=r),
           "ours_adaptive": lambda: ra.lyapunov_spectrum(cell, xs, warmup=0)}
    for p in peers:
        make = torch_peer if p == "torch" else jax_peer
        fns[f"{p}_every"], fns[f"{p}_r"] = make(cell, xs, 1, n_full), make(cell, xs, r, n_full)
        diff = np.max(np.abs(fns[f"{p}_every"]() - adaptive.exponents[0]))
        print(f"  {p}: largest |difference| of the {n_full} exponents from ours: {diff:.2e} nats/step")
    times = interleaved(fns, rounds=args.rounds)
    for name in fns:
        print(f"  {name:<14} median {median(times, name):.3f} s")
    for p in peers:
        print(f"  {p}/ours ratio: every step {median_ratio(times, f'{p}_every', 'ours_every'):.2f}, "
              f"every {r} steps {median_ratio(times, f'{p}_r', 'ours_r'):.2f}, "
              f"ours adaptive vs {p} every step {median_ratio(times, f'{p}_every', 'ours_adaptive'):.2f}")

    cell = ra.Elman(n_top, 1, init="gaussian", gain=1.5, seed=2)
    xs = 0.1 * rng.standard_normal((T_top, 1, 1))
    ours = ra.lyapunov_spectrum(cell, xs, k=1, warmup=0)
    print(f"\nlambda_1 only, n = {n_top}, T = {T_top}: {ours.exponents[0, 0]:.4f} nats/step")
    fns = {"ours": lambda: ra.lyapunov_spectrum(cell, xs, k=1, warmup=0)}
    for p in peers:
        fns[p] = (torch_peer if p == "torch" else jax_peer)(cell, xs, 1, 1)
        print(f"  {p}: |difference| of lambda_1 from ours: {abs(fns[p]()[0] - ours.exponents[0, 0]):.2e}")
    times = interleaved(fns, rounds=args.rounds)
    for name in fns:
        print(f"  {name:<6} median {median(times, name):.2f} s")
    for p in peers:
        print(f"  {p}/ours ratio {median_ratio(times, p, 'ours'):.2f}")


if __name__ == "__main__":
    main()
