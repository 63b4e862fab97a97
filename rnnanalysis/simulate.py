"""Forward trajectories, exact BPTT, and per-lag gradient norms kept in log space.

Shapes (time-major): inputs ``xs (T, B, m)``; states ``(T+1, B, n)`` with index 0 the
initial state; an ensemble cell puts its ``E`` first: ``(E, T+1, B, n)``.

Growth over thousands of steps leaves the range of float64 (10^±308), so the adjoint
``g_k = v^T ∂h_T/∂s_k`` is renormalised every few steps and its log-scale accumulated:

.. math::
    g_{k-1} = g_k J_k, \\qquad \\log_{10}\\lVert g_k\\rVert =
    \\log_{10}\\lVert \\tilde g_k\\rVert + \\sum_{\\text{renorms}} \\log_{10} c_j

References:
    Werbos (1990), "Backpropagation through time"; Pascanu, Mikolov & Bengio (2013), eqs. 3-5;
    Griewank & Walther (2000), checkpointing (``checkpoint=``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _kernel
from ._buffers import KEEP_BYTES, empty
from ._results import Result
from ._threads import large_product_threads, loop_threads, on_threads, single_blas_thread, workers
from ._validate import float_array, positive_int
from .cells import ForwardCache, check_cell
from .cells.layout import lead_shape, prepare_inputs, prepare_state, to_public

__all__ = ["Trajectory", "BPTTResult", "GradientProfile", "JacobianProducts", "simulate", "bptt",
           "gradient_profile", "jacobian_products", "lstsq_log10_rate", "renormalised_sweep",
           "finite_forward"]


@dataclass(frozen=True)
class Trajectory(Result):
    """states: (T+1, B, n) hidden states h_0..h_T; cells: (T+1, B, n) for LSTM, else None.

    forward: the :class:`~rnnanalysis.cells.ForwardCache` of this pass (the cell, its inputs,
    states and local derivatives); pass the trajectory to :func:`bptt` as ``trajectory=`` to
    reuse it.
    """

    states: np.ndarray
    cells: np.ndarray | None
    forward: ForwardCache | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class BPTTResult(Result):
    """Exact gradients of a loss L whose gradients dL/dh_t were given.

    grads: parameter gradients with PyTorch names; adjoints: (T+1, B, S) dL/ds_k (total);
    grad_xs: (T, B, m) dL/dx_t (None if not asked for); grad_h0: (B, S) = adjoints[0].
    """

    grads: dict
    adjoints: np.ndarray
    grad_xs: np.ndarray
    grad_h0: np.ndarray


@dataclass(frozen=True)
class GradientProfile(Result):
    """log10_norms: (T+1, B), ``log10 ||∂(v·h_T)/∂s_k||_2`` for k = 0..T (log10, base 10).

    ``log10_norms[T]`` is 0 (v is a unit vector); -inf where the gradient is exactly zero.
    layer_log10_norms: (T+1, B, L), the same for each of the L blocks of ``cell.state_blocks``
    (a Stack's layers, bottom to top), or None for a single cell.
    """

    log10_norms: np.ndarray
    direction: np.ndarray
    layer_log10_norms: np.ndarray | None = None

    def rate_log10_per_step(self, skip: int = 0) -> np.ndarray:
        """Least-squares slope of log10 norm against lag T-k (per sample), lags >= ``skip``."""
        return lstsq_log10_rate(self.log10_norms, skip)


def lstsq_log10_rate(log10_norms, skip: int = 0) -> np.ndarray:
    """Least-squares slope over lag of ``log10_norms`` (..., T+1, B), time on axis -2 with index k
    (lag T-k), lags >= ``skip``: (..., B) in log10 per step, negative = vanishing. A slope needs
    two lags: skip <= T-1. A sample whose gradient is exactly zero at a fitted lag (-inf) gets -inf.

    The package's one gradient-rate convention and fit: profiles, sweeps, check_predictions'
    ``fit="lstsq"`` and the remedies study all report this slope."""
    y = np.asarray(log10_norms, dtype=float)
    T = y.shape[-2] - 1
    if isinstance(skip, bool) or not isinstance(skip, (int, np.integer)) or not 0 <= skip <= T - 1:
        raise ValueError(f"skip: expected an integer lag 0 <= skip <= T-1 = {T - 1} (a slope needs two "
                         f"lags), got {skip!r}")
    y = np.flip(y, axis=-2)[..., skip:, :]                 # lag skip, skip+1, ...
    lag = np.arange(skip, skip + y.shape[-2], dtype=float)[:, None]
    lc = lag - lag.mean()
    with np.errstate(invalid="ignore"):
        slope = (lc * (y - y.mean(axis=-2, keepdims=True))).sum(axis=-2) / (lc * lc).sum()
    return np.where(np.any(y == -np.inf, axis=-2), -np.inf, slope)


@dataclass(frozen=True)
class JacobianProducts(Result):
    """log10_singular_values: (T+1, B, r), descending singular values of ∂s_T/∂s_k (log10).

    Resolution: values more than ~15 decades below the largest of the same k are rounding
    noise (the product is renormalised as a whole). ``log10_sigma_max`` is column 0.
    """

    log10_singular_values: np.ndarray

    @property
    def log10_sigma_max(self) -> np.ndarray:
        return self.log10_singular_values[..., 0]


def simulate(cell, xs, h0=None) -> Trajectory:
    """Run the cell over xs: (T, B, m) from h0 (zeros if None) -> :class:`Trajectory`.

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> cell = ra.Elman(hidden=3, inputs=1, seed=0)
        >>> ra.simulate(cell, np.zeros((5, 2, 1))).states.shape
        (6, 2, 3)
    """
    xsi = prepare_inputs(check_cell(cell), xs)
    s0 = prepare_state(cell, h0, xsi.shape[-2])
    fc = _run(cell, xsi, s0)
    public, out = to_public(fc.states, cell), cell.output_slice
    if cell.state_size == out.stop:
        return Trajectory(public[..., out], None, fc)
    return Trajectory(public[..., out], public[..., out.stop:], fc)


def _run(cell, xsi, s0) -> ForwardCache:
    """``cell.run(xsi, s0)``, or, where :func:`_batch_halves` says so, the two halves of the
    batch run by :func:`_on_workers`: their states joined, their caches kept as the pass's
    ``parts`` (which :func:`bptt` sweeps in the same halves; nothing else is copied)."""
    T, B = xsi.shape[0], xsi.shape[-2]
    if not _batch_halves(cell, T, B, B):
        return cell.run(xsi, s0)
    states = empty((T + 1,) + s0.shape, cell.dtype)

    def half(r):                         # each worker also copies its states into the joined ones
        fc = cell.run(xsi[:, r], s0[r])
        states[:, r] = fc.states
        return fc

    return ForwardCache(cell, xsi, states, None, tuple(_on_workers(half, _split(B))))


def _split(B):
    """The two halves of a batch of B samples."""
    return slice(0, B // 2), slice(B // 2, B)


def _segment_length(checkpoint, T):
    if checkpoint is None or checkpoint is False:
        return T
    if checkpoint is True:
        return max(1, math.isqrt(T))
    return positive_int("checkpoint", checkpoint)


def _reverse_segments(cell, xsi, s0, checkpoint, finite=False):
    """Yield (a, b, states, cache) for segments [a, b) of time, last segment first.

    With checkpointing only the segment-boundary states are kept after a first forward pass;
    each segment's trajectory is recomputed when the backward sweep reaches it. ``finite``:
    raise (see :func:`finite_forward`) instead of returning an overflowed trajectory.
    """
    run = finite_forward if finite else (lambda cell, xs, s, start: cell.run(xs, s))
    T = xsi.shape[0]
    L = _segment_length(checkpoint, T)
    if L >= T:
        fc = run(cell, xsi, s0, 0)
        yield 0, T, fc.states, fc.cache
        return
    if cell.time_varying:
        raise ValueError(f"checkpoint: {type(cell).__name__} in this mode depends on the absolute "
                         "time step, so it cannot be recomputed in segments; use checkpoint=None")
    starts = list(range(0, T, L))
    boundary = [s0]
    for a in starts[:-1]:
        boundary.append(run(cell, xsi[a:a + L], boundary[-1], a).states[-1].copy())
    for a, s_a in zip(reversed(starts), reversed(boundary), strict=True):
        fc = run(cell, xsi[a:a + L], s_a, a)
        yield a, a + fc.inputs.shape[0], fc.states, fc.cache


def finite_forward(cell, xsi, s0, start=0) -> ForwardCache:
    """``cell.run(xsi, s0)``, or a ValueError if the trajectory overflows: a forward pass that
    left the float range has no gradient to measure (said instead of returning NaN).
    ``start``: the index of xsi's first step in the whole sequence (for the message)."""
    with np.errstate(over="ignore", invalid="ignore"):
        fc = cell.run(xsi, s0)
    ok = np.isfinite(fc.states.reshape(fc.states.shape[0], -1)).all(axis=1)
    if not ok.all():
        raise ValueError(f"the forward trajectory overflows: the state is not finite from step "
                         f"{start + int(np.argmin(ok))} on (the activation is unbounded and the "
                         "weights make it grow); lower the gain or the sequence length T")
    return fc


def bptt(cell, xs, grad_h, h0=None, *, at="last", checkpoint=None, trajectory=None,
         input_grads=True) -> BPTTResult:
    """Backpropagation through time for a loss with given gradients ``grad_h = dL/dh``.

    ``at="last"``: grad_h is (B, n), the loss depends on h_T only.
    ``at="every"``: grad_h is (T, B, n) with ``grad_h[t-1] = ∂L/∂h_t`` for t = 1..T.
    (Ensemble cells: a leading E on grad_h.) ``checkpoint``: segment length (or True for
    sqrt(T)) to recompute the forward pass in segments instead of storing it.
    ``trajectory``: the result of ``simulate(cell, xs, h0)`` (or its ``forward``), whose
    forward pass is reused.
    ``input_grads=False`` skips dL/dx (``grad_xs`` is then None), one GEMM less.

    .. math::
        \\frac{\\partial L}{\\partial s_{k}} = \\frac{\\partial L}{\\partial s_{k}}\\Big|_{\\text{direct}}
        + \\frac{\\partial L}{\\partial s_{k+1}} J_{k+1}, \\qquad
        \\frac{\\partial L}{\\partial W} = \\sum_t \\frac{\\partial L}{\\partial a_t}
        \\frac{\\partial^+ a_t}{\\partial W}
    """
    xsi = prepare_inputs(check_cell(cell), xs)
    T, B = xsi.shape[0], xsi.shape[-2]
    s0 = prepare_state(cell, h0, B)
    lead, n = lead_shape(cell, B), cell.hidden
    if at not in ("last", "every"):
        raise ValueError(f"at: expected 'last' or 'every', got {at!r}")
    want = lead + (n,) if at == "last" else (T,) + lead + (n,)
    dh = float_array("grad_h", grad_h, dtype=cell.dtype)
    if at == "every" and cell.ensemble is not None and dh.shape == (cell.ensemble, T, B, n):
        dh = np.moveaxis(dh, 0, 1)
    if dh.shape != want:
        raise ValueError(f"grad_h: expected shape {want} for at={at!r}, got {dh.shape}")
    dh = np.ascontiguousarray(dh)
    fc = None
    if trajectory is not None:
        fc = trajectory.forward if isinstance(trajectory, Trajectory) else trajectory
        if not isinstance(fc, ForwardCache) or fc.cell is not cell or fc.inputs.shape != xsi.shape:
            raise ValueError("trajectory: expected the result of simulate(cell, xs, h0) for this cell and xs")
    if _halves(cell, T, B, fc):
        return _bptt_halves(cell, xsi, dh, s0, fc, at=at, checkpoint=checkpoint, input_grads=input_grads)
    return _bptt(cell, xsi, dh, s0, fc, at=at, checkpoint=checkpoint, input_grads=input_grads)


def _halves(cell, T, B, fc) -> bool:
    """Whether :func:`bptt` runs its batch as two halves: a forward pass ``fc`` that ran in
    halves (its ``parts``), or one network (no ensemble axis) whose samples are independent, at
    least :data:`SPLIT_FLOPS` of recurrent products, and a given forward pass ``fc`` (or None)
    whose arrays all have the batch on their second axis. A fixed rule, not the machine's, so
    the results do not depend on where they run."""
    if fc is not None and fc.parts:
        return True
    arrays = () if fc is None else (fc.states, *fc.cache)
    return _batch_halves(cell, T, B, B) and all(isinstance(a, np.ndarray) and a.ndim >= 2
                                                and a.shape[1] == B for a in arrays)


def _batch_halves(cell, T, rows, B) -> bool:
    """Whether one network's batch of B samples (``rows`` adjoint rows a step, directions
    included) runs as two halves: samples independent, at least :data:`SPLIT_FLOPS` of recurrent
    products in all and :data:`STEP_FLOPS` a step (below that the halves' per-step costs
    outweigh the second core: n = 32, B = 8 was 10% slower split)."""
    step = 2 * rows * cell.hidden * cell.grad_widths[1]
    return (cell.ensemble is None and cell.samples_independent and B >= 2
            and T * step >= SPLIT_FLOPS and step >= STEP_FLOPS)


def _bptt_halves(cell, xsi, dh, s0, fc, *, at, checkpoint, input_grads) -> BPTTResult:
    """:func:`bptt` of the two halves of the batch (:func:`_on_workers`): parameter gradients
    summed, the per-sample arrays joined."""
    rows = _split(xsi.shape[1])
    if fc is None or fc.parts:
        parts = fc.parts if fc is not None else (None, None)
    else:
        parts = [ForwardCache(cell, xsi[:, r], fc.states[:, r], tuple(c[:, r] for c in fc.cache))
                 for r in rows]

    T, B = xsi.shape[:2]
    adjoints = empty((T + 1, B, cell.state_size), cell.dtype)        # each half writes its rows
    grad_xs = empty((T, B, cell.inputs), cell.dtype) if input_grads else None

    def half(k):
        r = rows[k]
        return _bptt(cell, xsi[:, r], np.ascontiguousarray(dh[r] if at == "last" else dh[:, r]), s0[r],
                     parts[k], at=at, checkpoint=checkpoint, input_grads=input_grads,
                     adjoints=adjoints[:, r], grad_xs=None if grad_xs is None else grad_xs[:, r])

    a, b = _on_workers(half, (0, 1))
    return BPTTResult({k: a.grads[k] + b.grads[k] for k in a.grads}, to_public(adjoints, cell),
                      None if grad_xs is None else to_public(grad_xs, cell), adjoints[0])


def _bptt(cell, xsi, dh, s0, fc, *, at, checkpoint, input_grads, adjoints=None, grad_xs=None) -> BPTTResult:
    """:func:`bptt` on validated arrays (inputs (T, *lead, m), dh, s0 in the cell's layout; fc:
    a forward pass to reuse, or None; ``adjoints``, ``grad_xs``: arrays to write them into)."""
    T, lead, n, S = xsi.shape[0], s0.shape[:-1], cell.hidden, cell.state_size
    if adjoints is None:
        adjoints = empty((T + 1,) + lead + (S,), cell.dtype)
    g = adjoints[T]
    g[...] = 0.0
    out = cell.output_slice
    g[..., out] = dh if at == "last" else dh[T - 1]
    if input_grads and grad_xs is None:
        grad_xs = empty((T,) + lead + (cell.inputs,), cell.dtype)
    grads = None
    if fc is not None:
        segments = [(0, T, fc.states, fc.cache)]
    else:
        segments = _reverse_segments(cell, xsi, s0, checkpoint)
    w_ih, w_hh = cell.grad_widths
    rows = g[..., 0].size
    for a, b, states, cache in segments:
        g_ih = empty((b - a,) + lead + (w_ih,), cell.dtype)
        g_hh = empty((b - a,) + lead + (w_hh,), cell.dtype) if cell.separate_hh_grad else g_ih
        hh = None if g_hh is g_ih else g_hh
        with loop_threads(rows, n, w_hh, cell.dtype):
            if at == "last":
                g = cell.backward_steps(cache, 0, b - a, g, adjoints[a:b], g_ih, hh)
            else:                               # dL/dh_j joins the adjoint at s_j, j >= 1
                c = 1 if a == 0 else 0
                g = cell.backward_steps(cache, c, b - a, g, adjoints[a + c:b], g_ih[c:],
                                        None if hh is None else hh[c:], direct=dh[a + c - 1:b - 1])
                if c:
                    g = cell.backward_steps(cache, 0, 1, g, adjoints[:1], g_ih[:1],
                                            None if hh is None else hh[:1])
        with large_product_threads(2 * (b - a) * rows * w_ih * (cell.inputs + S), cell.dtype):
            seg, seg_xs = cell.param_grads(xsi[a:b], states, g_ih, g_hh, input_grads=input_grads)
        if input_grads:
            grad_xs[a:b] = seg_xs
        grads = seg if grads is None else {k: grads[k] + seg[k] for k in seg}
    return BPTTResult(grads, to_public(adjoints, cell),
                      None if grad_xs is None else to_public(grad_xs, cell), adjoints[0])


# ---- log-space adjoint sweeps -------------------------------------------------------------

MAX_BLOCK = 256      # most steps between two renormalisations (64 at least, buffer allowing)
_BLOCK_BYTES = 1 << 23
_SHIFT_TRIES = 4     # rescalings of one step's input before its result is taken as it is


def log10_range(dtype) -> float:
    """Adjoint norms are kept inside [10^-lim, 10^lim] between renormalisations (138 for
    float64, 17 for float32), so that squared norms stay in range too."""
    return 0.45 * math.log10(np.finfo(dtype).max)


def _log10_norms(blk, red, lim):
    """log10 of the 2-norm over axes ``red`` of blk, exact over the whole float range: squares
    are summed directly where that is safe, else after dividing by the largest entry."""
    sq = np.einsum("...i,...i->...", blk, blk)      # no temporary of blk's size
    if len(red) > 1:
        sq = sq.sum(axis=red[:-1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        out = 0.5 * np.log10(sq)
        bad = ~(np.abs(out) < 2 * lim)              # squares overflowed, underflowed or lost digits
        if np.any(bad):
            m = np.max(np.abs(blk), axis=red, keepdims=True)
            r = blk / np.where((m > 0) & np.isfinite(m), m, 1.0)
            sq = np.einsum("...i,...i->...", r, r)
            if len(red) > 1:
                sq = sq.sum(axis=red[:-1])
            out = np.where(bad, np.log10(np.squeeze(m, axis=red)) + 0.5 * np.log10(sq), out)
    return out


def renormalised_sweep(cell, cache, g, start, stop, accept, *, extra=0, length=8):
    """Carry adjoint(s) g backward through steps start-1, ..., stop of ``cache``, in blocks.

    g: (*dirs, *lead, S) with ``extra`` leading direction axes; norms run over those and the
    state axis, one per sample. After each block of k steps, ``accept(blk, logs, shift, lo)``
    gets the adjoints at s_lo .. s_{lo+k-1} (``blk``, (k, *g.shape)) and their log10 norms
    relative to g (``logs``, (k, *lead)); it records what it needs and returns
    ``(g_next, next_length)`` with g_next renormalised, or None to have the block redone step
    by step. A block whose norms leave [10^-lim, 10^lim] (:func:`log10_range`) is redone step
    by step; a single step that still leaves it (one Jacobian changing the norm by more than
    10^lim) is redone with its input multiplied by ``10**shift`` (per sample, exact: the step
    is linear in g), and ``blk`` then holds 10^shift times the adjoint (``shift`` is None
    otherwise). Returns (g, length) to continue into an earlier segment.

    Used by :func:`gradient_profile`, :func:`jacobian_products` and
    :func:`~rnnanalysis.lyapunov_spectrum`.
    """
    lim = log10_range(cell.dtype)
    red = tuple(range(1, extra + 1)) + (g.ndim,)          # norm axes of a block
    red_g = tuple(range(extra)) + (g.ndim - 1,)            # the same axes of g
    cap = max(64, min(MAX_BLOCK, _BLOCK_BYTES // max(g.nbytes, 1)))
    buf = empty((cap,) + g.shape, cell.dtype)
    t, shift, tries = start, None, 0
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):   # detected and redone below
        while t > stop:
            k = min(length, t - stop, cap)
            lo = t - k
            cell.backward_steps(cache, lo, t, g if shift is None else g * 10.0 ** shift[..., None], buf[:k])
            blk = buf[:k]
            measured = _log10_norms(blk, red, lim)
            zero_start = np.all(g == 0, axis=red_g)
            ok = (np.abs(measured) < lim) | ((measured == -np.inf) & zero_start)
            if not np.all(ok):
                if k > 1:
                    length = 1                           # left the safe range: redo step by step
                    continue
                if tries < _SHIFT_TRIES:                 # one step alone leaves it: scale its input
                    m = measured[0]
                    move = np.where(np.isfinite(m), -np.round(m), np.where(m == -np.inf, 150.0, -150.0))
                    shift = (0.0 if shift is None else shift) + np.where(ok[0], 0.0, move)
                    tries += 1
                    continue
            logs = measured if shift is None else measured - shift
            res = accept(blk, logs, shift, lo)
            if res is None and k > 1:
                length = 1
                continue
            g, length = res
            shift, tries, t = None, 0, lo
    return g, length


#: Ensemble members swept together keep their forward pass within about this many bytes (what
#: the scratch pool keeps, so no group pays for fresh pages); the ensemble lines of
#: scripts/benchmarks/bptt.py compare one call with a loop over the members.
GROUP_BYTES = KEEP_BYTES
#: Ensembles whose recurrent products take at least this many flops are swept in two groups of
#: members (a few ms of work each: below that a second thread costs more than it saves).
SPLIT_FLOPS = 1 << 26
#: One network's batch is split only from this many flops of recurrent products a step.
STEP_FLOPS = 1 << 17


def _sweep(cell, xsi, s0, g, checkpoint, summarise=None):
    """:func:`_sweep_all` in parts: from :data:`SPLIT_FLOPS` on, the two halves of one network's
    batch (samples independent), or at least two groups of ensemble members (each half of
    ``GROUP_BYTES`` at most), swept by :func:`_on_workers`. The parts do not depend on the
    machine, so neither do the results (the renormalisation points are chosen per part)."""
    rows = g[..., 0].size
    lead = g.ndim - s0.ndim
    if cell.ensemble is None:
        B = s0.shape[0]
        if not _batch_halves(cell, xsi.shape[0], rows, B):
            return _sweep_all(cell, xsi, s0, g, checkpoint, summarise)

        def half(r):
            return _sweep_all(cell, xsi[:, r], s0[r], g[(slice(None),) * lead + (r,)], checkpoint, summarise)

        return np.concatenate(_on_workers(half, _split(B)), axis=1)
    E = cell.ensemble
    # a member's forward pass (states, projection, local derivatives): about 2 (S + P) numbers a step
    per_member = (2 * (xsi.shape[0] + 1) * (rows // E) * (cell.state_size + cell.grad_widths[0])
                  * cell.dtype.itemsize)
    groups = 2 if 2 * xsi.shape[0] * rows * cell.hidden * cell.grad_widths[1] >= SPLIT_FLOPS else 1
    size = max(1, min(-(-E // groups), GROUP_BYTES // (groups * per_member)))
    if size >= E:
        return _sweep_all(cell, xsi, s0, g, checkpoint, summarise)

    def part(a):
        sl = a if size == 1 else slice(a, a + size)        # one member: a plain cell, no member axis
        sub = cell.with_params({k: v[sl] for k, v in cell.params.items()})
        xs_part = xsi[:, sl] if xsi.ndim == s0.ndim + 1 else xsi
        res = _sweep_all(sub, xs_part, s0[sl], g[(slice(None),) * lead + (sl,)], checkpoint, summarise)
        return res[:, None] if size == 1 else res

    return np.concatenate(_on_workers(part, range(0, E, size)), axis=1)


def _on_workers(fn, items) -> list:
    """``[fn(x) for x in items]``, on two worker threads when the time loops run compiled (they
    release the GIL; one BLAS thread each), else in turn."""
    threads = workers(min(2, len(items))) if _kernel.has_compiled_loops() else 1
    if threads == 1:
        return [fn(x) for x in items]
    with single_blas_thread():
        return on_threads(fn, items, threads)


def _sweep_all(cell, xsi, s0, g, checkpoint, summarise=None):
    """Log10 norms (or ``summarise`` values) of the adjoint(s) g at s_T, ..., s_0: (T+1, ...).

    ``g`` may have leading direction axes (jacobian_products), over which the norm also runs.
    Returns the accumulated log10 scale plus ``summarise(blk)`` (log10 values relative to the
    block, one or more per sample; the log10 norm itself when ``summarise`` is None).
    """
    T = xsi.shape[0]
    extra = g.ndim - s0.ndim                       # number of direction axes in front
    lim = log10_range(cell.dtype)
    red = tuple(range(1, extra + 1)) + (g.ndim,)

    def values(blk, logs, shift):                  # (k, *lead[, r]) relative to the scale
        if summarise is None:
            return logs
        v = summarise(blk)
        return v if shift is None else v - shift[..., None]

    def rescale(g, log10_c):                       # g / 10**log10_c, zero adjoints left alone
        ok = np.isfinite(log10_c)
        c = np.where(ok, 10.0 ** np.where(ok, log10_c, 0.0), 1.0)
        return g / np.expand_dims(c, tuple(range(extra)) + (-1,))

    logs0 = _log10_norms(g[None], red, lim)[0]
    scale = np.where(np.isfinite(logs0), logs0, 0.0)
    g = rescale(g, logs0)
    first = values(g[None], _log10_norms(g[None], red, lim), None)[0]
    first = first + (scale if summarise is None else scale[..., None])
    out = np.empty((T + 1,) + first.shape)
    out[T] = first
    offset = 0

    def accept(blk, logs, shift, lo):
        nonlocal scale
        k = blk.shape[0]
        v = values(blk, logs, shift)
        out[offset + lo: offset + lo + k] = v + (scale if summarise is None else scale[..., None])
        measured = logs[0] if shift is None else logs[0] + shift
        g_next = rescale(blk[0], measured)
        scale = scale + np.where(np.isfinite(logs[0]), logs[0], 0.0)
        growth = np.max(np.abs(np.where(np.isfinite(logs), logs, 0.0)), initial=0.0) / k
        return g_next, int(min(MAX_BLOCK, max(1, (0.5 * lim) // max(growth, 1e-12))))

    length = 8
    for a, b, _, cache in _reverse_segments(cell, xsi, s0, checkpoint, finite=True):
        offset = a
        with loop_threads(g[..., 0].size, cell.hidden, cell.grad_widths[1], cell.dtype):
            g, length = renormalised_sweep(cell, cache, g, b - a, 0, accept, extra=extra, length=length)
    return out


def _unit_direction(cell, direction, lead):
    n = cell.hidden
    if direction is None:
        v = np.full(n, 1.0 / math.sqrt(n), dtype=cell.dtype)
    else:
        v = float_array("direction", direction, dtype=cell.dtype)
        if v.shape[-1:] != (n,) or v.ndim > len(lead) + 1:
            raise ValueError(f"direction: expected shape (n,) = ({n},) or {lead + (n,)}, got {v.shape}")
        big = np.max(np.abs(v), axis=-1, keepdims=True)     # scaled first: no overflow in the norm
        if np.any(big == 0):
            raise ValueError("direction: must be a non-zero vector")
        v = v / big
        v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    try:
        v = np.broadcast_to(v, lead + (n,))
    except ValueError:
        raise ValueError(f"direction: expected shape (n,) = ({n},) or {lead + (n,)}, got {v.shape}") from None
    g = np.zeros(lead + (cell.state_size,), dtype=cell.dtype)
    g[..., cell.output_slice] = v
    return g


def gradient_profile(cell, xs, h0=None, direction=None, *, checkpoint=None) -> GradientProfile:
    """Per-lag gradient norms ``log10 ||∂(v·h_T)/∂s_k||_2`` for k = 0..T, in log space.

    xs: (T, B, m); direction v: (n,) or (B, n), normalised to a unit vector (default
    ones/sqrt(n)); s_k = h_k, or (h_k, c_k) for LSTM, or all layers' states for a Stack (whose
    h_T is the top layer's; each layer's block is also reported, ``layer_log10_norms``).
    Exact: the adjoint is renormalised every few steps (adaptively, never letting it leave
    float range) and the log-scale accumulated, so norms like 10^-5000 are finite numbers.
    ``checkpoint``: segment length (or True for sqrt(T)) to keep memory O(sqrt(T)) for very
    long sequences.

    .. math:: \\lVert v^\\top J_T J_{T-1} \\cdots J_{k+1} \\rVert_2

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> cell = ra.Elman(4, 1, activation="linear", init="identity", gain=0.5)
        >>> ra.gradient_profile(cell, np.zeros((3, 1, 1))).log10_norms[:, 0].round(3)
        array([-0.903, -0.602, -0.301,  0.   ])
    """
    xsi = prepare_inputs(check_cell(cell), xs)
    B = xsi.shape[-2]
    s0 = prepare_state(cell, h0, B)
    g = _unit_direction(cell, direction, lead_shape(cell, B))
    blocks = cell.state_blocks
    if len(blocks) == 1:
        logs = _sweep(cell, xsi, s0, g, checkpoint)
        return GradientProfile(to_public(logs.astype(np.float64), cell), g[..., cell.output_slice].copy())

    def summarise(blk):                           # (k, *lead, S) -> (k, *lead, 1 + L): all, then each block
        sq = np.stack([np.einsum("...i,...i->...", blk[..., b], blk[..., b]) for b in blocks], axis=-1)
        with np.errstate(divide="ignore"):
            return 0.5 * np.log10(np.concatenate([sq.sum(axis=-1, keepdims=True), sq], axis=-1))

    logs = to_public(_sweep(cell, xsi, s0, g, checkpoint, summarise).astype(np.float64), cell)
    return GradientProfile(logs[..., 0], g[..., cell.output_slice].copy(), logs[..., 1:])


def jacobian_products(cell, xs, h0=None, *, top=None, checkpoint=None) -> JacobianProducts:
    """Singular values of ``∂s_T/∂s_k = J_T ⋯ J_{k+1}`` for every k, in log10.

    xs: (T, B, m) -> ``log10_singular_values (T+1, B, r)`` descending, r = ``top`` (all S if
    None). The S x S product is propagated as S adjoint rows, renormalised as a whole.
    """
    xsi = prepare_inputs(check_cell(cell), xs)
    B = xsi.shape[-2]
    s0 = prepare_state(cell, h0, B)
    S = cell.state_size
    r = S if top is None else positive_int("top", top)
    if r > S:
        raise ValueError(f"top: expected at most the state size {S}, got {r}")
    lead = lead_shape(cell, B)
    eye = np.eye(S, dtype=cell.dtype).reshape((S,) + (1,) * len(lead) + (S,))
    g = np.broadcast_to(eye, (S,) + lead + (S,)).copy()

    def summarise(blk):                           # blk: (k, S_rows, *lead, S)
        mats = np.moveaxis(blk, 1, -2)            # (k, *lead, S_rows, S)
        with np.errstate(divide="ignore"):
            return np.log10(np.linalg.svd(mats, compute_uv=False)[..., :r])

    logs = _sweep(cell, xsi, s0, g, checkpoint, summarise)
    return JacobianProducts(to_public(logs.astype(np.float64), cell))
