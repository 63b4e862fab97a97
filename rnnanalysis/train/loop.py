"""The training loop, in three parts: one step, its log, and evaluation on fresh sequences.

:func:`train_step` is pure: forward + exact BPTT (:func:`~rnnanalysis.train.network.loss_and_grads`),
then a gradient transformation (optimiser, clipping, Omega, composed with
:func:`~rnnanalysis.train.transform.chain`) and the new parameters. :func:`train` draws the
minibatches, logs, evaluates every ``eval_every`` steps and stops once the task counts as
solved. A NaN/Inf loss or gradient (or, with ``max_loss_ratio``, a loss above that multiple of
the first one) stops a run: the result records the divergence and its step and keeps the last
finite model.

An ensemble network (:func:`~rnnanalysis.train.network.stack_networks`) trains its E members in
one pass per step, each on its own data stream (``seed`` = one seed per member); a member that
solves or diverges leaves the ensemble, and the others go on. Each member's result is the one
it gets when trained alone: the jitter of the sequence length of every batch (tasks with
``jitter``) is drawn from a stream shared by all runs of the same length, and every member has
its own generator for its sequences.

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
from .._threads import SINGLE_THREAD_MAX, single_blas_thread
from .._validate import finite_float, positive_int, rng_from
from ..init import spectral_radius
from .clipping import ClipByGlobalNorm, ClipState
from .losses import LOSSES
from .network import Network, loss_and_grads, predict
from .optim import Adam
from .regularizers import OmegaPenalty
from .tasks import get_task
from .transform import GradientTransformation, StepContext, apply_updates, chain, member_norms

__all__ = ["Evaluation", "TrainResult", "StepInfo", "evaluate", "train", "train_step", "make_transform"]

_LENGTH_STREAM = 0x6A17   # salt of the shared stream of batch lengths (tasks with jitter)


@dataclass(frozen=True)
class Evaluation(Result):
    """loss (task loss; nats for ce), error_rate (fraction wrong), mse (regression; else nan), solved."""

    loss: float
    error_rate: float
    mse: float
    solved: bool


def _draw(task, length, batch, rngs, length_rng):
    """One batch per member (rngs = [(member, generator)]), all of one length drawn from
    ``length_rng``; stacked on a leading E for an ensemble (member None: a single network)."""
    T = length + (int(length_rng.integers(0, int(task.jitter * length) + 1)) if task.jitter else 0)
    bs = [task.draw(T, batch, r) for _, r in rngs]
    if rngs[0][0] is None:
        return bs[0]
    mask = None if bs[0].mask is None else np.stack([b.mask for b in bs])
    return type(bs[0])(np.stack([b.xs for b in bs]), np.stack([b.targets for b in bs]), mask)


def _evaluate(net, task, length, size, rngs, length_rng, chunk=500):
    """Evaluations of every member on ``size`` fresh sequences: rngs = [(member, generator)]."""
    acc = [[0.0, 0, 0, 0.0, 0] for _ in rngs]            # loss*B, wrong, counted, sq, n_out
    done = 0
    while done < size:
        b = _draw(task, length, min(chunk, size - done), rngs, length_rng)
        out = predict(net, b.xs, at=task.at)
        for a, (e, _) in zip(acc, rngs, strict=True):
            o, t = (out, b.targets) if e is None else (out[e], b.targets[e])
            mask = b.mask if e is None or b.mask is None else b.mask[e]
            B = o.shape[-2]
            value, _ = LOSSES[task.loss](o, t)
            a[0] += value * B
            if task.loss == "mse":
                err = o - t
                a[1] += int(np.any(np.abs(err) >= task.tolerance, axis=-1).sum())
                a[2] += B
                a[3] += float((err * err).sum())
                a[4] += err.size
            else:
                miss = o.argmax(axis=-1) != t
                if mask is not None:
                    miss = miss[mask]
                a[1] += int(miss.sum())
                a[2] += miss.size
        done += b.xs.shape[-2]
    evals = []
    for loss_b, wrong, counted, sq, n_out in acc:
        mse = sq / n_out if n_out else math.nan
        rate = wrong / counted
        solved = mse < task.solved_mse if task.solved_mse is not None else rate < task.solved_error_rate
        evals.append(Evaluation(loss=loss_b / size, error_rate=rate, mse=mse, solved=bool(solved)))
    return evals


def evaluate(net: Network, task, length: int, size: int = 1000, seed=None, chunk: int = 500) -> Evaluation:
    """Score ``net`` (eval mode) on ``size`` fresh sequences of ``task`` at ``length``."""
    task = get_task(task)
    size, chunk = positive_int("size", size), positive_int("chunk", chunk)
    task.baseline(length)
    if net.ensemble is not None:
        raise ValueError("net: evaluate scores one network; pass net.member(e) for an ensemble member")
    rng = rng_from(seed)
    return _evaluate(net, task, length, size, [(None, rng)], rng, chunk)[0]


@dataclass(frozen=True)
class TrainResult(Result):
    """Outcome and log of one run.

    solved / steps_to_solve (None if not solved); diverged / diverged_at (the step whose loss or
    gradient was NaN/Inf, or whose loss exceeded ``max_loss_ratio`` times the first; None
    otherwise); steps (updates made); final: last evaluation; log_*: per ``log_every`` steps
    (step, training loss, global norm of the loss gradient, whether a clipping transformation
    fired, spectral radius of each gate block of W_hh); eval_*: per evaluation; profile_steps /
    log10_adjoint_norms: at step 1, every ``profile_every`` steps and at the solving step, log10
    of the batch-mean ||dL/ds_k|| for k = 0..T. ``network``: the final model (the last finite
    one if the run diverged).
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


