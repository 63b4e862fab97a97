"""The network's own dynamics at its inputs' mean: where they, not the input noise, set the gradient rate.

The stochastic linearisation (:mod:`~rnnanalysis.predict.linearise`) draws every step's
Jacobian independently from Gaussian stationary statistics. A network whose own activity
oscillates — the drift map ``s -> F(s, E[x])`` (the cell at its inputs' mean, the mean-field
map without its noise term) settles on a cycle or an invariant circle instead of a fixed point —
has Jacobians that follow the oscillation's phase: along an invariant circle the product keeps
a neutral direction (top Lyapunov exponent 0: gradients neither vanish nor explode), along a
period-2 cycle it decays at the cycle's own rate. Independent draws lose both (the Gaussian
closure sees the oscillation as noise). Trained networks do this: of the 14 trained networks of
``scripts/benchmarks/predictions.py`` (seeds 0 and 1) whose regime the closure missed, 13 have
an oscillating drift, and their own Jacobians multiplied in shuffled order miss 9 of them too.

When the inputs' fluctuations are small beside that oscillation the orbit decides the rate;
with more input noise the noise decides and the closure's rate stands
(``tests/predict/test_drift.py``: a period-2 network driven by inputs of std 8). The kick ratio
compares the two: the mean squared change of the state that one step of input noise makes at
points of the orbit (``W_ih (x - E[x])`` drawn from the inputs' covariance) over the orbit's own
spread (the trace of the state's covariance over time). It is measured in the state, not in the
pre-activations: a gated cell's gates turn input noise into little state change, an Elman
cell's saturation too. The orbit decides

- below ``SMALL_KICK`` = 0.1 (chosen on the benchmark's trained networks; ``docs/predictions.md``
  gives its trade-off), whatever its shape;
- below ``COHERENT_KICK`` = 1 when it is a coherent oscillation of a few dimensions — its
  participation ratio ``(tr C)^2 / tr(C^2)`` (C: the state's covariance along it; a fixed point
  0, a period-2 cycle 1, an invariant circle 2, a torus of two frequencies up to 4) below
  ``FEW_DIMENSIONS`` = 4. Such an orbit keeps its phase for about 1 / kick ratio steps, so
  successive Jacobians stay correlated through it, which the closure's independent draws cannot
  hold, until one step of noise moves the state across the orbit's whole spread (kick ratio 1).
  A high-dimensional chaotic orbit decorrelates by itself within a few steps: there the closure
  is the mean-field theory of the chaotic state (Sompolinsky, Crisanti & Sommers 1988, PRL 61,
  259; with input noise Molgedey, Schuchhardt & Schuster 1992, PRL 69, 3717), and the chains
  below, whose cost grows with n, would add little.

The rate is the orbit's top Lyapunov exponent *under* that small noise. Without noise a
neutral direction stays exactly neutral (exponent 0), but common noise on an oscillation
contracts its phase at second order in the noise's amplitude (noise-induced phase
synchronisation: Teramae & Tanaka 2004, PRL 93, 204103; Goldobin & Pikovsky 2005, PRE 71,
045201): invariant circles driven by small inputs vanish slowly (-0.002 to -0.004 log10/step on
trained networks) instead of staying critical. The exponent is averaged over antithetic pairs
of chains (the same Gaussian draws of the drive's fluctuation, from the inputs' covariance and a
fixed seed, with both signs: the first-order, odd part of each chain's finite-time fluctuation
cancels within the pair, the second-order shift stays), each started at a point of the
noise-free orbit and driven by the mean input plus the draws for ``_ALIGN + _STEPS`` steps;
``_PAIRS`` pairs at a time until the pairs' standard error is within a quarter of the critical
band, at most ``_MAX_PAIRS`` pairs and ``_FLOPS`` flops of recurrent products (one pair at
n = 256 for gated cells). Without noise the chains are the orbit itself (a period-2 cycle: its
analytic rate).

Uses the weights and the inputs' mean and covariance only: it iterates the cell at a constant
input (at most ``_SETTLE`` steps, stopping once settled, and one step from 80 orbit points for
the kick), then — only where the orbit decides — runs those chains on Gaussian drive noise of the
inputs' covariance, never on the inputs themselves. Cost at n = 256:
``scripts/benchmarks/predict_cost.py`` (the 'drift' column) and ``docs/predictions.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._results import Result
from .._validate import float_array
from ..cells import check_cell
from ..simulate import renormalised_sweep
from ._regime import CRITICAL_BAND_LOG10

__all__ = ["DriftOrbit", "drift_orbit", "drift_for", "drift_path", "SMALL_KICK", "COHERENT_KICK",
           "FEW_DIMENSIONS"]

#: the inputs' fluctuations are small beside the network's own oscillation below this ratio
SMALL_KICK = 0.1
#: ... and, for an orbit of fewer than FEW_DIMENSIONS dimensions, below this one
COHERENT_KICK, FEW_DIMENSIONS = 1.0, 4.0
_SETTLE, _STEPS, _ALIGN = 200, 800, 200     # steps: to the orbit; averaged; aligning the vector
_CHUNK = 50                                 # the settling steps run in chunks of this many
_SETTLED = 1e-9                             # largest state change per step of a settled drift
_NUDGE = 1e-3                               # drift_for: scale of the start's offset from zero
_PAIRS, _MAX_PAIRS = 4, 32                  # antithetic pairs of noisy chains: a group, at most
_SE = CRITICAL_BAND_LOG10 / 4               # more groups until the rate's standard error is this small
_FLOPS = 2 ** 30                            # ... or the chains' recurrent products would pass this
_POINTS, _DRAWS = 10, 8                     # orbit points x noise draws of the one-step kick


@dataclass(frozen=True)
class DriftOrbit(Result):
    """The cell at its inputs' mean, from a given state.

    settled: it reached a fixed point (a step moved it by at most 1e-9, checked every
    ``_CHUNK`` steps up to ``_SETTLE``); then the closure's statistics describe it and nothing
    else here is computed (rate and ratio NaN, dimension 0). kick_ratio: the mean squared change
    of the state that one step of input noise makes along the orbit, over the orbit's own spread
    (the trace of the state's covariance over time; inf when the orbit leaves the float range);
    dimension: the orbit's participation ratio ``(tr C)^2 / tr(C^2)`` over its second half (inf
    when it leaves the float range); log10_rate: top Lyapunov exponent along the orbit under the
    input noise, log10 per step (NaN unless ``decides``).
    """

    settled: bool
    log10_rate: float
    kick_ratio: float
    dimension: float

    @property
    def decides(self) -> bool:
        """True when the orbit, not the input noise, sets the gradient rate: a kick ratio below
        ``SMALL_KICK``, or below ``COHERENT_KICK`` on an orbit of fewer than ``FEW_DIMENSIONS``
        dimensions."""
        return _decides(self.settled, self.kick_ratio, self.dimension)


def _decides(settled, kick_ratio, dimension):
    few = dimension < FEW_DIMENSIONS
    return not settled and (kick_ratio < SMALL_KICK or few and kick_ratio < COHERENT_KICK)


def drift_orbit(cell, x_mean, drive_factor=None, start=None) -> DriftOrbit:
    """The drift orbit of ``cell`` at the constant input ``x_mean`` (m,) from the state ``start``
    (S,) (default zero). drive_factor: (P, r), the input drive's fluctuation
    ``W_ih (x - E[x])`` is ``drive_factor @ z`` with z ~ N(0, I_r) (P: the width of
    ``cell.project``); None: no input noise."""
    cell = check_cell(cell)
    if cell.ensemble is not None:
        raise ValueError(f"cell: expected a single network, got an ensemble cell with E={cell.ensemble}")
    x_mean = _array("x_mean", x_mean, (cell.inputs,))
    if drive_factor is not None:
        drive_factor = _array("drive_factor", drive_factor, (cell.grad_widths[0], None))
    s = np.zeros((1, cell.state_size), cell.dtype) if start is None else \
        _array("start", start, (cell.state_size,)).astype(cell.dtype).reshape(1, -1)
    u = _constant(cell, x_mean)
    return _decide(cell, u, *_path(cell, u, s), drive_factor)


def _constant(cell, x_mean):
    """The projected constant input x_mean: (_CHUNK, 1, P)."""
    return cell.project(np.broadcast_to(np.asarray(x_mean, dtype=cell.dtype), (_CHUNK, 1, cell.inputs)))


def _decide(cell, u, orbit, settled, drive_factor):
    """The DriftOrbit of a drift path (:func:`_path`) at the projected input u."""
    if orbit is None:                                    # activity growing without bound
        return DriftOrbit(settled=False, log10_rate=math.nan, kick_ratio=math.inf, dimension=math.inf)
    if settled:
        return DriftOrbit(settled=True, log10_rate=math.nan, kick_ratio=math.nan, dimension=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        late = np.concatenate(orbit[len(orbit) // 2:])
        dimension = _participation_ratio(late)
        spread = float(np.sum(np.var(late, axis=0)))
        kick = 0.0
        if drive_factor is not None:                     # one step from orbit points, with and without
            points = np.repeat(late[::late.shape[0] // _POINTS][:_POINTS], _DRAWS, axis=0)
            du = _draws(drive_factor, 0, points.shape[0]).astype(cell.dtype)
            moved = cell.forward(u[:1] + du[None], points)[0][1]
            still = cell.forward(u[:1] + np.zeros_like(du)[None], points)[0][1]
            kick = float(np.mean(np.sum((moved - still) ** 2, axis=-1)))
    ratio = kick / spread if spread > 0 and math.isfinite(kick) else math.inf
    if not _decides(False, ratio, dimension):
        return DriftOrbit(settled=False, log10_rate=math.nan, kick_ratio=ratio, dimension=dimension)
    points = late[np.linspace(0, late.shape[0] - 1, _MAX_PAIRS, endpoint=False).astype(int)]
    rate = _noisy_exponent(cell, u[0, 0], drive_factor, points)
    if math.isnan(rate):                                 # the chains left the float range
        return DriftOrbit(settled=False, log10_rate=math.nan, kick_ratio=math.inf, dimension=dimension)
    return DriftOrbit(settled=False, log10_rate=rate, kick_ratio=ratio, dimension=dimension)


def _participation_ratio(states):
    """(tr C)^2 / tr(C^2) of the states' (L, S) covariance C, from their L x L Gram matrix (inf
    if they overflow, 0 for states that do not move; scale-free, so computed on x / max|x|)."""
    x = states - states.mean(axis=0)
    scale = float(np.max(np.abs(x)))
    if not math.isfinite(scale):
        return math.inf
    if scale == 0:
        return 0.0
    x = x / scale
    gram = x @ x.T
    return float(np.trace(gram)) ** 2 / float(np.sum(gram * gram))


def _path(cell, u, s):
    """The drift from the state s (1, S) at the projected constant input u (_CHUNK, 1, P), in
    chunks of ``_CHUNK`` steps, up to ``_SETTLE`` steps: (list of (_CHUNK, S) chunks, settled),
    stopping once a step moves it by at most ``_SETTLED``; (None, False) if it leaves the float
    range."""
    orbit = []
    with np.errstate(over="ignore", invalid="ignore"), cell.weights_fixed():   # W_hh copied once
        for _ in range(_SETTLE // _CHUNK):
            states = cell.forward(u.copy(), s)[0][:, 0]     # forward may reuse u's memory
            if not np.all(np.isfinite(states)):
                return None, False
            orbit.append(states[1:])
            if float(np.max(np.abs(states[-1] - states[-2]))) <= _SETTLED:
                return orbit, True
            s = states[-1:]
    return orbit, False


def drift_path(cell, stats, x_mean):
    """Where the network's own trajectory goes: the float64 ``cell`` at the constant input
    ``x_mean`` (m,) from the zero state nudged by ``_NUDGE`` times each unit's standard deviation
    in ``stats``, for at most ``_SETTLE`` steps: (list of (_CHUNK, S) chunks of states, settled),
    or (None, False) if it leaves the float range. Computed once per closure by
    :func:`~rnnanalysis.predict.stationary.stationary_statistics` for gated cells (to pick the
    closure's fixed point the network reaches) and kept for :func:`drift_for`."""
    return _path(cell, _constant(cell, x_mean), _nudged(cell, stats)[None])


def _nudged(cell, stats):
    """The zero state nudged by ``_NUDGE`` times each unit's stationary standard deviation (h,
    and c for an LSTM): (S,)."""
    keys = ("h", "c") if cell.state_size > cell.hidden else ("h",)
    return _NUDGE * np.sqrt(np.concatenate([stats.variances[k] for k in keys]))


def _array(name, value, shape):
    """value as a finite float64 array of ``shape`` (None: any length), else an error naming it."""
    arr = np.asarray(value)
    arr = float_array(name, arr.astype(np.float64) if arr.dtype.kind in "iu" else arr,
                      dtype=np.float64, ndim=len(shape))
    if any(want is not None and got != want for got, want in zip(arr.shape, shape, strict=True)):
        want = ", ".join("r" if w is None else str(w) for w in shape) + ("," if len(shape) == 1 else "")
        raise ValueError(f"{name}: expected shape ({want}), got {arr.shape}")
    return arr


def _draws(factor, seed, rows):
    """(rows, P) seeded Gaussian draws ``z @ factor.T`` of the drive's fluctuation."""
    return np.random.default_rng(seed).standard_normal((rows, factor.shape[1])) @ factor.T


def _noisy_exponent(cell, u_mean, drive_factor, points):
    """Top Lyapunov exponent (log10 per step) of the orbit under the drive's fluctuation, from
    antithetic pairs of chains started at ``points`` (cycled), ``_PAIRS`` pairs at a time, until
    the standard error of the pair means is within ``_SE``, ``_MAX_PAIRS`` pairs ran or the next
    group would pass the flop budget (at least one pair; without noise one pair: both chains
    are the orbit itself)."""
    chain = 4.0 * (_ALIGN + _STEPS) * cell.hidden * cell.grad_widths[1]     # products there and back
    affordable = max(1, min(_MAX_PAIRS, int(_FLOPS // (2 * chain))))
    if drive_factor is None:
        affordable = 1
    pairs = []
    while len(pairs) < affordable:
        k = min(_PAIRS, affordable - len(pairs))
        starts = np.tile(points[(len(pairs) + np.arange(k)) % points.shape[0]], (2, 1))
        rates = _chain_rates(cell, u_mean, drive_factor, starts, seed=1 + len(pairs))
        pairs.extend(0.5 * (rates[:k] + rates[k:]))
        if len(pairs) > 1 and not np.std(pairs, ddof=1) / math.sqrt(len(pairs)) > _SE:   # (NaN: stop)
            break
    return float(np.mean(pairs))


def _chain_rates(cell, u_mean, drive_factor, starts, seed):
    """(B,) log10 growth per step of an adjoint carried back through chains from ``starts``
    (B even: the second half repeats the first) driven by ``u_mean`` plus antithetic draws for
    ``_ALIGN + _STEPS`` steps, renormalised every ``_CHUNK`` steps, over the last ``_STEPS``
    steps of the sweep."""
    B, T = starts.shape[0], _ALIGN + _STEPS
    u = np.broadcast_to(u_mean, (T, B, u_mean.shape[-1])).copy()
    if drive_factor is not None:
        du = _draws(drive_factor, seed, T * (B // 2)).reshape(T, B // 2, -1)
        u += np.concatenate([du, -du], axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        states, cache = cell.forward(u, np.ascontiguousarray(starts))
    if not np.all(np.isfinite(states)):
        return np.full(B, math.nan)
    g = np.random.default_rng(seed).standard_normal((B, cell.state_size)).astype(cell.dtype)
    g /= np.linalg.norm(g, axis=-1, keepdims=True)
    total = np.zeros(B)

    def accept(blk, logs, keep):
        if keep:
            total[:] += logs[0]
        norm = np.linalg.norm(blk[0], axis=-1, keepdims=True)
        return blk[0] / np.where(norm > 0, norm, 1.0), _CHUNK

    g, _ = renormalised_sweep(cell, cache, g, T, _STEPS, lambda b, lg, *_: accept(b, lg, False),
                              length=_CHUNK)
    renormalised_sweep(cell, cache, g, _STEPS, 0, lambda b, lg, *_: accept(b, lg, True), length=_CHUNK)
    return total / _STEPS


def drift_for(cell, stats, *, inputs=None, input_std=None, input_variance=None):
    """:func:`drift_orbit` for a prediction from the closure's ``stats`` and the description of
    the inputs it was made from (see :func:`~rnnanalysis.predict.stationary.input_moments`;
    its drift path is the one ``stats`` keeps, if any: :func:`drift_path`), or
    None for a deterministic fixed point (nothing oscillates) or activity that grows without
    bound (ReLU: :func:`~rnnanalysis.predict.linearise.homogeneous_growth` decides). It starts
    where the network starts, at the zero state, nudged by ``_NUDGE`` times each unit's
    stationary standard deviation (without biases and input mean, zero is a fixed point of the
    drift, possibly unstable, which noise leaves; per unit, so a permutation of the units
    permutes the orbit)."""
    if stats.deterministic or stats.log_scale > 0:     # a fixed point; activity growing without bound
        return None
    cell = cell if cell.dtype == np.float64 else cell.astype(np.float64)     # (astype copies)
    W_ih = np.asarray(cell.params["weight_ih"], dtype=np.float64)
    x_mean, factor = np.zeros(cell.inputs), None
    if inputs is not None:
        flat = np.asarray(inputs, dtype=np.float64).reshape(-1, cell.inputs)
        x_mean = flat.mean(axis=0)
        w, V = np.linalg.eigh(np.cov(flat.T, bias=True).reshape(cell.inputs, cell.inputs))
        factor = W_ih @ (V * np.sqrt(np.maximum(w, 0.0)))
    elif input_std is not None:
        factor = W_ih * np.asarray(input_std, dtype=np.float64)
    elif input_variance is not None:             # the drive's own variance on every pre-activation
        factor = math.sqrt(float(input_variance)) * np.eye(W_ih.shape[0])
    with cell.weights_fixed():        # the orbit's forward calls share one copy of W_hh
        u = _constant(cell, x_mean)
        path = stats._drift if stats._drift is not None else _path(cell, u, _nudged(cell, stats)[None])
        return _decide(cell, u, *path, factor)
