"""Experiments on training: Pascanu's error-surface wall, and remedies' success against T.

The wall: gradient descent on the one-unit network of :mod:`rnnanalysis.predict.one_unit`, with
and without clipping (the surface itself is one ensemble call over the whole (w, b) grid, far
faster than a sweep of single points):

.. math::
    g \\leftarrow \\frac{\\tau}{\\lVert g \\rVert} g \\ \\text{if } \\lVert g \\rVert \\ge \\tau
    \\quad (\\tau\\text{: threshold})

Remedies: :func:`load_remedy_study` reads the committed study of ``papers/remedies/`` (runs of
:func:`rnnanalysis.compare_remedies`); :func:`remedy_study` runs such a study again (hours at the
study's budget; seconds at toy sizes).

References:
    Pascanu, Mikolov & Bengio (2013), sec. 2.3, eq. 8 and Fig. 6 (the wall), Alg. 1 (clipping),
    sec. 4.1 / Fig. 7 (temporal order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._results import Result
from ..predict.one_unit import one_unit_loss
from ..train import Adam, parse_remedy
from .remedies import compare_remedies

__all__ = ["ErrorSurface", "error_surface", "RemedyStudy", "remedy_study", "load_remedy_study",
           "STUDY_RESULTS", "FIGURE_REMEDIES"]

#: The committed remedies study (a source checkout's ``papers/remedies/results.json``).
STUDY_RESULTS = Path(__file__).resolve().parents[2] / "papers" / "remedies" / "results.json"
#: The remedies figure (f) shows by default (those the study has).
FIGURE_REMEDIES = ("tanh", "orthogonal", "irnn", "lstm", "gru", "tanh+ln", "tanh+bn", "smart_tanh+clip+omega")


@dataclass(frozen=True)
class ErrorSurface(Result):
    """Loss over a (w, b) grid and gradient-descent paths with and without clipping.

    loss: (Q, P) over ``b`` (Q,) x ``w`` (P,); paths: ``"no clipping"`` / ``"clipping"`` ->
    (K+1, 2) points (w, b); path_loss: the same keys -> (K+1,) losses along them.
    """

    w: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    paths: dict
    path_loss: dict
    lr: float
    threshold: float


def error_surface(w=None, b=None, *, start=(6.0, -2.0), lr=2.0, threshold=0.5, steps=60) -> ErrorSurface:
    """The surface on a grid (default w: 241 values in [1, 9], b: 211 in [-5, 2]) and plain gradient
    descent from ``start`` (deterministic; no seed needed)."""
    w = np.linspace(1.0, 9.0, 241) if w is None else np.asarray(w, float)
    b = np.linspace(-5.0, 2.0, 211) if b is None else np.asarray(b, float)
    Wg, Bg = np.meshgrid(w, b)
    loss = one_unit_loss(Wg.ravel(), Bg.ravel())[0].reshape(Wg.shape)
    paths, path_loss = {}, {}
    for name, clip in (("no clipping", None), ("clipping", threshold)):
        p = np.array(start, float)
        pts, losses = [p.copy()], []
        for _ in range(steps):
            L, g = one_unit_loss(p[0], p[1])
            g = g[0]
            norm = float(np.linalg.norm(g))
            if clip is not None and norm >= clip:
                g = g * (clip / norm)
            losses.append(float(L[0]))
            p = p - lr * g
            pts.append(p.copy())
        losses.append(float(one_unit_loss(p[0], p[1])[0][0]))
        paths[name], path_loss[name] = np.array(pts), np.array(losses)
    return ErrorSurface(w=w, b=b, loss=loss, paths=paths, path_loss=path_loss, lr=float(lr),
                        threshold=float(threshold))


@dataclass(frozen=True)
class RemedyStudy(Result):
    """Success rate against the sequence length T, per task and remedy.

    success: (K, R, L) over ``tasks`` (K,) x ``remedies`` (R,) x ``lengths`` (L,): the fraction
    of ``seeds`` runs solved on fresh sequences within the budget (NaN: not run); budget: the
    training budget of every run, in words; source: where the runs come from; labels: the
    remedies' readable names (default: ``remedies``).
    """

    tasks: tuple
    remedies: tuple
    lengths: np.ndarray
    success: np.ndarray
    seeds: int
    budget: str
    source: str
    labels: tuple = ()

    def __post_init__(self):
        if not self.labels:
            object.__setattr__(self, "labels", tuple(self.remedies))


def _study(runs_by_task, remedies, budget, source) -> RemedyStudy:
    """RemedyStudy from ``task -> [run rows of compare_remedies]`` (remedy, length, seed, solved);
    tasks without runs yet are left out."""
    runs_by_task = {task: rows for task, rows in runs_by_task.items() if rows}
    if not runs_by_task:
        raise ValueError(f"remedies study: {source} has no finished runs yet")
    tasks = tuple(runs_by_task)
    lengths = sorted({r["length"] for rows in runs_by_task.values() for r in rows})
    have = {r["remedy"] for rows in runs_by_task.values() for r in rows}
    remedies = tuple(r for r in remedies if r in have) or tuple(sorted(have))
    success = np.full((len(tasks), len(remedies), len(lengths)), np.nan)
    seeds = 0
    for k, task in enumerate(tasks):
        for i, rem in enumerate(remedies):
            for j, L in enumerate(lengths):
                sel = [r["solved"] for r in runs_by_task[task] if r["remedy"] == rem and r["length"] == L]
                if sel:
                    success[k, i, j] = float(np.mean(sel))
                    seeds = max(seeds, len(sel))
    return RemedyStudy(tasks=tasks, remedies=remedies, labels=tuple(parse_remedy(r).label for r in remedies),
                       lengths=np.array(lengths), success=success, seeds=seeds, budget=budget, source=source)


def load_remedy_study(path=None, remedies=FIGURE_REMEDIES) -> RemedyStudy:
    """The committed remedies study (default :data:`STUDY_RESULTS`), no training: success over T.

    ``remedies``: the ones to keep, in this order (those the study lacks are left out; none
    found: all of the study's).
    """
    path = Path(STUDY_RESULTS if path is None else path)
    if not path.is_file():
        raise ValueError(f"remedies study: {path} not found; run papers/remedies/run.py, pass the "
                         f"study's results.json, or recompute (rnnanalysis figures --recompute)")
    try:
        data = json.loads(path.read_text())
        meta = data.pop("meta", {})
        runs = {task: v["runs"] for task, v in data.items()}
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"remedies study: {path} is not a study's results.json ({exc})") from None
    root = STUDY_RESULTS.parents[2]
    shown = path.resolve().relative_to(root) if path.resolve().is_relative_to(root) else path
    return _study(runs, remedies, meta.get("budget_text", "see the study's table"), shown.as_posix())


def remedy_study(
    tasks=("temporal_order", "adding"),
    remedies=FIGURE_REMEDIES,
    lengths=(25, 50, 100),
    *,
    seeds=3,
    budget=400,
    hidden=32,
    batch=20,
    lr=0.01,
    executor=None,
) -> RemedyStudy:
    """Train every remedy at every length from every seed (Adam, ``lr``) for at most ``budget`` steps.

    Runs :func:`rnnanalysis.compare_remedies` per task (``executor`` passed on).
    """
    remedies = tuple(parse_remedy(r).name for r in remedies)
    runs = {}
    for task in tasks:
        comp = compare_remedies(task, list(lengths), list(remedies), seeds, budget, executor=executor,
                                hidden=hidden, batch=batch, optimizer=Adam(lr), eval_every=50,
                                eval_size=500)
        runs[task] = comp.runs
    text = (f"at most {budget} Adam steps (lr {lr:g}, batch {batch}, so at most {budget * batch} training "
            f"sequences) per run; {hidden} hidden units")
    return _study(runs, remedies, text, "computed by rnnanalysis.experiments.training.remedy_study")