@dataclass(frozen=True)
class StepInfo:
    """What one step saw: loss and norm of the loss gradient (floats, or (E,) per member),
    clipped (whether a clipping transformation fired, per member), ok (finite, per member),
    adjoints dL/ds_k of the step's batch."""

    loss: float | np.ndarray
    grad_norm: float | np.ndarray
    clipped: bool | np.ndarray
    ok: bool | np.ndarray
    adjoints: np.ndarray | None


def _clip_states(state):
    """The ClipStates inside a (possibly chained) transformation state."""
    if isinstance(state, ClipState):
        return [state]
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return [c for s in state for c in _clip_states(s)]
    return []


def train_step(net: Network, xs, targets, transform, opt_state, *, loss: str, at: str):
    """One update of ``net`` on a minibatch: ``(new_net, new_opt_state, StepInfo)``; pure.

    The members whose loss or gradient is not finite (``StepInfo.ok`` False) keep their
    parameters (a single network then comes back unchanged).
    """
    E = net.ensemble
    sg = loss_and_grads(net, xs, targets, loss=loss, at=at)
    if sg.grads is None:
        return net, opt_state, StepInfo(sg.loss, math.nan, False, False, None)
    params = net.params
    ctx = StepContext(ensemble=E, core=net.core, xs=np.asarray(xs, dtype=net.core.dtype), states=sg.states,
                      adjoints=sg.adjoints)
    norms = member_norms(sg.grads, E)
    with np.errstate(over="ignore", invalid="ignore"):      # a diverging ensemble member
        updates, new_state = transform.update(sg.grads, opt_state, params, context=ctx)
        new = apply_updates(params, updates)
    clips = _clip_states(new_state)
    clipped = np.zeros(E or 1, dtype=bool)
    fell = np.zeros(E or 1, dtype=bool)
    for c in clips:
        clipped |= np.atleast_1d(c.clipped)
        fell |= np.atleast_1d(c.fallback)
    finite = [all(np.all(np.isfinite(v if E is None else v[e])) for v in new.values()) for e in range(E or 1)]
    ok = np.isfinite(np.atleast_1d(sg.loss)) & (np.isfinite(np.atleast_1d(norms)) | fell) & np.array(finite)
    if E is None:
        if not ok[0]:
            return net, opt_state, StepInfo(sg.loss, norms, bool(clipped[0]), False, sg.adjoints)
        info = StepInfo(sg.loss, norms, bool(clipped[0]), True, sg.adjoints)
    else:
        keep = ~ok
        if keep.any():
            new = {k: np.where(keep.reshape((E,) + (1,) * (v.ndim - 1)), params[k], v)
                   for k, v in new.items()}
        info = StepInfo(sg.loss, norms, clipped, ok, sg.adjoints)
    return Network(sg.core, net.readout_weight, net.readout_bias).with_params(new), new_state, info


def make_transform(optimizer=None, clip=None, omega_weight: float = 0.0):
    """``chain(OmegaPenalty(omega_weight), clip, optimizer)`` (Omega first, as Pascanu et al.).

    ``optimizer``: a gradient transformation (default ``Adam(1e-3)``); ``clip``: None, a
    global-norm threshold, or a gradient transformation such as ``ClipByValue(1.0)``.
    """
    omega_weight = finite_float("omega_weight", omega_weight, at_least=0)
    if clip is not None and not isinstance(clip, GradientTransformation):
        if isinstance(clip, bool) or not isinstance(clip, (int, float, np.floating, np.integer)):
            raise TypeError(f"clip: expected None, a threshold or a gradient transformation, got {clip!r}")
        clip = ClipByGlobalNorm(finite_float("clip", clip, at_least=0))
    optimizer = Adam() if optimizer is None else optimizer
    if not isinstance(optimizer, GradientTransformation):
        raise TypeError(f"optimizer: expected a gradient transformation (e.g. Adam(1e-3)), "
                        f"got {type(optimizer).__name__}")
    return chain(OmegaPenalty(omega_weight) if omega_weight else None, clip, optimizer)


