"""Lyapunov spectrum along an input-driven trajectory by the QR (Benettin) method, in nats per step.

The exponents of the Jacobian product ``M_T = J_T ... J_1`` equal those of its transpose
``J_1^T ... J_T^T``, which is what backpropagation applies: the orthonormal system is carried
backwards from step T by the cells' vector-Jacobian products (exactly how gradients travel) and
re-orthonormalised by QR; the log-diagonal of R accumulates the exponents:

.. math::
    G_{j-1} = Q_j^\\top J_j, \\quad G_{j-1}^\\top = Q_{j-1} R_{j-1}, \\qquad
    \\lambda_i = \\frac{1}{T - T_w} \\sum_{j \\le T - T_w} \\ln |R_{j,ii}|

The first ``warmup`` steps of that sweep (steps T, T-1, ...) align the system and are not
averaged. With ``k = 1`` a single vector is renormalised (no QR): ``lambda_1`` is then the
asymptotic log-growth of ``||dh_T/dh_k||`` over the lag T - k. Chaotic dynamics
(``lambda_1 > 0``) means exploding gradients.

References:
    Benettin, Galgani, Giorgilli & Strelcyn (1980), Meccanica 15; Engelken, Wolf & Abbott (2023),
    "Lyapunov spectra of chaotic recurrent neural networks"; Mikhaeil, Monfared & Durstewitz
    (NeurIPS 2022), "On the difficulty of learning chaotic dynamics with RNNs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from .._results import Result
from .._threads import FEW_VECTORS, SINGLE_THREAD_MAX, single_blas_thread
from .._validate import positive_int, rng_from
from ..cells import check_cell
from ..cells.layout import lead_shape, prepare_inputs, prepare_state
from ..simulate import finite_forward, renormalised_sweep
from ._regime import CRITICAL_BAND_LOG10, classify

__all__ = ["LyapunovSpectrum", "lyapunov_spectrum"]

_BATCHES = 20        # batch means for the standard error
_MAX_INTERVAL = 64   # most steps between two orthonormalisations


@dataclass(frozen=True)
class LyapunovSpectrum(Result):
    """exponents: (B, k) nats per step, descending per sample ((E, B, k) for an ensemble cell).

    standard_error: (B, k), batch-means estimate over the averaged steps (NaN with fewer than
    three batches; 0 for an exponent of exactly -inf, when the Jacobian product reached 0);
    steps: steps averaged (T - warmup); orthonormalisations: QR (or vector renormalisation)
    count per sample, summed over samples.
    """

    exponents: np.ndarray
    standard_error: np.ndarray
    steps: int
    warmup: int
    orthonormalisations: int

    @property
    def lambda_max(self) -> np.ndarray:
        """(B,) the largest exponent of each sample, nats per step."""
        return self.exponents[..., 0]

    @property
    def regime(self) -> str:
        """From the mean lambda_1: "exploding" when chaotic (lambda_1 > 0 beyond the band)."""
        return classify(float(np.mean(self.lambda_max)) / math.log(10.0), CRITICAL_BAND_LOG10)

    @property
    def chaotic(self) -> bool:
        return self.regime == "exploding"


def _budgets(dtype):
    """(spread, growth) in nats allowed between orthonormalisations for this dtype."""
    fi = np.finfo(dtype)
    return -0.4 * math.log(fi.eps), 0.25 * math.log(fi.max)


def _orthonormalise(g):
    """Rows g (k, S) -> (log |diag R| (k,), orthonormal rows); k = 1 is a plain renormalisation."""
    if g.shape[0] == 1:
        nrm = float(np.sqrt(np.dot(g[0], g[0])))
        if nrm == 0.0:
            return np.array([-math.inf]), g
        return np.array([math.log(nrm)]), g / nrm
    q, r = sla.qr(g.T, mode="economic", overwrite_a=True, check_finite=False)
    with np.errstate(divide="ignore"):
        logs = np.log(np.abs(np.diagonal(r)))
    return logs, q.T


def _next_interval(logs, steps, budgets):
    fin = logs[np.isfinite(logs)]
    if fin.size < logs.size:
        return 1
    spread = (fin.max() - fin.min()) / steps
    growth = np.abs(fin).max() / steps
    r = min(budgets[0] / max(spread, 1e-12), budgets[1] / max(growth, 1e-12))
    return int(min(_MAX_INTERVAL, max(1, r)))


def _one_trajectory(cell, cache, T, q0, warmup, every, budgets):
    """Sweep one sample's cache backwards; returns (interval steps (N,), interval logs (N, k), count).

    Adaptive intervals are at most (T - warmup) / (2 * _BATCHES) steps, so that every batch of
    the standard error spans at least two of them.
    """
    longest = max(1, min(_MAX_INTERVAL, (T - warmup) // (2 * _BATCHES)))
    kept_steps, kept_logs, count = [], [], 0

    def accept(blk, _logs, shift, lo):
        nonlocal count
        steps = blk.shape[0]
        logs, q = _orthonormalise(np.array(blk[0]))
        if shift is not None:
            logs = logs - float(shift) * math.log(10.0)
        count += 1
        fin = logs[np.isfinite(logs)]
        too_far = fin.size and (fin.max() - fin.min() > 2 * budgets[0] or np.abs(fin).max() > 2 * budgets[1])
        if every is None and steps > 1 and too_far:
            return None                           # left the safe range: redo step by step
        if lo < T - warmup:
            kept_steps.append(steps)
            kept_logs.append(logs)
        return q, every or min(longest, _next_interval(logs, steps, budgets))

    g, r = renormalised_sweep(cell, cache, q0.copy(), T, T - warmup, accept, extra=1, length=every or 1)
    renormalised_sweep(cell, cache, g, T - warmup, 0, accept, extra=1, length=r)
    return np.array(kept_steps, dtype=float), np.array(kept_logs, dtype=float), count


def _summarise(steps, logs):
    """Time-average exponents (k,) and their standard error (k,).

    Batch means with a lag-1 (Newey-West) term: the log-norm is drift + a diffusive part + a
    bounded part whose increments in neighbouring batches cancel (telescoping), so plain batch
    means overstate the error; ``var = (c_0 + 2 c_1) / nb`` removes that part (floored at c_0 / nb^2).
    """
    with np.errstate(invalid="ignore"):
        exps = logs.sum(axis=0) / steps.sum()
        nb = min(_BATCHES, steps.size)
        if nb < 3:
            return exps, np.full_like(exps, np.nan)
        mid = np.cumsum(steps) - 0.5 * steps             # batches of (nearly) equal numbers of steps
        batch = np.minimum((mid / steps.sum() * nb).astype(int), nb - 1)
        rates = np.array([logs[batch == b].sum(axis=0) / steps[batch == b].sum() for b in range(nb)])
        dev = rates - rates.mean(axis=0)
        c0 = np.mean(dev * dev, axis=0)
        c1 = np.mean(dev[1:] * dev[:-1], axis=0) * (nb - 1) / nb
        se = np.sqrt(np.maximum(c0 + 2 * c1, c0 / nb) / nb)
    return exps, np.where(exps == -np.inf, 0.0, se)   # a product that reached exactly 0: exact -inf


def lyapunov_spectrum(cell, xs, h0=None, k=None, *, warmup=None, reorth_every=None,
                      seed=0) -> LyapunovSpectrum:
    """Top ``k`` Lyapunov exponents (nats per step) of the cell driven by xs: (T, B, m), per sample.

    k: number of exponents (default all S; S = 2n for LSTM). warmup: steps of the backward sweep
    used only to align the orthonormal system (default T // 10; must be < T). reorth_every: fixed
    number of steps between QR factorisations; ``None`` adapts it so that no more than ~1e6 of
    spread in growth (float64) builds up between two of them (a block that exceeds twice that is
    redone step by step). seed: the random initial orthonormal system.

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> cell = ra.Elman(3, 1, activation="linear", init="identity", gain=0.5)
        >>> ra.lyapunov_spectrum(cell, np.zeros((50, 1, 1))).exponents.round(4)
        array([[-0.6931, -0.6931, -0.6931]])
    """
    xsi = prepare_inputs(check_cell(cell), xs)
    if not cell.samples_independent:
        raise ValueError(f"cell: {cell!r} couples the samples of a batch, so per-sample exponents are "
                         "undefined; use cell.for_inference()")
    T, B, S = xsi.shape[0], xsi.shape[-2], cell.state_size
    k = S if k is None else positive_int("k", k)
    if k > S:
        raise ValueError(f"k: expected at most the state size S={S}, got {k}")
    warmup = T // 10 if warmup is None else positive_int("warmup", warmup, minimum=0)
    if warmup >= T:
        raise ValueError(f"warmup: expected fewer steps than the sequence length T={T}, got {warmup}")
    every = None if reorth_every is None else positive_int("reorth_every", reorth_every)
    s0 = prepare_state(cell, h0, B)
    q0 = sla.qr(rng_from(seed).standard_normal((S, k)), mode="economic")[0].T.astype(cell.dtype)
    lead = lead_shape(cell, B)
    budgets = _budgets(cell.dtype)
    members = None if cell.ensemble is None else [
        cell.with_params({name: v[e] for name, v in cell.params.items()}) for e in range(cell.ensemble)]
    exps = np.empty(lead + (k,))
    errs = np.empty(lead + (k,))
    total = 0
    with single_blas_thread(S <= SINGLE_THREAD_MAX or k <= FEW_VECTORS):
        cache = finite_forward(cell, xsi, s0).cache
        for idx in np.ndindex(*lead):
            member = cell if members is None else members[idx[0]]
            one = tuple(c[(slice(None),) + idx] for c in cache)
            steps, logs, count = _one_trajectory(member, one, T, q0, warmup, every, budgets)
            e, se = _summarise(steps, logs)
            order = np.argsort(-e, kind="stable")
            exps[idx], errs[idx] = e[order], se[order]
            total += count
    return LyapunovSpectrum(exps, errs, T - warmup, warmup, total)
