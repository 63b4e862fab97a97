"""Remedies compared over lengths and seeds, on :func:`~rnnanalysis.sweep` (resumable, extendable).

One grid point per (remedy, length) runs :func:`~rnnanalysis.train.remedies.remedy_runs`: the
seeds of the remedy trained together, paired across remedies (same data and, for the plain-Elman
remedies, the same initial weights for a seed). Before it starts, :func:`compare_remedies` prints
an upper bound of its run time from a few timed steps; it reports each finished point; its
result prints as a short table.
"""

from __future__ import annotations

import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._results import Result
from .._validate import positive_int
from ..train.optim import OPTIMIZERS
from ..train.remedies import parse_remedy, remedy_runs
from ..train.tasks import get_task
from .grid import Grid
from .store import Store
from .sweep import function_name, sweep

__all__ = ["Comparison", "ClippingStudy", "compare_remedies"]


@dataclass(frozen=True)
class Comparison(Result):
    """Tidy outcome of :func:`compare_remedies`; ``str()`` / :meth:`to_markdown` give a short table.

    runs: one dict per (remedy, length, seed): solved, steps_to_solve, final_loss,
    final_error_rate, diverged, diverged_at, steps, rho_start/rho_end (largest spectral
    radius of a W_hh gate block at the first and last logged step), grad_rate_start/end (least-
    squares slope of log10 ||dL/ds_k|| against the lag T - k, log10 per step, negative =
    vanishing, at step 1 and at the last profiled step). summary: one dict per (remedy,
    length): success_rate, median_steps_to_solve (over solved runs; None if none),
    mean_final_loss, divergences, seeds. grad_norm_traces: ``"remedy|T"`` -> (seeds, K) global
    gradient norms at the logged steps (NaN after a run stopped). budget: the step budget of
    each run; wall_seconds: the time the comparison took; resumed: grid points read from the
    store instead of computed.
    """

    task: str
    budget: int
    runs: list
    summary: list
    grad_norm_traces: dict
    log_step: np.ndarray
    wall_seconds: float = math.nan
    resumed: int = 0

    def to_markdown(self) -> str:
        """Success per remedy and length: ``solved/seeds`` (``dK``: K runs diverged)."""
        lengths = sorted({r["length"] for r in self.summary})
        lines = [f"{self.task}, at most {self.budget} steps per run: solved/seeds (dK = K diverged)", "",
                 "| remedy | " + " | ".join(f"T = {L}" for L in lengths) + " |",
                 "|---|" + "---|" * len(lengths)]
        for rem in dict.fromkeys(r["remedy"] for r in self.summary):
            cells = []
            for L in lengths:
                row = next((x for x in self.summary if x["remedy"] == rem and x["length"] == L), None)
                if row is None:
                    cells.append("-")
                    continue
                text = f"{round(row['success_rate'] * row['seeds'])}/{row['seeds']}"
                cells.append(text + (f" d{row['divergences']}" if row["divergences"] else ""))
            lines.append(f"| {parse_remedy(rem).label} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __str__(self):
        return self.to_markdown()

    def __repr__(self):
        return (f"Comparison(task={self.task!r}, budget={self.budget}, runs={len(self.runs)}, "
                f"remedies={len({r['remedy'] for r in self.summary})}; str() for the table)")


def _optimizer_args(optimizer):
    """("adam", lr) from a name or an SGD/RMSprop/Adam with default settings but lr."""
    if optimizer is None:
        return "adam", 1e-3
    name = type(optimizer).__name__.lower()
    if OPTIMIZERS.get(name) is not type(optimizer) or optimizer != type(optimizer)(lr=optimizer.lr):
        raise ValueError(f"optimizer: compare_remedies takes SGD, RMSprop or Adam with default settings "
                         f"but lr, got {optimizer!r}")
    return name, float(optimizer.lr)


def _estimate_seconds(task, points, n_seeds, budget, kw):
    """Upper bound of the run time of ``points`` [(remedy, length)]: a few timed steps per remedy at
    its longest length, scaled linearly in T and to the full budget (runs that solve stop sooner)."""
    total, probe = 0.0, 3
    for rem in dict.fromkeys(r for r, _ in points):
        T = max(L for r, L in points if r == rem)
        t0 = time.perf_counter()
        remedy_runs(task=task.name, remedy=rem, length=T, seeds=n_seeds, **{**kw, "steps": probe,
                    "eval_every": 10 ** 9, "eval_size": 1})
        per_step = (time.perf_counter() - t0) / probe
        evals = budget / kw["eval_every"] * kw["eval_size"] / (kw["batch"] * 3)   # an eval ~ forward only
        total += per_step * (budget + evals) * sum(L / T for r, L in points if r == rem)
    return total


def compare_remedies(task, lengths, remedies, seeds, budget, executor=None, *, hidden: int = 50,
                     batch: int = 20, optimizer=None, eval_every: int = 100, eval_size: int = 1000,
                     log_every: int = 10, max_loss_ratio=None, dtype=np.float64, store=None,
                     progress: bool = True, estimate: bool = True) -> Comparison:
    """Train every remedy at every length from every seed for at most ``budget`` steps.

    ``seeds``: an int k (seeds 0..k-1); ``executor``: a ``concurrent.futures.Executor`` (e.g.
    ``ProcessPoolExecutor``) for the grid points (default: here, one after another); results do
    not depend on it. ``store``: a JSON-lines file keeping finished points (run again to resume
    or extend; see :func:`~rnnanalysis.sweep`). ``optimizer``: SGD/RMSprop/Adam (default
    ``Adam(1e-3)``). With ``estimate`` an upper bound of the run time is printed first (a few
    timed steps per remedy); with ``progress`` each finished point. Success = solved on fresh
    sequences (see :class:`~rnnanalysis.train.tasks.Task`) within the budget.
    """
    task = get_task(task)
    lengths = [int(L) for L in np.atleast_1d(lengths)]
    for L in lengths:
        task.baseline(L)
    remedies = [parse_remedy(r).name for r in remedies]
    if not remedies:
        raise ValueError("remedies: expected at least one remedy name")
    if not isinstance(seeds, (int, np.integer)) or isinstance(seeds, bool):
        raise TypeError(f"seeds: expected the number of seeds (an int), got {seeds!r}")
    n_seeds, budget = positive_int("seeds", seeds), positive_int("budget", budget)
    name, lr = _optimizer_args(optimizer)
    kw = {"hidden": positive_int("hidden", hidden), "batch": positive_int("batch", batch), "optimizer": name,
          "lr": lr, "eval_every": positive_int("eval_every", eval_every),
          "eval_size": positive_int("eval_size", eval_size),
          "log_every": positive_int("log_every", log_every),
          "max_loss_ratio": float(max_loss_ratio or 0.0), "dtype": np.dtype(dtype).name}
    grid = Grid({"task": task.name, "remedy": remedies, "length": lengths, "seeds": n_seeds, "steps": budget,
                 **kw})
    t0 = time.perf_counter()
    if estimate:
        have = set()
        if store is not None and Path(store).is_file():
            have = {r["key"] for r in Store(store).read(warn=False).records
                    if r["fn"] == function_name(remedy_runs)}
        todo = [(p.params["remedy"], p.params["length"]) for p in grid if p.key not in have]
        est = _estimate_seconds(task, todo, n_seeds, budget, kw) if todo else 0.0
        sys.stderr.write(f"compare_remedies: {len(todo)} of {len(grid)} points to run ({n_seeds} seeds each, "
                         f"at most {budget} steps); estimated at most "
                         f"{f'{est:.0f} s' if est < 120 else f'{est / 60:.1f} min'} "
                         f"(less when runs solve early)\n")

    def report(done, total, record):
        if progress and record is not None:
            p, res = record["params"], record["result"]
            el = time.perf_counter() - t0
            sys.stderr.write(f"[{done}/{total}] {p['remedy']} T={p['length']}: solved "
                             f"{sum(res['solved'])}/{len(res['solved'])} ({el:.0f} s)\n")

    own = executor is None
    ex = ThreadPoolExecutor(1) if own else executor
    try:
        res = sweep(remedy_runs, grid, ex, store, progress=report)
    finally:
        if own:
            ex.shutdown()
    return _comparison(task.name, budget, res.records, time.perf_counter() - t0, res.resumed)


def _comparison(task, budget, records, wall, resumed) -> Comparison:
    """Comparison from sweep records (results as JSON values: 'nan' strings for NaN)."""
    def num(v):
        return float(v) if v is not None else None

    rows, traces, summary, log_step = [], {}, [], None
    for rec in records:
        p, res = rec["params"], rec["result"]
        log_step = np.array(res["log_step"])
        sel = []
        for i in range(len(res["solved"])):
            row = {"remedy": p["remedy"], "length": p["length"], "seed": i}
            for k in ("solved", "steps_to_solve", "diverged", "diverged_at", "steps"):
                row[k] = res[k][i]
            for k in ("final_loss", "final_error_rate", "rho_start", "rho_end", "grad_rate_start",
                      "grad_rate_end"):
                row[k] = num(res[k][i])
            sel.append(row)
        rows += sel
        traces[f"{p['remedy']}|{p['length']}"] = np.array(res["log_grad_norm"], dtype=float)
        solved = [x["steps_to_solve"] for x in sel if x["solved"]]
        losses = [x["final_loss"] for x in sel if math.isfinite(x["final_loss"])]
        summary.append({"remedy": p["remedy"], "length": p["length"], "seeds": len(sel),
                        "success_rate": len(solved) / len(sel),
                        "median_steps_to_solve": float(np.median(solved)) if solved else None,
                        "mean_final_loss": float(np.mean(losses)) if losses else math.nan,
                        "divergences": sum(x["diverged"] for x in sel)})
    return Comparison(task=task, budget=budget, runs=rows, summary=summary, grad_norm_traces=traces,
                      log_step=log_step, wall_seconds=wall, resumed=resumed)


@dataclass(frozen=True)
class ClippingStudy(Result):
    """Divergence and success against the SGD learning rate, without and with clipping.

    divergence, success: (K, 2, L) over ``tasks`` (K,) x (no clipping, clipping) x ``lrs`` (L,):
    the fraction of the seeds of a point that diverged / solved (NaN: not run). The runs are
    those of ``remedy`` and ``remedy+clip`` under SGD at sequence length ``length``.
    """

    tasks: tuple
    lrs: np.ndarray
    divergence: np.ndarray
    success: np.ndarray
    seeds: int
    length: int
    remedy: str
    budget: str

    @classmethod
    def from_records(cls, records, *, length=50, remedy="tanh", budget="") -> ClippingStudy:
        """From sweep records of :func:`~rnnanalysis.train.remedies.remedy_runs` (e.g. a store's)."""
        pick = [r for r in records if r["params"]["optimizer"] == "sgd" and r["params"]["length"] == length
                and r["params"]["remedy"] in (remedy, remedy + "+clip")]
        tasks = tuple(sorted({r["params"]["task"] for r in pick}))
        lrs = np.array(sorted({float(r["params"]["lr"]) for r in pick}))
        div = np.full((len(tasks), 2, len(lrs)), np.nan)
        ok = np.full_like(div, np.nan)
        seeds = 0
        for r in pick:
            p, res = r["params"], r["result"]
            at = (tasks.index(p["task"]), int(p["remedy"].endswith("+clip")),
                  int(np.searchsorted(lrs, p["lr"])))
            div[at], ok[at] = np.mean(res["diverged"]), np.mean(res["solved"])
            seeds = max(seeds, len(res["solved"]))
        return cls(tasks=tasks, lrs=lrs, divergence=div, success=ok, seeds=seeds, length=int(length),
                   remedy=remedy, budget=budget)