def _radii(W, gates):
    n = W.shape[-1]
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


class _Log:
    """One member's log while it trains; :meth:`result` freezes it."""

    def __init__(self):
        self.rows = {k: [] for k in ("step", "loss", "norm", "clipped", "rho")}
        self.evals = {k: [] for k in ("step", "loss", "err")}
        self.prof_steps, self.profiles = [], []
        self.solved_at = self.diverged_at = None
        self.final = self.network = None
        self.first_loss = None
        self.steps = 0

    def result(self, task, length):
        r, n = self.rows, len(self.rows["step"])
        return TrainResult(
            task=task.name, length=int(length), baseline=task.baseline(length),
            solved=self.solved_at is not None, steps_to_solve=self.solved_at,
            diverged=self.diverged_at is not None, diverged_at=self.diverged_at, steps=self.steps,
            final=self.final, log_step=np.array(r["step"], dtype=int),
            log_loss=np.array(r["loss"], dtype=float),
            log_grad_norm=np.array(r["norm"], dtype=float), log_clipped=np.array(r["clipped"], dtype=bool),
            log_spectral_radius=np.array(r["rho"], dtype=float).reshape(n, -1),
            eval_step=np.array(self.evals["step"], dtype=int), eval_loss=np.array(self.evals["loss"]),
            eval_error_rate=np.array(self.evals["err"]), profile_steps=self.prof_steps,
            log10_adjoint_norms=self.profiles, _network=self.network)


