"""What each remedy buys on the classic long-range tasks, under a budget that tells them apart.

Runs the study through :func:`rnnanalysis.compare_remedies` (so on ``ra.sweep``) with one
resumable store, ``store.jsonl`` beside this script: every finished (task, remedy, T, optimiser,
learning rate) point, five seeds trained together, is appended at once, and running the script
again computes only the missing points (extend a block below and run it again to add points).
Then it writes ``table.md``, ``results.json`` (the runs, for ``rnnanalysis figures``) and the two
figures from whatever the store holds, listing the points still missing.

Blocks, in the order they run (the most informative first):

1. clipping as Pascanu et al. (2013) used it: plain SGD, tanh RNN with and without global-norm
   clipping (threshold 1), a learning-rate sweep, at T = 50;
2. T = 100 on both tasks: initialisations (Xavier, He, orthogonal, identity/IRNN, sparse at
   spectral radius 0.95) and gated cells (LSTM, GRU) under Adam; then layer norm and recurrent
   batch norm, and Pascanu's recipe (sparse init + clipping + Omega) under SGD; then all at T = 50;
3. IRNN trained as Le et al. (2015) trained it: SGD with clipping and no loss-ratio stop, adding
   at T = 100 and 200;
4. copy memory (Arjovsky et al. 2016) at T = 100, then T = 200 for the remedies that solve
   T = 100 (and plain tanh), then the rest of T = 25 and 200, then Pascanu's recipe at 25/50/200.

    PYTHONPATH=. python3 papers/remedies/run.py                  # run / resume, then the table
    PYTHONPATH=. python3 papers/remedies/run.py --table-only     # table and figures from the store
    PYTHONPATH=. python3 papers/remedies/run.py --store /tmp/s.jsonl --steps 50   # a smoke run
    PYTHONPATH=. nice python3 papers/remedies/run.py --workers 2  # two points at a time

On a loaded 2-core machine, glibc handing freed memory back to the system and faulting it in
again costs a factor 2-3 per training step; ``MALLOC_TRIM_THRESHOLD_=2000000000
MALLOC_MMAP_THRESHOLD_=1000000000`` in the environment keeps it (same numbers, faster).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from pathlib import Path  # noqa: E402

from rnnanalysis import compare_remedies  # noqa: E402
from rnnanalysis.experiments.pool import local_pool  # noqa: E402
from rnnanalysis.train import SGD, Adam  # noqa: E402

HERE = Path(__file__).resolve().parent
TASKS = ("temporal_order", "adding")
KEY_REMEDIES = ("tanh", "gru", "lstm", "irnn")
ADAM_REMEDIES = ("tanh", "he", "orthogonal", "irnn", "smart_tanh", "lstm", "gru", "tanh+ln", "tanh+bn")
SGD_REMEDIES = ("tanh", "tanh+clip", "smart_tanh+clip+omega")
CLIP_LRS = (0.01, 0.03, 0.1, 0.3, 1.0)
#: fixed settings of every run (a store keeps one value set per axis name; extend, don't change)
SETTINGS = dict(hidden=32, batch=20, eval_every=250, eval_size=500, log_every=50, max_loss_ratio=10.0)
#: Le et al. (2015) do not stop a run whose loss grows: no loss-ratio stop for their protocol
LE_PROTOCOL = dict(max_loss_ratio=None)


def blocks():
    """(label, task, lengths, remedies, optimizer, settings) in the order they run: what answers
    the study's questions first (does clipping stop SGD diverging; what solves T = 100 where tanh
    does not; why a published result is not reproduced). ``settings`` override :data:`SETTINGS`."""
    out = [("clipping under SGD", task, [50], ["tanh", "tanh+clip"], SGD(lr=lr), {})
           for lr in CLIP_LRS for task in TASKS]
    key, inits = list(KEY_REMEDIES), ["orthogonal", "he", "smart_tanh"]
    norms = ["tanh+ln", "tanh+bn"]
    for lengths, remedies in (([100], key), ([100], inits), ([100], norms)):
        for task in TASKS:
            out.append(("remedies under Adam", task, lengths, remedies, Adam(1e-3), {}))
    for task in TASKS:
        out.append(("Omega under SGD", task, [100], list(SGD_REMEDIES), SGD(lr=0.01), {}))
    for task in TASKS:
        out.append(("remedies under Adam", task, [50], list(ADAM_REMEDIES), Adam(1e-3), {}))
    out.append(("IRNN as Le et al. 2015 trained it", "adding", [100, 200], ["irnn+clip"], SGD(lr=0.01),
                LE_PROTOCOL))
    out.append(("copy memory (Arjovsky et al. 2016)", "copy", [100], ["tanh", "orthogonal", "lstm"],
                Adam(1e-3), {}))
    for task in ("adding", "temporal_order"):
        out.append(("remedies under Adam", task, [200], list(KEY_REMEDIES), Adam(1e-3), {}))
    for task in TASKS:
        out.append(("remedies under Adam", task, [25, 200], list(ADAM_REMEDIES), Adam(1e-3), {}))
    for task in TASKS:
        out.append(("Omega under SGD", task, [50, 25, 200], list(SGD_REMEDIES), SGD(lr=0.01), {}))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5000, help="step budget per run (batch 20)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--store", default=str(HERE / "store.jsonl"))
    ap.add_argument("--out", default=str(HERE), help="where table.md, results.json and figures go")
    ap.add_argument("--table-only", action="store_true", help="no training: the table from the store")
    ap.add_argument("--workers", type=int, default=1, help="points computed at a time (processes)")
    args = ap.parse_args(argv)
    if not args.table_only:
        with local_pool(args.workers) if args.workers > 1 else nullcontext() as ex:
            for label, task, lengths, remedies, opt, settings in blocks():
                sys.stderr.write(f"== {label}: {task}, T = {lengths}, {type(opt).__name__}(lr={opt.lr:g})\n")
                compare_remedies(task, lengths, remedies, args.seeds, args.steps, ex, optimizer=opt,
                                 store=args.store, **{**SETTINGS, **settings})
    sys.path.insert(0, str(HERE))
    from report import write_all  # (beside this script)

    write_all(Path(args.store), Path(args.out), blocks(), args.seeds, args.steps, SETTINGS)


if __name__ == "__main__":
    main()
