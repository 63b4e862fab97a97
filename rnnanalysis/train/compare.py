"""Remedies as named, composable recipes, and their comparison over lengths and seeds.

A remedy name is an architecture optionally followed by modifiers joined with ``+``, e.g.
``"tanh"``, ``"orthogonal+clip"``, ``"lstm+ln+clip"``, ``"smart_tanh+clip+omega"``:

=============  ===========================================================================
architecture   meaning
=============  ===========================================================================
tanh           Elman, tanh, Xavier/Glorot uniform W_hh
he             Elman, tanh, He normal W_hh
pytorch        Elman, tanh, PyTorch's default U(-1/sqrt(n), 1/sqrt(n)) (biases too)
orthogonal     Elman, tanh, orthogonal W_hh (Saxe et al. 2014)
smart_tanh     Elman, tanh, sparse W_hh (15 per row) at spectral radius 0.95 (Pascanu 2013)
irnn           Elman, ReLU, W_hh = I, biases 0 (Le et al. 2015)
lstm           LSTM, Xavier, forget-gate bias 1 (Gers et al. 2000)
gru            GRU, Xavier
=============  ===========================================================================

Modifiers: ``clip`` (global norm 1, Pascanu Alg. 1), ``clipvalue`` (entries to [-1, 1]),
``agc`` (adaptive, lambda = 0.01), ``ln`` (layer norm, Elman/LSTM), ``bn`` (recurrent batch
norm, Elman/LSTM), ``omega`` (Pascanu's regulariser, weight 2, Elman only).

Runs are paired: for seed s and length T every remedy sees the same training sequences, and
all plain-Elman remedies draw their weights from the same seed.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from .._results import Result
from .._validate import positive_int
from ..cells import GRU, LSTM, BatchNormRNN, Elman, LayerNormElman, LayerNormLSTM
from .clipping import clip_adaptive, clip_by_value
from .loop import train
from .network import make_network
from .optim import Adam
from .tasks import get_task

__all__ = ["Remedy", "parse_remedy", "compare_remedies", "Comparison", "ARCHITECTURES", "MODIFIERS"]

ARCHITECTURES = {
    "tanh": {"cell": "elman", "activation": "tanh", "init": "xavier"},
    "he": {"cell": "elman", "activation": "tanh", "init": "he"},
    "pytorch": {"cell": "elman", "activation": "tanh", "init": "pytorch"},
    "orthogonal": {"cell": "elman", "activation": "tanh", "init": "orthogonal"},
    "smart_tanh": {"cell": "elman", "activation": "tanh", "init": "sparse", "spectral_radius": 0.95},
    "irnn": {"cell": "elman", "activation": "relu", "init": "identity"},
    "lstm": {"cell": "lstm", "activation": "tanh", "init": "xavier", "forget_bias": 1.0},
    "gru": {"cell": "gru", "activation": "tanh", "init": "xavier"},
}
MODIFIERS = ("clip", "clipvalue", "agc", "ln", "bn", "omega")


@dataclass(frozen=True)
class Remedy:
    """A recipe: architecture + normalisation + clipping + regulariser (see the module table)."""

    name: str
    cell: str
    activation: str
    init: str
    spectral_radius: float | None = None
    forget_bias: float = 0.0
    norm: str | None = None
    clip: str | None = None
    omega_weight: float = 0.0

    def build(self, task, hidden: int, seed, dtype=np.float64):
        """The network for ``task`` (readout to its outputs), weights drawn from ``seed``."""
        task = get_task(task)
        rng = np.random.default_rng(seed)
        kw = {"init": self.init, "spectral_radius": self.spectral_radius, "seed": rng, "dtype": dtype}
        if self.cell == "lstm":
            kw["forget_bias"] = self.forget_bias
        if self.norm == "bn":
            core = BatchNormRNN(self.cell, hidden, task.inputs, self.activation, **kw)
        else:
            cls = {("elman", None): Elman, ("lstm", None): LSTM, ("gru", None): GRU,
                   ("elman", "ln"): LayerNormElman, ("lstm", "ln"): LayerNormLSTM}[(self.cell, self.norm)]
            core = cls(hidden, task.inputs, self.activation, **kw)
        return make_network(core, task.outputs, rng)

    def clipper(self):
        return {None: None, "clip": 1.0, "clipvalue": lambda g, p: clip_by_value(g, 1.0),
                "agc": lambda g, p: clip_adaptive(g, p, 0.01)}[self.clip]


def parse_remedy(name) -> Remedy:
    """``"lstm+ln+clip"`` -> :class:`Remedy`; unknown parts raise ``ValueError``."""
    if isinstance(name, Remedy):
        return name
    if not isinstance(name, str) or not name:
        raise TypeError(f"remedy: expected a name such as 'lstm+clip', got {name!r}")
    arch, *mods = name.strip().lower().split("+")
    if arch not in ARCHITECTURES:
        raise ValueError(f"remedy {name!r}: unknown architecture {arch!r}; "
                         f"expected one of {sorted(ARCHITECTURES)}")
    spec = dict(ARCHITECTURES[arch])
    norm = clip = None
    omega_weight = 0.0
    for m in mods:
        if m not in MODIFIERS or mods.count(m) > 1:
            raise ValueError(f"remedy {name!r}: unknown or repeated modifier {m!r}; "
                             f"expected some of {MODIFIERS}")
        if m in ("ln", "bn"):
            if norm is not None or spec["cell"] == "gru":
                raise ValueError(f"remedy {name!r}: one of ln/bn, for elman or lstm cells only")
            norm = m
        elif m == "omega":
            if spec["cell"] != "elman":
                raise ValueError(f"remedy {name!r}: omega (Pascanu 2013) is for plain Elman cells")
            omega_weight = 2.0
        else:
            if clip is not None:
                raise ValueError(f"remedy {name!r}: at most one clipping modifier")
            clip = m
    if omega_weight and norm is not None:
        raise ValueError(f"remedy {name!r}: omega is for plain Elman cells, not with {norm}")
    return Remedy(name, norm=norm, clip=clip, omega_weight=omega_weight, **spec)


@dataclass(frozen=True)
class Comparison(Result):
    """Tidy outcome of :func:`compare_remedies`.

    runs: one dict per (remedy, length, seed): solved, steps_to_solve, final_loss,
    final_error_rate, diverged, diverged_at, steps, rho_start/rho_end (largest spectral
    radius of a W_hh gate block at the first and last logged step), log10_grad_rate_start/end
    (slope of log10 ||dL/ds_k|| over k at step 1 and at the last profiled step). summary: one
    dict per (remedy, length): success_rate, median_steps_to_solve (over solved runs; None if
    none), mean_final_loss, divergences, seeds. grad_norm_traces: ``"remedy|T"`` -> (seeds, K)
    global gradient norms at the logged steps (NaN after a run stopped). budget: the step budget of each run.
    """

    task: str
    budget: int
    runs: list
    summary: list
    grad_norm_traces: dict
    log_step: np.ndarray


def _rate(log10_norms):
    """Least-squares slope of log10 ||dL/ds_k|| against k (log10 per step; > 0: vanishing
    towards the past, as k counts forward from the start)."""
    y = np.asarray(log10_norms)
    k = np.arange(y.size, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return math.nan
    kc = k[ok] - k[ok].mean()
    return float((kc * (y[ok] - y[ok].mean())).sum() / (kc * kc).sum())


def _run_one(job):
    task, remedy, T, seed, budget, kw = job
    r = parse_remedy(remedy)
    init_seed = np.random.SeedSequence([seed, T, 0])
    data_seed = np.random.default_rng(np.random.SeedSequence([seed, T, 1]))
    net = r.build(task, kw["hidden"], init_seed, kw["dtype"])
    res = train(net, task, T, steps=budget, batch=kw["batch"], optimizer=kw["optimizer"], clip=r.clipper(),
                omega_weight=r.omega_weight, eval_every=kw["eval_every"], eval_size=kw["eval_size"],
                log_every=kw["log_every"], profile_every=budget, seed=data_seed)
    profiles, rho = res.log10_adjoint_norms, res.log_spectral_radius
    rates = [_rate(p) for p in (profiles[0], profiles[-1])] if profiles else [math.nan, math.nan]
    row = {"remedy": r.name, "length": T, "seed": seed, "solved": res.solved,
           "steps_to_solve": res.steps_to_solve, "final_loss": res.final.loss,
           "final_error_rate": res.final.error_rate, "diverged": res.diverged,
           "diverged_at": res.diverged_at, "steps": res.steps,
           "rho_start": float(rho[0].max()) if len(rho) else math.nan,
           "rho_end": float(rho[-1].max()) if len(rho) else math.nan,
           "log10_grad_rate_start": rates[0], "log10_grad_rate_end": rates[1]}
    return row, res.log_step, res.log_grad_norm


def compare_remedies(task, lengths, remedies, seeds, budget, executor=None, *, hidden: int = 50,
                     batch: int = 20, optimizer=None, eval_every: int = 100, eval_size: int = 1000,
                     log_every: int = 10, dtype=np.float64, progress: bool = False) -> Comparison:
    """Train every remedy at every length from every seed for at most ``budget`` steps.

    ``seeds``: an int k (seeds 0..k-1) or a list of ints; ``executor``: a
    ``concurrent.futures.Executor`` (e.g. ``ProcessPoolExecutor``) to spread runs over
    processes; results do not depend on it. Success = solved on fresh sequences (see
    :class:`~rnnanalysis.train.tasks.Task`) within the budget.
    """
    task = get_task(task)
    lengths = [int(L) for L in np.atleast_1d(lengths)]
    for L in lengths:
        task.baseline(L)
    remedies = [parse_remedy(r).name for r in remedies]
    if not remedies:
        raise ValueError("remedies: expected at least one remedy name")
    seeds = list(range(positive_int("seeds", seeds))) if isinstance(seeds, (int, np.integer)) else \
        [positive_int("seed", s, minimum=0) for s in seeds]
    budget = positive_int("budget", budget)
    kw = {"hidden": positive_int("hidden", hidden), "batch": positive_int("batch", batch),
          "optimizer": optimizer or Adam(1e-3), "eval_every": eval_every, "eval_size": eval_size,
          "log_every": positive_int("log_every", log_every), "dtype": dtype}
    jobs = [(task.name, r, L, s, budget, kw) for r in remedies for L in lengths for s in seeds]
    mapped = map(_run_one, jobs) if executor is None else executor.map(_run_one, jobs)
    rows, traces = [], {}
    grid = np.array([1] + list(range(log_every, budget + 1, log_every)))
    for i, (row, steps, norms) in enumerate(mapped):
        rows.append(row)
        tr = np.full(grid.shape, np.nan)
        tr[np.searchsorted(grid, steps)] = norms
        traces.setdefault(f"{row['remedy']}|{row['length']}", []).append(tr)
        if progress:
            sys.stderr.write(f"[{i + 1}/{len(jobs)}] {row['remedy']} T={row['length']} seed={row['seed']}: "
                             f"{'solved at ' + str(row['steps_to_solve']) if row['solved'] else 'not solved'}"
                             f"{' (diverged)' if row['diverged'] else ''}\n")
    summary = []
    for r in remedies:
        for L in lengths:
            sel = [x for x in rows if x["remedy"] == r and x["length"] == L]
            solved = [x["steps_to_solve"] for x in sel if x["solved"]]
            losses = [x["final_loss"] for x in sel if math.isfinite(x["final_loss"])]
            summary.append({"remedy": r, "length": L, "seeds": len(sel),
                            "success_rate": len(solved) / len(sel),
                            "median_steps_to_solve": float(np.median(solved)) if solved else None,
                            "mean_final_loss": float(np.mean(losses)) if losses else math.nan,
                            "divergences": sum(x["diverged"] for x in sel)})
    return Comparison(task.name, budget, rows, summary,
                      {k: np.array(v) for k, v in traces.items()}, grid)
