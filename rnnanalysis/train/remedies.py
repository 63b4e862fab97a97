"""Remedies as named, composable recipes, and the training runs of one remedy over seeds.

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
all plain-Elman remedies draw their weights from the same seed. The seeds of a remedy train
together as one ensemble (one forward/backward pass per step for all of them; recurrent batch
norm, whose statistics couple a batch, trains them one after another), with the same results
as training each alone; remedies that differ only in their initial weights (the tanh
initialisations: Xavier, He, orthogonal, sparse) train on one ensemble axis too
(:func:`remedy_runs_together`, grouped by :attr:`Remedy.ensemble_key`). :func:`remedy_runs` is
one point of the sweep behind :func:`~rnnanalysis.compare_remedies`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import positive_int
from ..cells import GRU, LSTM, BatchNormRNN, Elman, LayerNormElman, LayerNormLSTM
from ..simulate import lstsq_log10_rate
from .clipping import AdaptiveClip, ClipByGlobalNorm, ClipByValue
from .loop import make_transform, train
from .network import make_network, stack_networks
from .optim import OPTIMIZERS
from .tasks import get_task

__all__ = ["Remedy", "parse_remedy", "remedy_runs", "remedy_runs_together", "ARCHITECTURES", "MODIFIERS",
           "LABELS"]

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
#: names a reader knows, for tables and figures
LABELS = {"tanh": "tanh RNN (Xavier init)", "he": "He init", "pytorch": "PyTorch default init",
          "orthogonal": "orthogonal init", "smart_tanh": "sparse init (rho 0.95)",
          "irnn": "identity init (IRNN)",
          "lstm": "LSTM", "gru": "GRU", "clip": "clipping", "clipvalue": "value clipping",
          "agc": "adaptive clipping", "ln": "layer norm", "bn": "recurrent batch norm", "omega": "Omega"}


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

    @property
    def ensemble_key(self) -> tuple | None:
        """Remedies with the same key train on one ensemble axis (same cell, activation, update);
        None for recurrent batch norm, whose batch statistics keep even its seeds apart."""
        if self.norm == "bn":
            return None
        return (self.cell, self.activation, self.forget_bias, self.norm, self.clip, self.omega_weight)

    @property
    def label(self) -> str:
        """A readable name: ``"LSTM + layer norm + clipping"``."""
        arch, *mods = self.name.split("+")
        return " + ".join([LABELS[arch]] + [LABELS[m] for m in mods])

    def transform(self, optimizer):
        """The update of this recipe around ``optimizer``: Omega, then clipping, then the optimiser."""
        clip = {None: None, "clip": ClipByGlobalNorm(1.0), "clipvalue": ClipByValue(1.0),
                "agc": AdaptiveClip(0.01)}[self.clip]
        return make_transform(optimizer, clip, self.omega_weight)


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


def _first_last(x):
    return (float(x[0]), float(x[-1])) if len(x) else (math.nan, math.nan)


def _rates(profiles):
    """Gradient rate (log10 per step against lag; negative = vanishing) of the first and last profile."""
    if not profiles:
        return math.nan, math.nan
    with np.errstate(invalid="ignore"):
        return tuple(float(lstsq_log10_rate(np.where(np.isfinite(p), p, np.nan)[:, None])[0])
                     for p in (profiles[0], profiles[-1]))


def remedy_runs(*, task, remedy, length, seeds=5, steps=1000, hidden=32, batch=20, optimizer="adam",
                lr=1e-3, eval_every=100, eval_size=1000, log_every=10, max_loss_ratio=0.0,
                dtype="float64", seed=None) -> dict:
    """Train ``remedy`` at ``length`` from seeds 0..seeds-1 (together, as one ensemble); a sweep point.

    Seed s draws the initial weights from ``SeedSequence([s, length, 0])`` and the training
    sequences from ``SeedSequence([s, length, 1])``, so every remedy of a comparison sees the same
    data (``seed``, the sweep's per-point seed, is accepted and not used: pairing needs seeds
    shared across points). ``optimizer``: sgd/rmsprop/adam at ``lr``; ``max_loss_ratio`` > 1:
    a loss above that multiple of the first also counts as diverged (0: NaN/Inf only).

    Returns per-seed lists (solved, steps_to_solve, diverged, diverged_at, steps, final_loss,
    final_error_rate, rho_start, rho_end, grad_rate_start, grad_rate_end, log_grad_norm) and
    log_step (the steps of log_grad_norm).
    """
    return remedy_runs_together(task=task, remedies=[remedy], length=length, seeds=seeds, steps=steps,
                                hidden=hidden, batch=batch, optimizer=optimizer, lr=lr, eval_every=eval_every,
                                eval_size=eval_size, log_every=log_every, max_loss_ratio=max_loss_ratio,
                                dtype=dtype)[0]


def remedy_runs_together(*, task, remedies, length, seeds=5, steps=1000, hidden=32, batch=20,
                         optimizer="adam", lr=1e-3, eval_every=100, eval_size=1000, log_every=10,
                         max_loss_ratio=0.0, dtype="float64") -> list:
    """:func:`remedy_runs` of each of ``remedies`` (one :attr:`Remedy.ensemble_key`), all their
    seeds trained as one ensemble of ``len(remedies) * seeds`` members: one result dict per
    remedy, each the one :func:`remedy_runs` gives for it alone."""
    task, rs = get_task(task), [parse_remedy(r) for r in remedies]
    if not rs:
        raise ValueError("remedies: expected at least one remedy name")
    if len(rs) > 1 and (rs[0].ensemble_key is None or any(r.ensemble_key != rs[0].ensemble_key for r in rs)):
        raise ValueError(f"remedies: {[r.name for r in rs]} do not share one ensemble (they differ in more "
                         f"than their initial weights, or use recurrent batch norm)")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
    n_seeds, hidden = positive_int("seeds", seeds), positive_int("hidden", hidden)
    dt = {"float64": np.float64, "float32": np.float32}.get(dtype)
    if dt is None:
        raise ValueError(f"dtype: expected 'float64' or 'float32', got {dtype!r}")
    members = [(r, s) for r in rs for s in range(n_seeds)]
    nets = [r.build(task, hidden, np.random.SeedSequence([s, length, 0]), dt) for r, s in members]
    data = [np.random.default_rng(np.random.SeedSequence([s, length, 1])) for _, s in members]
    kw = dict(steps=positive_int("steps", steps), batch=batch,
              transform=rs[0].transform(OPTIMIZERS[optimizer](lr=lr)),
              eval_every=eval_every, eval_size=eval_size, log_every=log_every, profile_every=steps,
              max_loss_ratio=max_loss_ratio or None)
    if rs[0].norm == "bn":                      # batch statistics couple a batch: no ensemble
        results = [train(net, task, length, seed=d, **kw) for net, d in zip(nets, data, strict=True)]
    else:
        results = list(train(stack_networks(nets), task, length, seed=data, **kw))
    return [_summary(results[i * n_seeds:(i + 1) * n_seeds], steps, log_every) for i in range(len(rs))]


def _summary(results, steps, log_every) -> dict:
    """The per-seed lists of :func:`remedy_runs` from the seeds' TrainResults."""
    grid = np.array([1] + list(range(log_every, steps + 1, log_every)))
    out = {k: [] for k in ("solved", "steps_to_solve", "diverged", "diverged_at", "steps", "final_loss",
                           "final_error_rate", "rho_start", "rho_end", "grad_rate_start", "grad_rate_end",
                           "log_grad_norm")}
    for res in results:
        rho = [row.max() for row in res.log_spectral_radius]
        trace = np.full(grid.shape, np.nan)
        trace[np.searchsorted(grid, res.log_step)] = res.log_grad_norm
        for k, v in zip(("solved", "steps_to_solve", "diverged", "diverged_at", "steps", "final_loss",
                         "final_error_rate"), (res.solved, res.steps_to_solve, res.diverged, res.diverged_at,
                                               res.steps, res.final.loss, res.final.error_rate), strict=True):
            out[k].append(v)
        out["rho_start"].append(_first_last(rho)[0])
        out["rho_end"].append(_first_last(rho)[1])
        start, end = _rates(res.log10_adjoint_norms)
        out["grad_rate_start"].append(start)
        out["grad_rate_end"].append(end)
        out["log_grad_norm"].append(trace)
    out["log_step"] = grid
    return out