def _take(tree, idx):
    """The members ``idx`` of every array in a transformation state (scalars kept)."""
    if isinstance(tree, np.ndarray) and tree.ndim:
        return tree[idx]
    if isinstance(tree, dict):
        return {k: _take(v, idx) for k, v in tree.items()}
    if isinstance(tree, tuple):
        items = [_take(v, idx) for v in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    return tree


def _subset(net, idx):
    p = net.core.params
    return Network(net.core.with_params({k: v[idx] for k, v in p.items()}), net.readout_weight[idx],
                   net.readout_bias[idx])


def train(net: Network, task, length: int, *, steps: int = 1000, batch: int = 20, optimizer=None,
          clip=None, omega_weight: float = 0.0, transform=None, eval_every: int = 100,
          eval_size: int = 1000, log_every: int = 10, profile_every: int = 100, max_loss_ratio=None,
          seed=None, progress: bool = False):
    """Train ``net`` on ``task`` at sequence ``length`` for at most ``steps`` updates.

    The update is ``transform`` if given (any gradient transformation, e.g.
    ``chain(ClipByGlobalNorm(1.0), SGD(0.01))``), else :func:`make_transform` of
    ``optimizer`` (default ``Adam(1e-3)``), ``clip`` (None, a global-norm threshold or a
    transformation) and ``omega_weight`` (Pascanu's Omega, Elman only). ``seed`` drives the
    training and evaluation sequences; for an ensemble network, one seed per member.
    ``max_loss_ratio``: also count a run as diverged when its training loss exceeds this
    multiple of its first loss.

    Returns a :class:`TrainResult`, or for an ensemble a tuple of them, one per member, each
    equal to that member's run alone.
    """
    task = get_task(task)
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a Network (see make_network), got {type(net).__name__}")
    steps, B = positive_int("steps", steps), positive_int("batch", batch)
    eval_every, log_every = positive_int("eval_every", eval_every), positive_int("log_every", log_every)
    profile_every = positive_int("profile_every", profile_every)
    eval_size = positive_int("eval_size", eval_size)
    task.baseline(length)                                   # validates length
    if transform is None:
        transform = make_transform(optimizer, clip, omega_weight)
    elif optimizer is not None or clip is not None or omega_weight:
        raise ValueError("transform: give either transform= or optimizer/clip/omega_weight, not both")
    elif not isinstance(transform, GradientTransformation):
        raise TypeError(f"transform: expected a gradient transformation, got {type(transform).__name__}")
    if max_loss_ratio is not None:
        max_loss_ratio = float(max_loss_ratio)
        if not max_loss_ratio > 1:
            raise ValueError(f"max_loss_ratio: expected a number > 1 or None, got {max_loss_ratio!r}")
    E = net.ensemble
    if E is None:
        seeds = [seed]
    elif isinstance(seed, (list, tuple)) and len(seed) == E:
        seeds = list(seed)
    else:
        raise ValueError(f"seed: an ensemble of {E} networks needs a list of {E} seeds, got {seed!r}")
    rngs = [rng_from(s) for s in seeds]
    eval_seeds = [int(r.integers(2 ** 63)) for r in rngs]
    length_rng = np.random.default_rng([_LENGTH_STREAM, int(length)])
    logs = [_Log() for _ in rngs]
    active = list(range(len(rngs)))                         # original member index of each ensemble slot
    opt_state = transform.init(dict(net.params))
    bar = _Progress(steps, progress)
    gates = net.core.gates
    with single_blas_thread(net.core.hidden <= SINGLE_THREAD_MAX):   # small GEMMs: a 2nd thread only spins
        step = 0
        for step in range(1, steps + 1):
            slots = [(None, rngs[0])] if E is None else [(i, rngs[m]) for i, m in enumerate(active)]
            b = _draw(task, length, B, slots, length_rng)
            before = net
            net, opt_state, info = train_step(net, b.xs, b.targets, transform, opt_state, loss=task.loss,
                                              at=task.at)
            losses, norms = np.atleast_1d(info.loss), np.atleast_1d(info.grad_norm)
            clipped, ok = np.atleast_1d(info.clipped), np.atleast_1d(info.ok)
            done = []
            profile = step % profile_every == 0 or step == 1
            pending = None
            if info.adjoints is not None and (profile or step % eval_every == 0):
                with np.errstate(divide="ignore", invalid="ignore"):
                    pending = np.log10(np.linalg.norm(info.adjoints, axis=-1).mean(axis=-1))
                pending = pending[None] if E is None else pending
            for slot, m in enumerate(active):
                log = logs[m]
                if log.first_loss is None:
                    log.first_loss = float(losses[slot])
                too_big = max_loss_ratio is not None and math.isfinite(losses[slot]) and \
                    losses[slot] > max_loss_ratio * log.first_loss
                if not ok[slot] or too_big:
                    log.diverged_at, log.steps = step, step - 1
                    log.network = before if E is None else before.member(slot)
                    done.append(slot)
                    continue
                log.steps = step
                if step % log_every == 0 or step == 1:
                    W = before.core.params["weight_hh"]
                    r = log.rows
                    r["step"].append(step)
                    r["loss"].append(float(losses[slot]))
                    r["norm"].append(float(norms[slot]))
                    r["clipped"].append(bool(clipped[slot]))
                    r["rho"].append(_radii(W if E is None else W[slot], gates))
                if profile:
                    log.prof_steps.append(step)
                    log.profiles.append(pending[slot])
            live = [s for s in range(len(active)) if s not in done]
            if step % eval_every == 0 and live:
                slot_seeds = [(s, eval_seeds[active[s]]) for s in live]
                evals = _eval_slots(net, task, length, eval_size, slot_seeds, E)
                for s, ev in zip(live, evals, strict=True):
                    log = logs[active[s]]
                    log.final = ev
                    log.evals["step"].append(step)
                    log.evals["loss"].append(ev.loss)
                    log.evals["err"].append(ev.error_rate)
                    if ev.solved:
                        log.solved_at = step
                        if log.prof_steps[-1] != step:              # the profile of the solving step too
                            log.prof_steps.append(step)
                            log.profiles.append(pending[s])
                        log.network = net if E is None else net.member(s)
                        done.append(s)
            bar.update(step, float(np.nanmean(losses)) if np.isfinite(losses).any() else math.nan)
            if done:
                keep = [s for s in range(len(active)) if s not in done]
                if not keep:
                    break
                net, opt_state = _subset(net, keep), _take(opt_state, np.array(keep))
                active = [active[s] for s in keep]
        for slot, m in enumerate(active):                       # the members still running at the end
            log = logs[m]
            if log.network is None:
                log.network = net if E is None else net.member(slot)
        for m, log in enumerate(logs):
            if log.final is None or log.evals["step"][-1] != log.steps:
                log.final = _eval_slots(log.network, task, length, eval_size, [(None, eval_seeds[m])],
                                        None)[0]
                if log.final.solved and log.diverged_at is None:
                    log.solved_at = log.steps
        bar.update(step, float(logs[0].rows["loss"][-1]) if logs[0].rows["loss"] else math.nan, force=True)
    results = tuple(log.result(task, length) for log in logs)
    return results[0] if E is None else results


def _eval_slots(net, task, length, size, slot_seeds, E):
    """Evaluate the given ensemble slots (all members share the evaluation's length stream)."""
    length_seed = [_LENGTH_STREAM, int(length), 1]
    if E is None:
        rng = np.random.default_rng(slot_seeds[0][1])
        return _evaluate(net, task, length, size, [(None, rng)], np.random.default_rng(length_seed))
    sub = [s for s, _ in slot_seeds]
    part = net if len(sub) == net.ensemble else _subset(net, sub)
    rngs = [(i, np.random.default_rng(seed)) for i, (_, seed) in enumerate(slot_seeds)]
    return _evaluate(part, task, length, size, rngs, np.random.default_rng(length_seed))
