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

from ._results import Result
from ._validate import float_array, positive_int
from .cells import check_cell
from .cells.layout import lead_shape, prepare_inputs, prepare_state, to_public

__all__ = ["Trajectory", "BPTTResult", "GradientProfile", "JacobianProducts",
           "simulate", "bptt", "gradient_profile", "jacobian_products", "lstsq_log10_rate"]


@dataclass(frozen=True)
class Trajectory(Result):
    """states: (T+1, B, n) hidden states h_0..h_T; cells: (T+1, B, n) for LSTM, else None.

    Pass it to :func:`bptt` as ``trajectory=`` to reuse the forward pass (its private trace).
    """

    states: np.ndarray
    cells: np.ndarray | None
    _trace: tuple | None = field(default=None, repr=False, compare=False)


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
    """

    log10_norms: np.ndarray
    direction: np.ndarray

    def rate_log10_per_step(self, skip: int = 0) -> np.ndarray:
        """Least-squares slope of log10 norm against lag T-k (per sample), lags >= ``skip``."""
        return lstsq_log10_rate(self.log10_norms, skip)


def lstsq_log10_rate(log10_norms, skip: int = 0) -> np.ndarray:
    """Least-squares slope over lag of ``log10_norms`` (..., T+1, B), time on axis -2 with index k
    (lag T-k), lags >= ``skip``: (..., B) in log10 per step."""
    y = np.flip(np.asarray(log10_norms, dtype=float), axis=-2)[..., skip:, :]   # lag skip, skip+1, ...
    lag = np.arange(skip, skip + y.shape[-2], dtype=float)[:, None]
    lc = lag - lag.mean()
    return (lc * (y - y.mean(axis=-2, keepdims=True))).sum(axis=-2) / (lc * lc).sum()


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
    states, cache = cell._forward(cell._project(xsi), s0)
    trace = (cell, xsi.shape, states, cache)
    public, n = to_public(states, cell), cell.hidden
    if cell.state_size == n:
        return Trajectory(public, None, trace)
    return Trajectory(public[..., :n], public[..., n:], trace)


def _segment_length(checkpoint, T):
    if checkpoint is None or checkpoint is False:
        return T
    if checkpoint is True:
        return max(1, math.isqrt(T))
    return positive_int("checkpoint", checkpoint)


def _reverse_segments(cell, xsi, s0, checkpoint):
    """Yield (a, b, states, cache) for segments [a, b) of time, last segment first.

    With checkpointing only the segment-boundary states are kept after a first forward pass;
    each segment's trajectory is recomputed when the backward sweep reaches it.
    """
    T = xsi.shape[0]
    L = _segment_length(checkpoint, T)
    if L >= T:
        states, cache = cell._forward(cell._project(xsi), s0)
        yield 0, T, states, cache
        return
    starts = list(range(0, T, L))
    boundary = [s0]
    for a in starts[:-1]:
        states, _ = cell._forward(cell._project(xsi[a:a + L]), boundary[-1])
        boundary.append(states[-1].copy())
    for a, s_a in zip(reversed(starts), reversed(boundary), strict=True):
        b = min(a + L, T)
        states, cache = cell._forward(cell._project(xsi[a:b]), s_a)
        yield a, b, states, cache


def bptt(cell, xs, grad_h, h0=None, *, at="last", checkpoint=None, trajectory=None,
         input_grads=True) -> BPTTResult:
    """Backpropagation through time for a loss with given gradients ``grad_h = dL/dh``.

    ``at="last"``: grad_h is (B, n), the loss depends on h_T only.
    ``at="every"``: grad_h is (T, B, n) with ``grad_h[t-1] = ∂L/∂h_t`` for t = 1..T.
    (Ensemble cells: a leading E on grad_h.) ``checkpoint``: segment length (or True for
    sqrt(T)) to recompute the forward pass in segments instead of storing it.
    ``trajectory``: the result of ``simulate(cell, xs, h0)``, whose forward pass is reused.
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
    lead, n, S = lead_shape(cell, B), cell.hidden, cell.state_size
    if at not in ("last", "every"):
        raise ValueError(f"at: expected 'last' or 'every', got {at!r}")
    want = lead + (n,) if at == "last" else (T,) + lead + (n,)
    dh = float_array("grad_h", grad_h, dtype=cell.dtype)
    if at == "every" and cell.ensemble is not None and dh.shape == (cell.ensemble, T, B, n):
        dh = np.moveaxis(dh, 0, 1)
    if dh.shape != want:
        raise ValueError(f"grad_h: expected shape {want} for at={at!r}, got {dh.shape}")
    adjoints = np.empty((T + 1,) + lead + (S,), dtype=cell.dtype)
    g = adjoints[T]
    g[...] = 0.0
    g[..., :n] = dh if at == "last" else dh[T - 1]
    grads, grad_xs = None, np.empty((T,) + lead + (cell.inputs,), dtype=cell.dtype) if input_grads else None
    if trajectory is not None:
        if not isinstance(trajectory, Trajectory) or trajectory._trace is None \
                or trajectory._trace[0] is not cell or trajectory._trace[1] != xsi.shape:
            raise ValueError("trajectory: expected the result of simulate(cell, xs, h0) for this cell and xs")
        segments = [(0, T) + trajectory._trace[2:]]
    else:
        segments = _reverse_segments(cell, xsi, s0, checkpoint)
    step, adj = cell._backward_step, list(adjoints)
    for a, b, states, cache in segments:
        g_ih = np.empty((b - a,) + lead + (cell.gates * n,), dtype=cell.dtype)
        g_hh = g_ih if cell._hh_grad_is_ih else np.empty_like(g_ih)
        gi = list(g_ih)
        for t in range(b, a, -1):
            g, _, gh = step(cache, t - 1 - a, g, out=adj[t - 1], out_ih=gi[t - 1 - a])
            if g_hh is not g_ih:
                g_hh[t - 1 - a] = gh
            if at == "every" and t > 1:
                g[..., :n] += dh[t - 2]
        seg, seg_xs = cell._param_grads(xsi[a:b], states, g_ih, g_hh, input_grads=input_grads)
        if input_grads:
            grad_xs[a:b] = seg_xs
        grads = seg if grads is None else {k: grads[k] + seg[k] for k in seg}
    return BPTTResult(grads, to_public(adjoints, cell),
                      None if grad_xs is None else to_public(grad_xs, cell), adjoints[0])


