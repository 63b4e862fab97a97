"""The training loop: minibatches, clipping, Omega, evaluation on fresh sequences, a log.

One step: draw a batch, forward + exact BPTT (:func:`~rnnanalysis.train.network.loss_and_grads`),
optionally add Pascanu's Omega, clip, update. Every ``eval_every`` steps the model is scored on
fresh sequences and training stops once the task counts as solved. A NaN/Inf loss or gradient
stops the run: the result records the divergence and its step and keeps the last finite model.

References:
    Pascanu, Mikolov & Bengio (2013), sec. 4 (protocol: SGD, clipping, Omega, success = < 1%
    errors on fresh sequences); Hochreiter & Schmidhuber (1997), sec. 5.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .._results import Result
from .._validate import positive_int, rng_from
from ..init import spectral_radius
from .clipping import Clipped, clip_by_global_norm, global_norm
from .losses import LOSSES
from .network import Network, loss_and_grads, predict
from .optim import Adam
from .regularizers import omega
from .tasks import get_task

__all__ = ["Evaluation", "TrainResult", "evaluate", "train"]


@dataclass(frozen=True)
class Evaluation(Result):
    """loss (task loss; nats for ce), error_rate (fraction wrong), mse (regression; else nan), solved."""

    loss: float
    error_rate: float
    mse: float
    solved: bool


def evaluate(net: Network, task, length: int, size: int = 1000, seed=None, chunk: int = 500) -> Evaluation:
    """Score ``net`` (eval mode) on ``size`` fresh sequences of ``task`` at ``length``."""
    task = get_task(task)
    size = positive_int("size", size)
    rng = rng_from(seed)
    losses, wrong, counted, sq, n_out = 0.0, 0, 0, 0.0, 0
    done = 0
    while done < size:
        b = task.sample(length, min(chunk, size - done), rng)
        out = predict(net, b.xs, at=task.at)
        B = b.xs.shape[1]
        value, _ = LOSSES[task.loss](out, b.targets)
        losses += value * B
        if task.loss == "mse":
            err = out - b.targets
            wrong += int(np.any(np.abs(err) >= task.tolerance, axis=-1).sum())
            counted += B
            sq += float((err * err).sum())
            n_out += err.size
        else:
            miss = out.argmax(axis=-1) != b.targets
            if b.mask is not None:
                miss = miss[b.mask]
            wrong += int(miss.sum())
            counted += miss.size
        done += B
    mse = sq / n_out if n_out else math.nan
    rate = wrong / counted
    solved = mse < task.solved_mse if task.solved_mse is not None else rate < task.solved_error_rate
    return Evaluation(losses / size, rate, mse, bool(solved))


@dataclass(frozen=True)
class TrainResult(Result):
    """Outcome and log of one run.

    solved / steps_to_solve (None if not solved); diverged / diverged_at (the step whose loss or
    gradient was NaN/Inf; None otherwise); steps (updates made); final: last evaluation;
    log_*: per ``log_every`` steps (step, training loss, global gradient norm before clipping,
    whether clipping fired, spectral radius of each gate block of W_hh); eval_*: per
    evaluation; profile_steps / log10_adjoint_norms: at step 1, every ``profile_every`` steps
    and at the solving step, log10 of the batch-mean ||dL/ds_k|| for k = 0..T. ``network``:
    the final model (the last finite one if the run diverged).
    """

    task: str
    length: int
    baseline: float
    solved: bool
    steps_to_solve: int | None
    diverged: bool
    diverged_at: int | None
    steps: int
    final: Evaluation
    log_step: np.ndarray
    log_loss: np.ndarray
    log_grad_norm: np.ndarray
    log_clipped: np.ndarray
    log_spectral_radius: np.ndarray
    eval_step: np.ndarray
    eval_loss: np.ndarray
    eval_error_rate: np.ndarray
    profile_steps: list
    log10_adjoint_norms: list
    _network: Network | None = field(default=None, repr=False, compare=False)

    @property
    def network(self) -> Network:
        return self._network


def _clipper(clip):
    if clip is None:
        return None
    if callable(clip):
        return clip
    threshold = float(clip)
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"clip: expected a threshold >= 0, a clipping function or None, got {clip!r}")
    return lambda grads, params: clip_by_global_norm(grads, threshold)


def _radii(W, gates):
    n = W.shape[1]
    return [spectral_radius(W[k * n:(k + 1) * n]) for k in range(gates)]


class _Progress:
    """Plain-text progress on stderr, at most every half second."""

    def __init__(self, total, enabled):
        self.total, self.enabled, self.last, self.t0 = total, enabled, 0.0, time.monotonic()

    def update(self, step, loss, force=False):
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.5 and not force):
            return
        self.last = now
        filled = int(30 * step / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {step}/{self.total} "
                         f"loss {loss:.4g} {now - self.t0:.0f}s")
        if force:
            sys.stderr.write("\n")
        sys.stderr.flush()


def train(net: Network, task, length: int, *, steps: int = 1000, batch: int = 20, optimizer=None,
          clip=None, omega_weight: float = 0.0, eval_every: int = 100, eval_size: int = 1000,
          log_every: int = 10, profile_every: int = 100, seed=None, progress: bool = False) -> TrainResult:
    """Train ``net`` on ``task`` at sequence ``length`` for at most ``steps`` updates.

    ``optimizer``: an object of :mod:`~rnnanalysis.train.optim` (default ``Adam(1e-3)``);
    ``clip``: None, a global-norm threshold, or a function ``(grads, params) -> Clipped``
    (e.g. ``lambda g, p: clip_adaptive(g, p, 0.01)``); ``omega_weight``: weight of Pascanu's
    Omega (Elman only). ``seed`` drives the training and evaluation sequences.
    """
    task = get_task(task)
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network (see make_network), got {type(net).__name__}")
    steps, B = positive_int("steps", steps), positive_int("batch", batch)
    eval_every, log_every = positive_int("eval_every", eval_every), positive_int("log_every", log_every)
    profile_every = positive_int("profile_every", profile_every)
    task.baseline(length)                                   # validates length
    omega_weight = float(omega_weight)
    if not math.isfinite(omega_weight) or omega_weight < 0:
        raise ValueError(f"omega_weight: expected a number >= 0, got {omega_weight!r}")
    clipper, opt = _clipper(clip), optimizer or Adam()
    rng = rng_from(seed)
    eval_seed = int(rng.integers(2 ** 63))
    params = dict(net.params)
    state = opt.init(params)
    logs = {k: [] for k in ("step", "loss", "norm", "clipped", "rho")}
    evals = {k: [] for k in ("step", "loss", "err")}
    prof_steps, profiles = [], []
    bar = _Progress(steps, progress)
    solved_at = diverged_at = None
    final, step, loss = None, 0, math.nan
    for step in range(1, steps + 1):
        b = task.sample(length, B, rng)
        sg = loss_and_grads(net, b.xs, b.targets, loss=task.loss, at=task.at)
        grads, loss = sg.grads, sg.loss
        if grads is None:
            diverged_at = step
            break
        if omega_weight:
            om = omega(net.core, b.xs, sg.states, sg.adjoints)
            grads["weight_hh"] = grads["weight_hh"] + omega_weight * om.grad_weight_hh
        clipped = clipper(grads, params) if clipper else Clipped(grads, global_norm(grads), False)
        if not (math.isfinite(loss) and (math.isfinite(clipped.norm) or clipped.fallback)):
            diverged_at = step
            break
        if step % log_every == 0 or step == 1:
            logs["step"].append(step)
            logs["loss"].append(loss)
            logs["norm"].append(clipped.norm)
            logs["clipped"].append(clipped.clipped)
            logs["rho"].append(_radii(params["weight_hh"], net.core.gates))
        pending = None
        if step % profile_every == 0 or step == 1 or step % eval_every == 0:
            with np.errstate(divide="ignore"):
                pending = (step, np.log10(np.linalg.norm(sg.adjoints, axis=-1).mean(axis=-1)))
            if step % profile_every == 0 or step == 1:
                prof_steps.append(step)
                profiles.append(pending[1])
        params, state = opt.update(params, clipped.grads, state)
        if not all(np.all(np.isfinite(v)) for v in params.values()):
            diverged_at = step
            params = dict(net.params)
            break
        net = Network(sg.core, net.readout_weight, net.readout_bias).with_params(params)
        bar.update(step, loss)
        if step % eval_every == 0:
            final = evaluate(net, task, length, eval_size, eval_seed)
            evals["step"].append(step)
            evals["loss"].append(final.loss)
            evals["err"].append(final.error_rate)
            if final.solved:
                solved_at = step
                if prof_steps[-1] != step:              # the profile of the solving step too
                    prof_steps.append(step)
                    profiles.append(pending[1])
                break
    steps_done = step if diverged_at is None else diverged_at - 1
    if final is None or evals["step"][-1] != steps_done:
        final = evaluate(net, task, length, eval_size, eval_seed)
        if final.solved and diverged_at is None:
            solved_at = steps_done
    bar.update(steps_done, loss, force=True)
    return TrainResult(
        task.name, int(length), task.baseline(length), solved_at is not None, solved_at,
        diverged_at is not None, diverged_at, steps_done, final,
        np.array(logs["step"], dtype=int), np.array(logs["loss"]), np.array(logs["norm"]),
        np.array(logs["clipped"], dtype=bool), np.array(logs["rho"]).reshape(len(logs["step"]), -1),
        np.array(evals["step"], dtype=int), np.array(evals["loss"]), np.array(evals["err"]),
        prof_steps, profiles, net)
