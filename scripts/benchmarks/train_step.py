"""One training step (forward, BPTT, global-norm clipping, Adam) against PyTorch on the CPU.

Ours: ``loss_and_grads`` (cell + linear readout, MSE at the last step; exact BPTT through
``ra.bptt`` reusing the forward pass) + ``clip_by_global_norm`` + ``Adam.update`` + ``apply_updates``.
Peer: ``nn.RNN``/``nn.LSTM`` + ``nn.Linear`` + ``MSELoss`` + ``backward`` +
``clip_grad_norm_`` + ``torch.optim.Adam``. Same shapes: n = 128, batch 32, T = 100, 8 inputs.
Both are timed in interleaved rounds (A B A B ...) in this one process; the script prints
the median time of each and the median ratio peer / ours (> 1: we are faster), for float64 and
float32, with the libraries' default thread counts and with one thread each (then on one core:
our worker threads for the two halves of the batch too).

    PYTHONPATH=. python3 scripts/benchmarks/train_step.py [--rounds 30] [--parts]

``--parts`` instead times the parts of our step on one thread (forward loop and adjoint sweep,
compiled and from Python; the step's BLAS products alone); with ``--batch 16`` they are those of
one of the two batch halves the step runs on each core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load, machine  # noqa: E402

import rnnanalysis as ra  # noqa: E402
from rnnanalysis.cells import LSTM, Elman  # noqa: E402
from rnnanalysis.cells.step_products import matmul as step_product  # noqa: E402
from rnnanalysis.train import Adam, apply_updates, clip_by_global_norm, loss_and_grads, make_network  # noqa: E402


def ours_step(kind, dtype, n, B, T, m):
    cell = (Elman if kind == "elman" else LSTM)(n, m, seed=0, dtype=dtype)
    net = make_network(cell, 1, seed=0)
    rng = np.random.default_rng(0)
    xs, y = rng.normal(size=(T, B, m)).astype(dtype), rng.normal(size=(B, 1)).astype(dtype)
    opt = Adam(1e-3)
    state = {"net": net, "params": dict(net.params)}
    state["opt"] = opt.init(state["params"])

    def step():
        sg = loss_and_grads(state["net"], xs, y, loss="mse", at="last")
        clipped = clip_by_global_norm(sg.grads, 1.0)
        updates, state["opt"] = opt.update(clipped.grads, state["opt"], state["params"])
        state["params"] = apply_updates(state["params"], updates)
        state["net"] = state["net"].with_params(state["params"])
        return sg.loss

    return step


def torch_step(torch, kind, dtype, n, B, T, m):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    rnn = (torch.nn.RNN if kind == "elman" else torch.nn.LSTM)(m, n).to(tdt)
    lin = torch.nn.Linear(n, 1).to(tdt)
    params = list(rnn.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    rng = np.random.default_rng(0)
    xs = torch.tensor(rng.normal(size=(T, B, m)), dtype=tdt)
    y = torch.tensor(rng.normal(size=(B, 1)), dtype=tdt)
    loss_fn = torch.nn.MSELoss()

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(xs)
        loss = loss_fn(lin(out[-1]), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return float(loss.detach())

    return step


def interleaved(a, b, rounds, reps):
    ta, tb = [], []
    for f in (a, b):                                   # warm-up
        f()
    for _ in range(rounds):
        for f, acc in ((a, ta), (b, tb)):
            time.sleep(0.05)                           # let the other library's BLAS threads settle
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            acc.append((time.perf_counter() - t0) / reps)
    ta, tb = np.array(ta), np.array(tb)
    return float(np.median(ta)), float(np.median(tb)), float(np.median(tb / ta))


def parts(kind, dtype, n, B, T, m, rounds):
    """Median ms of our step's parts on one BLAS thread, interleaved: the forward loop and the
    adjoint sweep with the compiled loops and with the same calls from Python, and the BLAS
    products of one step alone (recurrent GEMMs forward and backward, input projection,
    weight-gradient sums): what the loops cannot go below."""
    cell = (Elman if kind == "elman" else LSTM)(n, m, seed=0, dtype=dtype)
    rng = np.random.default_rng(0)
    xs, s0 = rng.normal(size=(T, B, m)).astype(dtype), np.zeros((B, cell.state_size), dtype)
    fc = cell.run(xs, s0)
    g, P = np.ones((B, cell.state_size), dtype), cell.gates * n
    out, out_ih = np.empty((T, B, cell.state_size), dtype), np.empty((T, B, P), dtype)
    h, gh = rng.normal(size=(B, n)).astype(dtype), rng.normal(size=(B, P)).astype(dtype)
    w_f, w_b = rng.normal(size=(n, P)).astype(dtype), rng.normal(size=(P, n)).astype(dtype)
    rows_a, rows_h = rng.normal(size=(T * B, P)).astype(dtype), rng.normal(size=(T * B, n)).astype(dtype)
    w_ih = rng.normal(size=(m, P)).astype(dtype)
    gate_w = w_f.reshape(n, cell.gates, n).transpose(1, 0, 2).copy()     # per-gate blocks, as the LSTM
    fwd_out = np.empty((cell.gates, B, n) if kind == "lstm" else (B, P), dtype)
    bwd_out = np.empty((B, n), dtype)

    def gemms():                          # as the loops make them (column blocks, cells/step_products.py)
        for _ in range(T):
            step_product(h, gate_w if kind == "lstm" else w_f, fwd_out)
            step_product(gh, w_b, bwd_out)
        rows_a.T @ rows_h
        rows_a.T @ xs.reshape(-1, m)
        xs.reshape(-1, m) @ w_ih

    def run(fn, compiled):
        def go():
            with ra.compiled_loops(compiled):
                fn()
        return go

    fns = {"forward compiled": run(lambda: cell.run(xs, s0), True),
           "forward Python": run(lambda: cell.run(xs, s0), False),
           "sweep compiled": run(lambda: cell.backward_steps(fc.cache, 0, T, g, out, out_ih), True),
           "sweep Python": run(lambda: cell.backward_steps(fc.cache, 0, T, g, out, out_ih), False),
           "BLAS products": gemms}
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: 1e3 * float(np.median(v)) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--parts", action="store_true",
                    help="instead: our step's parts on one thread, compiled loops against the same calls "
                         "from Python, and the BLAS products alone")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    shape = (args.n, args.batch, args.T, args.inputs)
    if args.parts:
        print(f"machine: {machine()}; {load()}; one BLAS thread; {args.rounds} interleaved rounds, "
              "medians (ms)")
        with threadpool_limits(limits=1):
            for kind in ("elman", "lstm"):
                for dtype in (np.float64, np.float32):
                    row = parts(kind, dtype, *shape, args.rounds)
                    cols = "  ".join(f"{k} {v:.2f}" for k, v in row.items())
                    print(f"{kind:6} {np.dtype(dtype).name:8} {cols}")
        print(load(), "at the end")
        return
    import torch

    print(f"n={args.n} batch={args.batch} T={args.T} m={args.inputs}; torch {torch.__version__}, "
          f"numpy {np.__version__}; {args.rounds} interleaved rounds of {args.reps} steps")
    print(f"machine: {machine()}; {load()}")
    print(f"{'threads':8} {'cell':6} {'dtype':8} {'ours ms':>9} {'torch ms':>9} {'torch/ours':>11}  machine")
    default_threads = torch.get_num_threads()
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    for threads in ("default", "1"):
        limit = None if threads == "default" else 1
        torch.set_num_threads(default_threads if limit is None else 1)
        if cpus is not None:              # one thread: one core for both (our batch halves too)
            os.sched_setaffinity(0, cpus if limit is None else {min(cpus)})
        with threadpool_limits(limits=limit):
            for kind in ("elman", "lstm"):
                for dtype in (np.float64, np.float32):
                    a = ours_step(kind, dtype, *shape)
                    b = torch_step(torch, kind, dtype, *shape)
                    ta, tb, ratio = interleaved(a, b, args.rounds, args.reps)
                    print(f"{threads:8} {kind:6} {np.dtype(dtype).name:8} {ta * 1e3:9.2f} {tb * 1e3:9.2f} "
                          f"{ratio:11.2f}  {machine(short=True)}", flush=True)
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    print(load(), "at the end")


if __name__ == "__main__":
    main()