# ---- log-space adjoint sweeps -------------------------------------------------------------

def _log10_limits(dtype):
    """Norms kept inside [10^-lim, 10^lim] between renormalisations (138 for float64, 17 for
    float32), so that squared norms stay in range too."""
    return 0.45 * math.log10(np.finfo(dtype).max)


def _sweep(cell, xsi, s0, g, checkpoint, summarise=None):
    """Propagate adjoint(s) g (…, *lead, S) from s_T back to s_0 with renormalisation.

    ``g`` may have leading direction axes (jacobian_products); the norm used for the scale
    runs over those and the state axis. Blocks of steps run between renormalisations; a block
    whose norms leave [10^-lim, 10^lim] is redone step by step, so nothing under- or
    overflows. Returns, for k = 0..T stacked on a leading time axis, the accumulated log10
    scale plus ``summarise(G)`` (log10 values relative to the scale, one or more per sample;
    the log10 norm itself when ``summarise`` is None).
    """
    T = xsi.shape[0]
    lim = _log10_limits(cell.dtype)
    extra = g.ndim - s0.ndim                       # number of direction axes in front
    red = tuple(range(extra)) + (g.ndim - 1,)      # axes a norm runs over

    def log10_norm(arr):                           # arr: (k, …) -> (k, *lead)
        sq = np.einsum("...i,...i->...", arr, arr)  # no temporary of arr's size
        if extra:
            sq = sq.sum(axis=tuple(range(1, extra + 1)))
        with np.errstate(divide="ignore"):
            return 0.5 * np.log10(sq)

    def rescale(g, log10_c):                       # g / 10**log10_c, zero adjoints left alone
        ok = np.isfinite(log10_c)
        c = np.where(ok, 10.0 ** np.where(ok, log10_c, 0.0), 1.0)
        return g / np.expand_dims(c, tuple(range(extra)) + (-1,)), np.where(ok, log10_c, 0.0)

    def values(blk, logs, scale):
        if summarise is None:
            return logs + scale
        return summarise(blk) + scale[..., None]

    g, scale = rescale(g, log10_norm(g[None])[0])
    first = values(g[None], log10_norm(g[None]), scale)[0]
    out = np.empty((T + 1,) + first.shape)
    out[T] = first
    block = 8
    step = cell._backward_step
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):   # detected and redone below
        for a, b, _, cache in _reverse_segments(cell, xsi, s0, checkpoint):
            buf = np.empty((b - a,) + g.shape, dtype=cell.dtype)
            bufs = list(buf)
            t = b
            while t > a:
                k = min(block, t - a)
                g_start = g
                for j in range(t - 1 - a, t - 1 - a - k, -1):
                    g = step(cache, j, g, out=bufs[j])[0]
                blk = buf[t - k - a: t - a]
                logs = log10_norm(blk)
                safe = (np.isfinite(logs) & (np.abs(logs) < lim)) | (
                    (logs == -np.inf) & np.all(g_start == 0, axis=red))
                if k > 1 and not np.all(safe):
                    block, g = 1, g_start          # left the safe range: redo step by step
                    continue
                out[t - k: t] = values(blk, logs, scale)
                g, step_scale = rescale(g, logs[0])
                scale = scale + step_scale
                growth = np.max(np.abs(np.where(np.isfinite(logs), logs, 0.0)), initial=0.0) / k
                block = int(min(64, max(1, (0.5 * lim) // max(growth, 1e-12))))
                t -= k
    return out


def _unit_direction(cell, direction, lead):
    n = cell.hidden
    if direction is None:
        v = np.full(n, 1.0 / math.sqrt(n), dtype=cell.dtype)
    else:
        v = float_array("direction", direction, dtype=cell.dtype)
        if v.shape[-1:] != (n,) or v.ndim > len(lead) + 1:
            raise ValueError(f"direction: expected shape (n,) = ({n},) or {lead + (n,)}, got {v.shape}")
        norms = np.linalg.norm(v, axis=-1, keepdims=True)
        if np.any(norms == 0):
            raise ValueError("direction: must be a non-zero vector")
        v = v / norms
    try:
        v = np.broadcast_to(v, lead + (n,))
    except ValueError:
        raise ValueError(f"direction: expected shape (n,) = ({n},) or {lead + (n,)}, got {v.shape}") from None
    g = np.zeros(lead + (cell.state_size,), dtype=cell.dtype)
    g[..., :n] = v
    return g


def gradient_profile(cell, xs, h0=None, direction=None, *, checkpoint=None) -> GradientProfile:
    """Per-lag gradient norms ``log10 ||∂(v·h_T)/∂s_k||_2`` for k = 0..T, in log space.

    xs: (T, B, m); direction v: (n,) or (B, n), normalised to a unit vector (default
    ones/sqrt(n)); s_k = h_k, or (h_k, c_k) for LSTM. Exact: the adjoint is renormalised every
    few steps (adaptively, never letting it leave float range) and the log-scale accumulated,
    so norms like 10^-5000 are finite numbers. ``checkpoint``: segment length (or True for
    sqrt(T)) to keep memory O(sqrt(T)) for very long sequences.

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
    logs = _sweep(cell, xsi, s0, g, checkpoint)
    return GradientProfile(to_public(logs.astype(np.float64), cell), g[..., : cell.hidden].copy())


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
