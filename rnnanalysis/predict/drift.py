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

When the inputs' fluctuations are small beside that oscillation — the mean squared change of
the state that one step of input noise makes at points of the orbit (``W_ih (x - E[x])`` drawn
from the inputs' covariance) below ``SMALL_KICK`` times the orbit's own spread (the trace of
the state's covariance over time) — the rate is the drift orbit's top Lyapunov exponent
(:func:`~rnnanalysis.predict.lyapunov_spectrum` along ``_STEPS`` steps at the constant mean
input, after up to ``_SETTLE`` steps from the zero state, nudged); with more input noise the
noise decides and the closure's rate stands (``tests/predict/test_drift.py``: a period-2
network driven by inputs of std 8). The kick is measured in the state, not in the
pre-activations: a gated cell's gates turn input noise into little state change, an Elman
cell's saturation too. ``SMALL_KICK`` = 0.1 was chosen on the benchmark's trained networks
(``docs/predictions.md`` gives its trade-off).
Uses the weights and the inputs' mean and covariance only: it runs the cell at a constant
input (and single steps with drawn input noise), never on the inputs themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._results import Result
from .lyapunov import lyapunov_spectrum

__all__ = ["DriftOrbit", "drift_orbit", "drift_for", "SMALL_KICK"]

#: the inputs' fluctuations are small beside the network's own oscillation below this ratio
SMALL_KICK = 0.1
_SETTLE, _STEPS, _ALIGN = 200, 800, 200     # steps: to the orbit; along it; aligning the vector
_CHUNK = 50                                 # the settling steps run in chunks of this many
_SETTLED = 1e-9                             # largest state change per step of a settled drift
_NUDGE = 1e-3                               # drift_for: scale of the start's offset from zero
_POINTS, _DRAWS = 10, 8                     # orbit points x noise draws of the one-step kick
_LN10 = math.log(10.0)


@dataclass(frozen=True)
class DriftOrbit(Result):
    """The cell at its inputs' mean, from a given state.

    settled: it reached a fixed point (a step moved it by at most 1e-9, checked every
    ``_CHUNK`` steps up to ``_SETTLE``); then the closure's statistics describe it and nothing
    else here is computed (rate and ratio NaN). kick_ratio: the mean squared change of the state
    that one step of input noise makes along the orbit, over the orbit's own spread (the trace
    of the state's covariance over time); log10_rate: top Lyapunov exponent along the orbit,
    log10 per step (NaN unless ``decides``).
    """

    settled: bool
    log10_rate: float
    kick_ratio: float

    @property
    def decides(self) -> bool:
        """True when the orbit, not the input noise, sets the gradient rate."""
        return not self.settled and self.kick_ratio < SMALL_KICK


def drift_orbit(cell, x_mean, noise=None, start=None) -> DriftOrbit:
    """The drift orbit of ``cell`` at the constant input ``x_mean`` (m,) from the state ``start``
    (S,) (default zero). noise(rng, B) -> (B, P): B draws of the input drive's fluctuation
    ``W_ih (x - E[x])`` (P: the width of ``cell.project``), whose one-step effect on the state
    is set against the orbit's spread; None: no input noise."""
    u = cell.project(np.broadcast_to(np.asarray(x_mean, dtype=cell.dtype), (_CHUNK, 1, cell.inputs)))
    s = np.zeros((1, cell.state_size), cell.dtype) if start is None else \
        np.asarray(start, dtype=cell.dtype).reshape(1, -1)
    orbit = []
    for _ in range(_SETTLE // _CHUNK):              # stop as soon as it settles
        states = cell.forward(u.copy(), s)[0][:, 0]     # forward may reuse u's memory
        if float(np.max(np.abs(states[-1] - states[-2]))) <= _SETTLED:
            return DriftOrbit(settled=True, log10_rate=math.nan, kick_ratio=math.nan)
        s = states[-1:]
        orbit.append(states[1:])
    late = np.concatenate(orbit[len(orbit) // 2:])
    spread = float(np.sum(np.var(late, axis=0)))
    kick = 0.0
    if noise is not None:                            # one step from orbit points, with and without
        points = np.repeat(late[::late.shape[0] // _POINTS][:_POINTS], _DRAWS, axis=0)
        du = noise(np.random.default_rng(0), points.shape[0])
        moved = cell.forward(u[:1] + du[None], points)[0][1]
        still = cell.forward(u[:1] + np.zeros_like(du)[None], points)[0][1]
        kick = float(np.mean(np.sum((moved - still) ** 2, axis=-1)))
    ratio = kick / spread if spread > 0 else math.inf
    if not ratio < SMALL_KICK:
        return DriftOrbit(settled=False, log10_rate=math.nan, kick_ratio=ratio)
    xs = np.broadcast_to(np.asarray(x_mean, dtype=np.float64), (_STEPS, 1, cell.inputs))
    lam = lyapunov_spectrum(cell, xs, h0=s, k=1, warmup=_ALIGN)
    return DriftOrbit(settled=False, log10_rate=float(lam.lambda_max[0]) / _LN10, kick_ratio=ratio)


def drift_for(cell, stats, *, inputs=None, input_std=None, input_variance=None):
    """:func:`drift_orbit` for a prediction from the closure's ``stats`` and the description of
    the inputs it was made from (see :func:`~rnnanalysis.predict.stationary.input_moments`), or
    None for a deterministic fixed point (nothing oscillates) or activity that grows without
    bound (ReLU: :func:`~rnnanalysis.predict.linearise.homogeneous_growth` decides). It starts
    where the network starts, at the zero state, nudged by ``_NUDGE`` times each unit's
    stationary standard deviation (without biases and input mean, zero is a fixed point of the
    drift, possibly unstable, which noise leaves; per unit, so a permutation of the units
    permutes the orbit)."""
    if stats.deterministic or stats.log_scale > 0:     # a fixed point; activity growing without bound
        return None
    cell = cell.astype(np.float64)
    keys = ("h", "c") if cell.state_size > cell.hidden else ("h",)
    start = _NUDGE * np.sqrt(np.concatenate([stats.variances[k] for k in keys]))
    W_ih = np.asarray(cell.params["weight_ih"], dtype=np.float64)
    x_mean, factor = np.zeros(cell.inputs), None
    if inputs is not None:
        flat = np.asarray(inputs, dtype=np.float64).reshape(-1, cell.inputs)
        x_mean = flat.mean(axis=0)
        w, V = np.linalg.eigh(np.cov(flat.T, bias=True).reshape(cell.inputs, cell.inputs))
        factor = W_ih @ (V * np.sqrt(np.maximum(w, 0.0)))
    elif input_std is not None:
        factor = W_ih * np.asarray(input_std, dtype=np.float64)
    if factor is not None:
        def noise(rng, B):
            return rng.standard_normal((B, factor.shape[1])) @ factor.T
    elif input_variance is not None:
        def noise(rng, B):
            return math.sqrt(float(input_variance)) * rng.standard_normal((B, W_ih.shape[0]))
    else:
        noise = None
    return drift_orbit(cell, x_mean, noise, start)
