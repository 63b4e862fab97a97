"""Training seeds together (one ensemble pass per step) against PyTorch training them one by one.

Ours: ``train_step`` on an ensemble of E networks (``stack_networks``), each member on its own
minibatch ``(E, T, B, m)``, Adam; one forward/backward pass per step for all members. Peer: E
separate ``nn.RNN``/``nn.LSTM``/``nn.GRU`` + ``nn.Linear`` + ``MSELoss`` + ``backward`` +
``torch.optim.Adam``, stepped one after another (the usual way to train seeds). The adding task
(2 inputs, 1 output, MSE at the last step). Both run with one BLAS thread (threadpoolctl /
``torch.set_num_threads(1)``: on a small step a second thread only adds synchronisation), in
interleaved rounds in this one process; the script prints the machine, the median time of one
step of all E seeds, sequences per second (E * batch / time), and the median ratio
(> 1: ours trains more sequences per second).

``--allocator keep`` first tells glibc (``mallopt``) to keep freed memory instead of handing it
back to the system (what a step still allocates fresh, ``--allocations``, is then served from
the heap instead of freshly faulted pages). It applies to the whole process, so to PyTorch as
well.

``--members 1 2 5 10 20`` instead times ours alone at each ensemble size E (Elman, float64) in
interleaved rounds and prints the time of one step per member: where it is lowest is how many
runs are worth stacking on one ensemble axis (the reason ``compare_remedies`` stacks the seeds of
one remedy and not several remedies: on the 2-core machine of the README, E = 20 was not
consistently faster per member than E = 5).

``--allocations`` instead prints the fresh memory one step of ours takes (tracemalloc's peak
above the memory held before the step, after a warm-up step; scratch reused from
``rnnanalysis._buffers`` is not fresh).

    PYTHONPATH=. python3 scripts/benchmarks/train_ensemble.py [--rounds 15] [--cells elman lstm gru]
        [--allocator default|keep] [--members 1 2 5 10 20] [--allocations]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time

import numpy as np
from _timing import machine

from rnnanalysis.cells import GRU, LSTM, Elman
from rnnanalysis.train import Adam, get_task, make_network, stack_networks, train_step

CELLS = {"elman": Elman, "lstm": LSTM, "gru": GRU}


def keep_freed_memory():
    """glibc: never trim the heap, serve large blocks from it (M_TRIM_THRESHOLD, M_MMAP_THRESHOLD)."""
    libc = ctypes.CDLL("libc.so.6")
    return bool(libc.mallopt(-1, 2 ** 30) and libc.mallopt(-3, 2 ** 25))


def batches(E, T, B, seed=0):
    task = get_task("adding")
    rngs = [np.random.default_rng([seed, e]) for e in range(E)]
    bs = [task.sample(T, B, r) for r in rngs]
    return np.stack([b.xs for b in bs]), np.stack([b.targets for b in bs])


def ours(kind, E, n, T, B, dtype):
    nets = [make_network(CELLS[kind](n, 2, init="xavier", seed=e, dtype=dtype), 1, seed=e) for e in range(E)]
    xs, ys = batches(E, T, B)
    state = {"net": stack_networks(nets)}
    tx = Adam(1e-3)
    state["opt"] = tx.init(dict(state["net"].params))

    def run():
        state["net"], state["opt"], _ = train_step(state["net"], xs, ys, tx, state["opt"], loss="mse",
                                                   at="last")

    return run


def peer(torch, kind, E, n, T, B, dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    xs, ys = batches(E, T, B)
    models = []
    for e in range(E):
        torch.manual_seed(e)
        rnn = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](2, n).to(tdt)
        lin = torch.nn.Linear(n, 1).to(tdt)
        opt = torch.optim.Adam(list(rnn.parameters()) + list(lin.parameters()), lr=1e-3)
        models.append((rnn, lin, opt, torch.tensor(xs[e], dtype=tdt), torch.tensor(ys[e], dtype=tdt)))
    loss_fn = torch.nn.MSELoss()

    def run():
        for rnn, lin, opt, x, y in models:                 # one seed after another
            opt.zero_grad(set_to_none=True)
            out, _ = rnn(x)
            loss_fn(lin(out[-1]), y).backward()
            opt.step()

    return run


def interleaved(a, b, rounds, reps):
    ta, tb = [], []
    a(), b()                                               # warm-up
    for _ in range(rounds):
        for f, acc in ((a, ta), (b, tb)):
            time.sleep(0.05)
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            acc.append((time.perf_counter() - t0) / reps)
    ratio = statistics.median(y / x for x, y in zip(ta, tb, strict=True))
    return statistics.median(ta), statistics.median(tb), ratio


def members(sizes, args):
    """Median time of one step per member at each ensemble size (interleaved rounds)."""
    runs = {E: ours("elman", E, args.n, args.T, args.batch, np.float64) for E in sizes}
    times = {E: [] for E in sizes}
    for run in runs.values():
        run()                                              # warm-up
    for _ in range(args.rounds):
        for E, run in runs.items():
            reps = max(1, args.reps * max(sizes) // E)
            time.sleep(0.05)
            t0 = time.perf_counter()
            for _ in range(reps):
                run()
            times[E].append((time.perf_counter() - t0) / reps / E)
    best = min(sizes, key=lambda E: statistics.median(times[E]))
    print(f"Elman float64, n = {args.n}, T = {args.T}, batch {args.batch}, Adam; "
          f"{args.rounds} interleaved rounds\n")
    print("| members E | ms per step per member | vs the best E |")
    print("|---|---|---|")
    for E in sizes:
        t = statistics.median(times[E])
        print(f"| {E} | {t * 1e3:.3f} | {t / statistics.median(times[best]):.2f}x |")


def allocations(args):
    """Fresh memory (MB) one step of ours takes, per cell and dtype."""
    import tracemalloc

    print(f"{args.seeds} seeds x (n = {args.n}, T = {args.T}, batch {args.batch}, Adam)\n")
    print("| cell | dtype | fresh MB per step |")
    print("|---|---|---|")
    for kind in args.cells:
        for dt in args.dtypes:
            run = ours(kind, args.seeds, args.n, args.T, args.batch, np.dtype(dt).type)
            run()                                          # warm-up: fills the scratch pool
            tracemalloc.start()
            try:
                held = tracemalloc.get_traced_memory()[0]
                run()
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            print(f"| {kind} | {dt} | {(peak - held) / 1e6:.1f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--allocator", default="default", choices=["default", "keep"],
                    help="keep: glibc keeps freed memory (mallopt), for ours and PyTorch alike")
    ap.add_argument("--members", type=int, nargs="+", metavar="E",
                    help="time ours alone at these ensemble sizes (per member), no PyTorch")
    ap.add_argument("--allocations", action="store_true", help="fresh memory of one step of ours, no timing")
    args = ap.parse_args(argv)
    if args.allocator == "keep" and not keep_freed_memory():
        raise SystemExit("--allocator keep: mallopt failed (not glibc?)")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    E, B = args.seeds, args.batch
    with threadpool_limits(limits=1):
        if args.members or args.allocations:
            print(f"machine: {machine()}; allocator: {args.allocator}")
            return members(sorted(set(args.members)), args) if args.members else allocations(args)
        print(f"machine: {machine()}; PyTorch {torch.__version__} ({torch.get_num_threads()} threads); "
              f"allocator: {args.allocator}")
        print(f"{E} seeds x (n = {args.n}, T = {args.T}, batch {B}, Adam), adding task; "
              f"{args.rounds} interleaved rounds of {args.reps} steps; one step = all {E} seeds\n")
        print("| cell | dtype | ours ms/step | PyTorch ms/step | ours seq/s | PyTorch seq/s "
              "| ours / PyTorch |")
        print("|---|---|---|---|---|---|---|")
        for kind in args.cells:
            for dt in args.dtypes:
                dtype = np.dtype(dt).type
                a = ours(kind, E, args.n, args.T, B, dtype)
                b = peer(torch, kind, E, args.n, args.T, B, dtype)
                ta, tb, ratio = interleaved(a, b, args.rounds, args.reps)
                print(f"| {kind} | {dt} | {ta * 1e3:.2f} | {tb * 1e3:.2f} | {E * B / ta:.0f} | "
                      f"{E * B / tb:.0f} | "
                      f"{ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
