"""Figure data on training: remedies on a long-range task, and Pascanu's error-surface wall.

The wall: Pascanu et al.'s one-unit network ``x_t = w sigma(x_{t-1}) + b``, ``x_0 = 0.5``, loss
``(sigma(x_50) - 0.7)^2`` (sigmoid sigma). With ``h_t = sigma(x_t)`` it is the Elman cell
``h_t = sigma(w h_{t-1} + b)`` with ``h_0 = sigma(0.5)``, so the surface and its gradients come
from :func:`rnnanalysis.simulate` and :func:`rnnanalysis.bptt` over an ensemble of (w, b).

.. math::
    \\mathcal{E}(w, b) = (h_{50} - 0.7)^2, \\qquad
    g \\leftarrow \\frac{\\tau}{\\lVert g \\rVert} g \\ \\text{if } \\lVert g \\rVert \\ge \\tau
    \\quad (\\tau\\text{: threshold})

References:
    Pascanu, Mikolov & Bengio (2013), sec. 2.3, eq. 8 and Fig. 6 (the wall), Alg. 1 (clipping),
    sec. 4.1 / Fig. 7 (temporal order).
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from .._results import Result
from .._threads import single_blas_thread
from ..cells import Elman
from ..simulate import bptt, simulate
from ..train import Adam, compare_remedies, get_task, parse_remedy, train

__all__ = ["ErrorSurface", "error_surface", "one_unit_loss", "RemedyStudy", "remedy_study"]

_STEPS, _X0, _TARGET = 50, 0.5, 0.7


def _one_unit(w, b):
    w, b = np.atleast_1d(np.asarray(w, float)), np.atleast_1d(np.asarray(b, float))
    E = w.size
    params = {
        "weight_ih": np.zeros((E, 1, 1)),
        "weight_hh": w.reshape(E, 1, 1),
        "bias_ih": np.zeros((E, 1)),
        "bias_hh": b.reshape(E, 1),
    }
    return Elman.from_params(params, "sigmoid")


def one_unit_loss(w, b, *, steps=_STEPS):
    """Loss (E,) and gradient (E, 2) = (dE/dw, dE/db) of Pascanu's one-unit net at the points (w, b)."""
    w = np.atleast_1d(np.asarray(w, float))
    cell = _one_unit(w, b)
    xs = np.zeros((steps, 1, 1))
    h0 = np.full((1, 1), 1.0 / (1.0 + math.exp(-_X0)))
    hT = simulate(cell, xs, h0).states[:, -1, 0, 0]
    res = bptt(cell, xs, (2.0 * (hT - _TARGET)).reshape(-1, 1, 1), h0, input_grads=False)
    grad = np.stack([res.grads["weight_hh"].reshape(-1), res.grads["bias_hh"].reshape(-1)], axis=-1)
    return (hT - _TARGET) ** 2, grad


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
    return ErrorSurface(w, b, loss, paths, path_loss, float(lr), float(threshold))


def _one_blas_thread():
    """Pool initializer: one BLAS thread per worker (small GEMMs; two threads per worker on two cores
    oversubscribe the machine and make each step several times slower)."""
    single_blas_thread().__enter__()


@dataclass(frozen=True)
class RemedyStudy(Result):
    """Success rate over T for each remedy, and training-loss curves at one length.

    success: (R, L) fraction of seeds solved within the budget (see
    :func:`rnnanalysis.compare_remedies`); curve_step / curve_loss: remedy -> (K,) logged steps
    and training losses (nats for temporal order) of seed 0 at ``curve_length``.
    """

    task: str
    remedies: tuple
    lengths: np.ndarray
    success: np.ndarray
    seeds: int
    budget: int
    hidden: int
    lr: float
    curve_length: int
    curve_step: dict
    curve_loss: dict
    baseline: float


def remedy_study(
    task="temporal_order",
    remedies=("tanh", "tanh+clip", "smart_tanh+clip+omega", "lstm"),
    lengths=(10, 20, 40, 80),
    *,
    seeds=4,
    budget=600,
    hidden=32,
    batch=20,
    lr=0.01,
    curve_length=None,
    workers=2,
) -> RemedyStudy:
    """Train every remedy at every length from every seed (Adam, ``lr``) for at most ``budget`` steps."""
    lengths = [int(L) for L in lengths]
    curve_length = lengths[len(lengths) // 2] if curve_length is None else int(curve_length)
    kw = dict(hidden=hidden, batch=batch, optimizer=Adam(lr), eval_every=50, eval_size=500)
    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=_one_blas_thread) as ex:
            comp = compare_remedies(task, lengths, list(remedies), seeds, budget, executor=ex, **kw)
    else:
        comp = compare_remedies(task, lengths, list(remedies), seeds, budget, **kw)
    success = np.array(
        [
            [
                next(s["success_rate"] for s in comp.summary if s["remedy"] == r and s["length"] == L)
                for L in lengths
            ]
            for r in (parse_remedy(x).name for x in remedies)
        ]
    )
    steps, losses = {}, {}
    for r in remedies:
        rem = parse_remedy(r)
        net = rem.build(task, hidden, np.random.SeedSequence([0, curve_length, 0]))
        res = train(
            net,
            task,
            curve_length,
            steps=budget,
            batch=batch,
            optimizer=Adam(lr),
            clip=rem.clipper(),
            omega_weight=rem.omega_weight,
            eval_every=budget,
            eval_size=200,
            log_every=5,
            seed=np.random.default_rng(np.random.SeedSequence([0, curve_length, 1])),
        )
        steps[r], losses[r] = np.asarray(res.log_step), np.asarray(res.log_loss)
    return RemedyStudy(
        get_task(task).name,
        tuple(remedies),
        np.array(lengths),
        success,
        int(seeds),
        int(budget),
        int(hidden),
        float(lr),
        curve_length,
        steps,
        losses,
        get_task(task).baseline(curve_length),
    )
