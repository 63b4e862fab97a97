"""Stationary statistics of every gate's pre-activation, from the actual weights and the inputs' moments.

Mean-field closure (Poole et al. 2016; Chen, Pennington & Schoenholz 2018; Gilboa et al. 2019),
but per unit and from the real matrices instead of a scalar sigma_w: each pre-activation
``a = W s + u`` (``u = W_ih x + b``) is taken Gaussian with

.. math::
    \\mathbb{E}[a_i] = \\sum_j W_{ij}\\,\\mathbb{E}[h_j] + \\mathbb{E}[u_i], \\qquad
    \\operatorname{Var}[a_i] = \\sum_j W_{ij}^2 \\operatorname{Var}[h_j] + \\operatorname{Var}[u_i]

(units and steps independent; for noisy Elman cells up to ``FULL_COVARIANCE_MAX`` units the
state's cross-unit covariances are kept too, :mod:`~rnnanalysis.predict.covariance`: trained weights couple
the units), and the state's moments follow from the cell's update:
Elman ``h = phi(a)``; LSTM ``c = f c + i g`` at its stationary first two moments, then
``h = o phi(c)``; GRU ``h = (1 - z) n + z h`` with ``n = phi(u_n + r (W_hn h + b_hn))``. Gaussian
expectations by 32-point Gauss-Hermite quadrature (closed forms for ReLU and linear).
Without input noise the map is iterated from the network's initial state ``h0 = 0`` (this is
the network's own trajectory): its fixed point when one attracts. Otherwise the per-unit noisy
fixed point is solved from unit variance by Anderson-accelerated iteration (see ``_iterate``: the
plain iteration oscillates at large gains with biases, where the earlier solver gave up and used
the annealed closure, far from a simulation; ``tests/predict/test_stationary.py``). For
positively homogeneous activations (ReLU, linear) whose activity grows without bound the
statistics are kept normalised: the drive then no longer matters, and once they have grown
100-fold (or by a steady factor for 20 steps) the zero-drive map's normalised fixed point (a
nonlinear eigenvector) is solved directly (:func:`_growth`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .._buffers import empty
from .._results import Result
from .._threads import single_blas_thread
from .._validate import finite_float, float_array
from ..activations import get_activation
from ..cells import check_cell
from .covariance import FULL_COVARIANCE_MAX, elman_covariance
from .drift import drift_path
from .fixed_point import anderson_solve, converged
from .gaussian import _NODES, _WEIGHTS, gaussian_moments

__all__ = ["StationaryStatistics", "stationary_statistics", "matrix_statistics", "input_moments",
           "gaussian_moments", "lag_correlation", "ZERO_INPUT", "FULL_COVARIANCE_MAX"]

_MAX_ITER = 1000
#: noisy statistics: map evaluations, Anderson's history (:func:`~.fixed_point.anderson_solve`)
_MAX_NOISY, _DEPTH = 300, 24
#: noisy statistics stop at this relative step (:func:`~.fixed_point.converged`), not at
#: ``fixed_point.TOL``: where the means converge slowly (inputs of non-zero mean) the last two
#: decades cost a fifth of the evaluations (an LSTM at n = 256: 56 -> 45, Elman 104 -> 79), and
#: statistics to ~1e-8 move the Monte-Carlo rate ~1e-8, far inside its standard error
#: (``tests/predict/test_cost.py``)
_NOISY_TOL = 1e-8
#: the means' preconditioner (:func:`_mean_preconditioner`): finite-difference step of the
#: pre-activation means, power steps that check that their map contracts
_FD_STEP, _POWER_STEPS = 1e-6, 48
#: the deterministic trajectory gives up after 3 x _STALL steps once a _STALL-step stretch has not
#: cut its step size tenfold (it could not reach the tolerance within _MAX_ITER steps at that pace)
_STALL = 100
_LEAK_MIN = 1e-12            # smallest 1 - E[f] of an LSTM forget gate (saturated gates)
_SCALE_LIMIT = 1e8           # homogeneous activations: renormalise the statistics beyond this scale
#: homogeneous activations: growth is taken as established once the scale of the statistics is
#: _GROWN times that of the first step (:func:`_growth` then checks the zero-drive map)
_GROWN = 100.0
_STEADY = 20                 # ... or once it grew by a steady factor over this many steps
_SIGMOID = get_activation("sigmoid")
#: What a prediction made without input statistics says about its inputs.
ZERO_INPUT = "zero input (no input statistics given: pass inputs= or input_std=)"


def _ratio(num, den):
    """``num / den`` elementwise where ``den > 0``, else 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _is_homogeneous(act):
    """phi(c a) = c phi(a) for c > 0 (ReLU, linear, leaky ReLU): checked numerically."""
    a = np.array([-2.5, -0.5, 0.0, 0.7, 3.0])
    return bool(np.allclose(act.f(3.0 * a), 3.0 * act.f(a), rtol=1e-12, atol=0.0))


@dataclass(frozen=True)
class StationaryStatistics(Result):
    """Per-unit stationary means and variances of each gate's pre-activation and of the state.

    means, variances: name -> (n,) arrays. Elman: "a" (pre-activation), "h". LSTM: "i", "f",
    "g", "o" (pre-activations), "h", "c". GRU: "r", "z" (pre-activations), "hn" (W_hn h + b_hn),
    "u_n" (W_in x + b_in), "n" (the candidate's pre-activation u_n + r hn), "h", and "nh": the
    covariance of the candidate phi(n_t) with the previous state h_{t-1} (in means; variance 0).
    deterministic: no variance anywhere (the state sits at a fixed point); converged: the
    iteration reached its tolerance; log_scale: ln of the factor by which the activity of a
    homogeneous cell grows per step without bound (0 when bounded), the statistics then being
    those of its normalised direction; inputs: what was assumed of them;
    drive_variance: the variance they add to a pre-activation, averaged over the units.
    (Private: ``_drift``, the drift path, :func:`~rnnanalysis.predict.drift.drift_path`.)
    """

    kind: str
    means: dict
    variances: dict
    deterministic: bool
    converged: bool
    iterations: int
    log_scale: float
    inputs: str
    drive_variance: float
    _drift: tuple | None = field(default=None, repr=False, compare=False)


def _check_std(cell_inputs, input_std):
    std = np.asarray(input_std)
    if std.dtype.kind not in "iuf" or std.ndim > 1:
        raise TypeError(f"input_std: expected a number or a vector of {cell_inputs} numbers, "
                        f"got {input_std!r}")
    std = std.astype(np.float64)
    if std.ndim == 1 and std.shape != (cell_inputs,):
        raise ValueError(f"input_std: expected a scalar or shape ({cell_inputs},) (one per input), "
                         f"got shape {std.shape}")
    if not np.all(np.isfinite(std)) or np.any(std < 0):
        raise ValueError(f"input_std: expected finite numbers >= 0, got {input_std!r}")
    return np.broadcast_to(std, (cell_inputs,))


def input_moments(w_ih, *, inputs=None, input_std=None, input_variance=None, width=None,
                  covariance=False):
    """(mean, variance, description) of the input drive ``W_ih x`` on each pre-activation.

    w_ih: (rows, m), or None for identity input weights on ``width`` units (a bare W).
    inputs: (T, B, m) array, of which only the mean and covariance over time and batch are used;
    input_std: inputs i.i.d. N(0, s^2) with s a scalar or one per input; input_variance: the
    drive's variance itself (the same on every pre-activation). At most one may be given; none
    means zero input. covariance: the second element is the drive's whole (rows, rows)
    covariance matrix ``W_ih Cov(x) W_ih^T`` instead of its diagonal. A drive whose mean or
    variance overflows float64 is refused (ValueError naming the description).
    """
    given = [k for k, v in (("inputs", inputs), ("input_std", input_std), ("input_variance", input_variance))
             if v is not None]
    if len(given) > 1:
        raise ValueError(f"{', '.join(given)}: give at most one description of the inputs")
    with np.errstate(over="ignore", invalid="ignore"):
        mean, var, text = _drive_moments(w_ih, inputs, input_std, input_variance, width, covariance)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var))):
        raise ValueError(f"{given[0]}: the input drive's mean or variance (the input weights times "
                         "the inputs' moments) overflows float64; scale the inputs down")
    return mean, var, text


def _drive_moments(w_ih, inputs, input_std, input_variance, width, covariance):
    """input_moments for one checked description (floating-point warnings left to the caller)."""
    rows, m = (width, width) if w_ih is None else w_ih.shape
    if inputs is not None:
        xs = float_array("inputs", inputs, ndim=3).astype(np.float64)
        if xs.shape[-1] != m or xs.shape[0] == 0 or xs.shape[1] == 0:
            raise ValueError(f"inputs: expected shape (T, B, m) with T, B >= 1 and m={m} inputs, "
                             f"got shape {xs.shape}")
        flat = xs.reshape(-1, m)
        mu = flat.mean(axis=0)
        centred = flat - mu
        text = f"the first two moments of inputs {xs.shape}"
        cov = centred.T @ centred / flat.shape[0]
        if w_ih is None:
            return mu, (cov if covariance else np.diag(cov).copy()), text
        if covariance:
            return w_ih @ mu, w_ih @ cov @ w_ih.T, text
        return w_ih @ mu, np.maximum(np.einsum("ij,jk,ik->i", w_ih, cov, w_ih), 0.0), text
    if input_std is not None:
        std = _check_std(m, input_std)
        text = f"i.i.d. N(0, s^2) inputs, s = {float(std[0]):g}" if np.all(std == std[0]) else \
            "i.i.d. N(0, s_j^2) inputs, one s_j per input"
        if covariance:
            return np.zeros(rows), (np.diag(std ** 2) if w_ih is None else (w_ih * std ** 2) @ w_ih.T), text
        return np.zeros(rows), (std ** 2 if w_ih is None else (w_ih ** 2) @ std ** 2), text
    if input_variance is not None:
        v = finite_float("input_variance", input_variance, at_least=0)
        var = np.full(rows, v)
        return np.zeros(rows), (np.diag(var) if covariance else var), \
            f"input drive of variance {v:g} on every pre-activation"
    return np.zeros(rows), (np.zeros((rows, rows)) if covariance else np.zeros(rows)), ZERO_INPUT


# ---- one step of the mean-field map per cell kind --------------------------------------------------

def _elman_map(act, W, W2, b, u_mean, u_var):
    def step(m, v, shrink, dmu=None):
        mu = W @ m + b * shrink + u_mean * shrink
        mu = mu if dmu is None else mu + dmu
        q = W2 @ v + u_var * shrink ** 2
        e1, e2 = gaussian_moments(act, mu, q)
        var = np.maximum(e2 - e1 ** 2, 0.0)
        return e1, var, {"a": (mu, q), "h": (e1, var)}
    return step


def _lstm_map(act, W, W2, b, u_mean, u_var, n):
    """The LSTM's map on (E[h], E[c], E[h] ; Var h, Var c, Cov(h_t, h_{t-1})).

    As for the GRU (:func:`_gru_map`), the cell input ``g_t`` is correlated across steps by the
    network's own slow activity (lag-1 correlation ``rho_g`` through phi by Mehler's expansion
    from ``sum_j W_ij^2 Cov(h_j,t, h_j,t-1)``), and ``c = f c + i g`` sums it over ~1/(1 - f)
    steps: ``Cov(c_{t-1}, g_t) = E[i] rho_g Var g / (1 - E[f] rho_g)`` (g AR(1), the gates at
    their means in the filter); ``h = o phi(c)`` then carries ``c``'s lag-1 correlation.
    """
    def step(m, v, shrink, dmu=None):
        mh, vh, kh = m[:n], v[:n], v[2 * n:]
        mu = W @ mh + (b + u_mean) * shrink
        mu = mu if dmu is None else mu + dmu
        q = W2 @ vh + u_var * shrink ** 2
        blocks = {k: (mu[j * n:(j + 1) * n], q[j * n:(j + 1) * n]) for j, k in enumerate("ifgo")}
        gates = gaussian_moments(_SIGMOID, np.concatenate([mu[:2 * n], mu[3 * n:]]),   # i, f, o at once
                                 np.concatenate([q[:2 * n], q[3 * n:]]))
        (ei, ef, eo), (ei2, ef2, eo2) = ((e[:n], e[n:2 * n], e[2 * n:]) for e in gates)   # (np.split: ~10 us)
        qg = blocks["g"][1]
        corr_g = _ratio(W2[2 * n:3 * n] @ kh, qg)
        eg, eg2, rho_g = _moments_and_lag(act, blocks["g"][0], qg, np.clip(corr_g, -1.0, 1.0))
        vg = np.maximum(eg2 - eg ** 2, 0.0)
        c_cg = ei * rho_g * vg / np.maximum(1.0 - ef * rho_g, _LEAK_MIN)     # Cov(c_{t-1}, g_t)
        # a forget gate saturated at 1 (1 - f below rounding) makes c a random walk: its
        # variance is then taken as huge (1e12 steps' worth), not infinite
        mc = ei * eg / np.maximum(1.0 - ef, _LEAK_MIN)
        sc = (ei2 * eg2 + 2.0 * ef * ei * (mc * eg + c_cg)) / np.maximum(1.0 - ef2, _LEAK_MIN)
        vc = np.maximum(sc - mc ** 2, 0.0)
        rho_c = _ratio(ef * vc + ei * c_cg, vc)
        ep, ep2, rho_h = _moments_and_lag(act, mc, vc, np.clip(rho_c, -1.0, 1.0))
        mh_new = eo * ep
        vh_new = np.maximum(eo2 * ep2 - mh_new ** 2, 0.0)
        kh_new = np.minimum(eo ** 2 * np.maximum(ep2 - ep ** 2, 0.0) * rho_h, vh_new)
        blocks["h"], blocks["c"] = (mh_new, vh_new), (mc, vc)
        return np.concatenate([mh_new, mc, mh_new]), np.concatenate([vh_new, vc, kh_new]), blocks
    return step


def _hermite_table(order):
    """Normalised probabilists' Hermite polynomials He_k(x)/sqrt(k!) at the quadrature nodes,
    times the weights, k = 1..order: (32, order)."""
    he = np.polynomial.hermite_e.hermeval
    table = np.stack([he(_NODES, np.eye(order + 1)[k]) / math.sqrt(math.factorial(k))
                      for k in range(1, order + 1)], axis=1)
    return table * _WEIGHTS[:, None]


_HERMITE = _hermite_table(12)


def lag_correlation(act, mean, var, corr):
    """corr(phi(a), phi(a')) for jointly Gaussian a, a' of equal mean and variance and
    correlation ``corr``, elementwise, by Mehler's expansion ``sum_k c_k^2 corr^k / Var phi``
    (``c_k`` phi's normalised Hermite coefficients; 12 terms, the rest of the variance at
    ``corr^13``: exact for corr = 0 and 1)."""
    return _moments_and_lag(act, mean, var, corr)[2]


def _moments_and_lag(act, mean, var, corr):
    """(E[phi(a)], E[phi(a)^2], :func:`lag_correlation`) from one evaluation of phi at the
    quadrature nodes (the maps need all three at the same mean and variance); the moments of
    ReLU and linear from their closed forms (:func:`gaussian_moments`)."""
    mean, sd = np.asarray(mean, dtype=float), np.sqrt(np.maximum(var, 0.0))
    y = act.f(mean[..., None] + sd[..., None] * _NODES)
    power = (y @ _HERMITE) ** 2
    e1, e2 = y @ _WEIGHTS, (y * y) @ _WEIGHTS
    total = np.maximum(e2 - e1 ** 2, 0.0)
    corr = np.asarray(corr, dtype=np.float64)
    order = _HERMITE.shape[1]
    # corr^1..corr^order by repeated products (an array power calls pow() per element: ~10x slower)
    powers = np.cumprod(np.broadcast_to(corr[..., None], corr.shape + (order,)), axis=-1)
    series = (power * powers).sum(axis=-1)
    series += powers[..., -1] * corr * np.maximum(total - power.sum(axis=-1), 0.0)
    if act.name in ("relu", "linear"):
        e1, e2 = gaussian_moments(act, mean, var)
    return e1, e2, _ratio(series, total)


def _gru_map(act, W, W2, b_ih, b_hh, u_mean, u_var, n):
    """The GRU's map on (E[h], E[h] ; Var h, Cov(h_t, h_{t-1})), the last half its lag-1 view.

    The candidate ``n_t`` is not white: the network's own slow activity correlates it across
    steps (lag-1 correlation ``rho`` from the pre-activation's, which the recurrent part
    carries as ``sum_j W_ij^2 Cov(h_j,t, h_j,t-1)``; Mehler's expansion through phi), and
    ``h = (1 - z) n + z h`` averages it over ~1/(1 - z) steps: taking ``n`` as AR(1) and z at
    its mean in the filter, ``Cov(n_t, h_{t-1}) = (1 - E z) rho Var n / (1 - E z rho)``. A
    white closure (rho = 0) underestimated Var h up to tenfold for gains above 2 with small
    inputs, where the network's own activity dominates.
    """
    def step(m, v, shrink, dmu=None):
        mh, vh, kh = m[:n], v[:n], v[n:]
        mu = W @ mh + b_hh * shrink
        mu = mu if dmu is None else mu + dmu
        q = W2 @ vh
        um, uv = (b_ih + u_mean) * shrink, u_var * shrink ** 2
        r, z, c = slice(0, n), slice(n, 2 * n), slice(2 * n, 3 * n)
        pre = {"r": (mu[r] + um[r], q[r] + uv[r]), "z": (mu[z] + um[z], q[z] + uv[z]),
               "hn": (mu[c], q[c]), "u_n": (um[c], uv[c])}
        (er, er2), (ez, ez2) = (gaussian_moments(_SIGMOID, *pre[k]) for k in "rz")
        (mhn, qhn), (mun, qun) = pre["hn"], pre["u_n"]
        mean_n = mun + er * mhn
        var_a = np.maximum(qun + er2 * (qhn + mhn ** 2) - (er * mhn) ** 2, 0.0)
        pre["n"] = (mean_n, var_a)
        corr_a = np.clip(_ratio(er * er * (W2[c] @ kh), var_a), -1.0, 1.0)
        en, en2, rho = _moments_and_lag(act, mean_n, var_a, corr_a)
        vn = np.maximum(en2 - en ** 2, 0.0)
        c_nh = (1.0 - ez) * rho * vn / np.maximum(1.0 - ez * rho, _LEAK_MIN)
        e1z2 = 1.0 - 2.0 * ez + ez2                  # E[(1 - z)^2]
        s = (e1z2 * en2 + 2.0 * (ez - ez2) * (en * en + c_nh)) / (1.0 - ez2)
        var_h = np.maximum(s - en ** 2, 0.0)
        k_new = np.clip((1.0 - ez) * c_nh + ez * var_h, -var_h, var_h)
        pre["h"] = (en, var_h)
        pre["nh"] = (c_nh, np.zeros(n))
        return np.concatenate([en, en]), np.concatenate([var_h, k_new]), pre
    return step


def _cell_map(cell, u_mean, u_var):
    p = {k: np.asarray(v, dtype=np.float64) for k, v in cell.params.items()}
    W, act, n = p["weight_hh"], cell.activation, cell.hidden
    with np.errstate(over="ignore"):             # |W_ij| > 1e154: the statistics come out non-finite
        W2 = np.multiply(W, W, out=empty(W.shape, np.float64))    # reused memory: no page faults
    if cell.kind == "elman":
        return _elman_map(act, W, W2, p["bias_ih"] + p["bias_hh"], u_mean, u_var), n
    if cell.kind == "lstm":
        return _lstm_map(act, W, W2, p["bias_ih"] + p["bias_hh"], u_mean, u_var, n), 3 * n
    return _gru_map(act, W, W2, p["bias_ih"], p["bias_hh"], u_mean, u_var, n), 2 * n   # (checked above)


def _iterate(step, size, v0, homogeneous, annealed, max_iter, deterministic=False, x0=None, weights=None):
    """Fixed point of (m, v) -> step(m, v); returns (stats dict, converged, iterations, log_scale).

    Noisy statistics of a bounded activation are solved by Anderson acceleration
    (:func:`~rnnanalysis.predict.fixed_point.anderson_solve`, history ``_DEPTH``). Why: plain
    iteration of the mean-field map is the means' own one-step dynamics, which at gains above
    ~1.8 with biases oscillates around the fixed point (tanh Elman, LSTM, GRU at n = 64, gain
    2.2, sigma_b = 0.8: none settled in 300 steps); the fixed point still exists and is the
    self-consistent stationary state (a simulation agrees, the annealed closure does not).
    Anderson's extrapolation reaches it in under 150 map evaluations (the cases of
    ``tests/predict/test_stationary.py``), each as cheap as a plain step (two matrix-vector
    products and a quadrature). Newton's method needs the dense Jacobian of the map factorised
    at each step, and Newton-Krylov (GMRES) stalls there: the linearised map ``diag(phi') W``
    has eigenvalues on a disc of radius > 1, so ``I - J`` has eigenvalues around 0 (tried:
    100-1300 evaluations, some failures). Where plain iteration does settle, the answer is the
    same (to 1e-8, the same tests). Homogeneous activations keep plain steps (their activity
    may grow without bound: no fixed point) until the statistics have grown ``_GROWN``-fold;
    then the zero-drive map's direction is solved by :func:`_growth`, and plain steps go on only
    if that map does not grow.
    deterministic: variances held at exactly 0 (rounding in the quadrature would otherwise seed
    them and a chaotic network would "converge" to its noisy statistics) and plain iteration,
    which is then the network's own trajectory from h0 = 0: its fixed point counts only if that
    trajectory reaches it (an unstable one is not the network's state).
    x0: the start (means, then variances; default zero means and variances v0).
    weights: the recurrent matrix through which the means enter the pre-activations (dense;
    None: no preconditioner): the noisy solve then preconditions the means (:func:`_mean_preconditioner`).
    annealed: the recurrent input sees each unit's second moment as variance and no mean
    (``E[a_i] = b_i + E[u_i]``, ``Var[a_i] = sum_j W_ij^2 E[h_j^2] + Var[u_i]``), the i.i.d.
    weight-ensemble closure; the last resort when the per-unit means do not settle.
    """
    x = np.concatenate([np.zeros(size), np.full(size, float(v0))]) if x0 is None else x0.copy()

    def apply(x, shrink=1.0):
        m, v = x[:size], x[size:]
        return step(np.zeros_like(m), v + m * m, shrink) if annealed else step(m, v, shrink)

    if not (deterministic or homogeneous):
        def image(x):
            m1, v1, stats = apply(x)
            return np.concatenate([m1, v1]), stats

        def clip(x):
            x[size:] = np.maximum(x[size:], 0.0)
            return x
        precondition = None if weights is None or annealed else _mean_preconditioner(step, size, weights)
        stats, ok, it = anderson_solve(image, x, size, depth=_DEPTH, max_evals=max_iter, clip=clip,
                                       tol=_NOISY_TOL, precondition=precondition)
        return stats, ok, it, 0.0
    # shrink: the drive's factor, exp(-total) once the statistics are renormalised by exp(total);
    # growth: ln of the last renormalisation (the per-step factor once it repeats every step)
    total, growth, shrink, deltas, first, extra, scales = 0.0, 0.0, 1.0, [], None, 0, []
    for it in range(1, max_iter + 1):               # plain steps
        m1, v1, stats = apply(x, shrink)
        if deterministic:
            v1 = np.zeros_like(v1)
        if homogeneous:                # unbounded activity: follow its shape, count its growth
            scale = math.sqrt(float(np.mean(m1 ** 2 + v1)))
            first = first or scale
            scales.append(scale)
            if not (deterministic or extra or total) and (scale > _GROWN * first or _steady(scales)):
                grown, evals = _growth(apply, np.concatenate([m1 / scale, v1 / scale ** 2]), size)
                if grown is not None:
                    return grown[0], True, it + evals, grown[1]
                extra = evals                   # the zero-drive map does not grow: plain steps on
            if scale > _SCALE_LIMIT or (total > 0 and scale > 0):
                m1, v1 = m1 / scale, v1 / scale ** 2
                growth = math.log(scale)
                total += growth
                shrink = math.exp(-total)
        if not (np.all(np.isfinite(m1)) and np.all(np.isfinite(v1))):
            return stats, False, it + extra, growth
        g = np.concatenate([m1, v1])
        ok, delta = converged(x, g, size)
        if ok:
            return stats, True, it + extra, growth
        if deterministic:              # the trajectory: give up once it stops settling
            deltas.append(delta)
            if it >= 3 * _STALL and it % _STALL == 0 and \
                    min(deltas[-_STALL:]) > 0.1 * min(deltas[-2 * _STALL:-_STALL]):
                return stats, False, it, growth
        x = g
    return apply(x, shrink)[2], False, max_iter + extra, growth


def _mean_preconditioner(step, size, W):
    """``precondition(x, g)`` for :func:`~rnnanalysis.predict.fixed_point.anderson_solve`: Newton's
    correction of the state's means ``(I - A)^{-1}`` with A the means' own linearised map.

    Why: the means of a closure with inputs of non-zero mean or biases converge at the pace of
    that map (its eigenvalues fill a disc, where Anderson's extrapolation, like any Krylov
    method, gains little: an LSTM at n = 256 driven by inputs of mean ~0.02 took 46 map
    evaluations against 21 at zero mean). The means enter a step only through the recurrent
    pre-activations ``W m``, and the step is elementwise per unit after that, so
    ``A = sum_b diag(d_b) W_b`` over W's blocks b, each ``d_b`` from one step with block b's
    pre-activation means moved by _FD_STEP (one map evaluation per block). Only where the means
    change more than the second moments after the plain steps (they are the slow part; a
    symmetric closure, means 0 up to rounding, stays as it is) and A contracts (its growth over
    _POWER_STEPS power steps below 1 per step: the plain iteration is headed for this fixed
    point; near a repelling one Anderson alone picks the branch, as before); else None.
    """
    n = W.shape[1]
    blocks = W.shape[0] // n

    def precondition(x, g):
        m, v = x[:size], x[size:]
        if not float(np.max(np.abs(g[:n] - m[:n]))) > float(np.max(np.abs(g[size:] - v))):
            return None, 0
        A = np.zeros((n, n))
        for b in range(blocks):
            dmu = np.zeros(W.shape[0])
            dmu[b * n:(b + 1) * n] = _FD_STEP
            d = (step(m, v, 1.0, dmu)[0][:n] - g[:n]) / _FD_STEP
            A += d[:, None] * W[b * n:(b + 1) * n]
        if not (np.all(np.isfinite(A)) and _growth_per_step(A) < 1.0):
            return None, blocks
        lu = sla.lu_factor(np.eye(n) - A, check_finite=False)

        def apply(f):
            f = f.copy()
            f[:n] = sla.lu_solve(lu, f[:n], check_finite=False)
            return f
        return apply, blocks
    return precondition


def _growth_per_step(A):
    """About A's spectral radius: the mean growth per step of ``A^k u`` over the second half of
    _POWER_STEPS power steps from a fixed unit vector u (the first half aligns u with A's
    dominant directions, whatever its share of them at the start; above the radius for a
    transient growth of a non-normal A: on the safe side here)."""
    u = np.cos(0.618 * np.arange(A.shape[0]))
    u /= np.linalg.norm(u)
    log_growth = 0.0
    for k in range(_POWER_STEPS):
        u = A @ u
        norm = float(np.linalg.norm(u))
        if not 0.0 < norm < math.inf:
            return 0.0 if norm == 0.0 else math.inf
        if k >= _POWER_STEPS // 2:
            log_growth += math.log(norm)
        u /= norm
    return math.exp(log_growth / (_POWER_STEPS - _POWER_STEPS // 2))


def _steady(scales):
    """True when the last ``_STEADY`` steps grew the statistics by a steady factor r > 1 (r - 1
    changed by under 5% of itself): growth set in at the zero-drive map's pace, before the
    ``_GROWN``-fold scale (ReLU at n = 256, gain 1.5: ~80 steps instead of ~190)."""
    if len(scales) <= 2 * _STEADY or not scales[-1] > 0:
        return False
    now, before = scales[-1] / scales[-2], scales[-1 - _STEADY] / scales[-2 - _STEADY]
    return now > 1.0 + 1e-3 and abs(now - before) < 0.05 * (now - 1.0)


def _growth(apply, x, size):
    """((statistics, ln of the growth factor per step), map evaluations) of the zero-drive map's
    normalised fixed point (its nonlinear eigenvector) from ``x``, or (None, evaluations) if that
    does not settle or does not grow.

    Why: once the activity of a homogeneous cell has grown ``_GROWN``-fold, the drive is a
    vanishing share of it and the statistics follow the zero-drive map ``apply(x, 0)``, whose
    direction plain steps reach only at the pace of its spectral gap and of the drive's decay
    (ReLU at n = 64 and 256, gain 2.0 and 1.5: the 300-step budget ran out and the annealed
    closure stood in, 354 and 616 evaluations in all), Anderson's extrapolation of the normalised
    map within 200 in all, to the direction plain iteration settles on
    (``tests/predict/test_stationary.py``).
    """
    def image(x):
        m1, v1, stats = apply(x, 0.0)
        scale = math.sqrt(float(np.mean(m1 ** 2 + v1)))
        if not 0.0 < scale < math.inf:
            return np.full_like(x, np.nan), (stats, scale)
        return np.concatenate([m1 / scale, v1 / scale ** 2]), (stats, scale)

    def clip(x):
        x[size:] = np.maximum(x[size:], 0.0)
        return x
    (stats, scale), ok, evals = anderson_solve(image, x, size, depth=_DEPTH, max_evals=_MAX_NOISY, clip=clip)
    return ((stats, math.log(scale)) if ok and scale > 1.0 else None), evals


def _solve(step, size, homogeneous, noisy, weights=None):
    """The network's own fixed point from h0 = 0 if nothing is noisy and it attracts; else the
    per-unit noisy fixed point from unit variance; else (means that never settle) the annealed one."""
    if not noisy:
        stats, ok, it, ls = _iterate(step, size, 0.0, homogeneous, False, _MAX_ITER, deterministic=True)
        if ok:
            return stats, ok, it, ls, True
    stats, ok, it, ls = _iterate(step, size, 1.0, homogeneous, False, _MAX_NOISY, weights=weights)
    if not ok:
        stats, ok, it2, ls = _iterate(step, size, 1.0, homogeneous, True, _MAX_ITER)
        it += it2
    return stats, ok, it, ls, False


def _own_branch(cell, st, step, size, x_mean):
    """The closure's fixed point on the network's own branch.

    The noisy closure may have several fixed points: zero-bias LSTMs and GRUs at gains above
    ~1.9 with small inputs keep a symmetric one (means 0, which the solve from zero means finds)
    and broken-symmetry ones (per-unit means +-h*, far smaller variances), on which a simulation
    from h0 = 0 stays; so do small tanh Elman networks whose own dynamics settle on a stable
    fixed point where the symmetric closure is chaotic (n = 18, gain 2.3, input std 0.16:
    variance 0.59 and exploding against 0.012 and -0.23 log10/step, as simulated). The network
    sits on the branch its own trajectory reaches, as the deterministic closure already
    requires: the cell at its inputs' mean from the nudged zero state
    (:func:`~rnnanalysis.predict.drift.drift_path`, at most 200 steps; kept in the result for the
    drift orbit, which would run the same steps). Where that ends outside the closure's cloud
    (its mean squared distance from the means above the mean variance) and is quiet there (its
    own spread over its last 50 steps within that variance: an orbit wider than the noise cloud
    does not sit on one branch — GRUs at gain 2.5 oscillate across them, and an LSTM's
    oscillating drift would cost a failed solve, 300 map evaluations), the closure is solved
    again from there (its means, zero variances); the answer replaces the symmetric one if it
    converged and the trajectory is quiet within its new variance too. Homogeneous activations,
    deterministic and growing statistics are left as they are (``tests/predict/test_inputs.py``:
    each case against simulations).
    """
    if st.deterministic or st.log_scale > 0 or _is_homogeneous(cell.activation):
        return st
    cell = cell if cell.dtype == np.float64 else cell.astype(np.float64)     # (astype copies)
    with single_blas_thread():
        orbit, settled = path = drift_path(cell, st, x_mean)
    st, n = replace(st, _drift=path), cell.hidden
    if orbit is None:
        return st
    end, h = orbit[-1][-1], orbit[-1][-1, :n]
    spread = 0.0 if settled else float(np.mean(np.var(orbit[-1][:, :n], axis=0)))
    cloud = np.mean(st.variances["h"])
    if not (np.mean((h - st.means["h"]) ** 2) > cloud and spread <= cloud):    # inside it; not quiet
        return st
    means = {"lstm": [h, end[n:], h], "gru": [h, h], "elman": [h]}[cell.kind]
    means = np.concatenate(means)
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():
        stats, ok, it, _ = _iterate(step, size, 0.0, False, False, _MAX_NOISY,
                                    x0=np.concatenate([means, np.zeros(size)]))
    if not (ok and spread <= np.mean(stats["h"][1])):
        return replace(st, iterations=st.iterations + it)
    return replace(st, means={k: np.asarray(v[0], dtype=np.float64) for k, v in stats.items()},
                   variances={k: np.asarray(v[1], dtype=np.float64) for k, v in stats.items()},
                   iterations=st.iterations + it)


def stationary_statistics(cell, *, inputs=None, input_std=None, input_variance=None,
                          full_covariance=None) -> StationaryStatistics:
    """Per-unit stationary pre-activation and state statistics of an Elman, LSTM or GRU cell.

    inputs / input_std / input_variance: see :func:`input_moments` (none: zero input).
    full_covariance: noisy Elman cells with a bounded activation get the cross-unit covariances
    (:func:`~rnnanalysis.predict.covariance.elman_covariance`) if True, the per-unit closure if
    False; None (default): full up to ``FULL_COVARIANCE_MAX`` units (map evaluations of O(n^3)
    each, counted in ``iterations`` with the per-unit ones; n = 256 keeps its cost).
    Uses the weights and the inputs' first two moments only (no simulation through time).

    Example:
        >>> import rnnanalysis as ra
        >>> st = ra.stationary_statistics(ra.LSTM(8, 2, seed=0), input_std=1.0)
        >>> sorted(st.means), st.converged
        (['c', 'f', 'g', 'h', 'i', 'o'], True)
    """
    check_cell(cell)
    if cell.ensemble is not None:
        raise ValueError(f"cell: expected a single network, got an ensemble cell with E={cell.ensemble}")
    if full_covariance is not None and not isinstance(full_covariance, (bool, np.bool_)):
        raise TypeError(f"full_covariance: expected True, False or None, got {full_covariance!r}")
    if cell.kind not in ("elman", "lstm", "gru") or not {"bias_ih", "bias_hh"} <= set(cell.params):
        raise ValueError(f"cell: mean-field statistics are for Elman, LSTM and GRU cells, got "
                         f"{type(cell).__name__} (kind {cell.kind!r})")
    w_ih = np.asarray(cell.params["weight_ih"], dtype=np.float64)
    u_mean, u_var, text = input_moments(w_ih, inputs=inputs, input_std=input_std,
                                        input_variance=input_variance)
    step, size = _cell_map(cell, u_mean, u_var)
    st = _statistics(cell.kind, step, size, cell.activation, u_var, text,
                     np.asarray(cell.params["weight_hh"], dtype=np.float64))
    x_mean = np.zeros(cell.inputs) if inputs is None else \
        np.asarray(inputs, dtype=np.float64).reshape(-1, cell.inputs).mean(axis=0)
    st = _own_branch(cell, st, step, size, x_mean)
    if full_covariance is None:
        full_covariance = cell.hidden <= FULL_COVARIANCE_MAX
    if not full_covariance or cell.kind != "elman" or st.deterministic or \
            _is_homogeneous(cell.activation) or st.log_scale > 0:
        return st
    p = {k: np.asarray(v, dtype=np.float64) for k, v in cell.params.items()}
    u_cov = input_moments(w_ih, inputs=inputs, input_std=input_std, input_variance=input_variance,
                          covariance=True)[1]
    start = {k: (st.means[k], st.variances[k]) for k in st.means}
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():
        stats, ok, it = elman_covariance(cell.activation, p["weight_hh"], p["bias_ih"] + p["bias_hh"],
                                          u_mean, u_cov, start)
    return replace(st, means={k: np.asarray(v[0], dtype=np.float64) for k, v in stats.items()},
                   variances={k: np.asarray(v[1], dtype=np.float64) for k, v in stats.items()},
                   converged=ok, iterations=st.iterations + it)


def matrix_statistics(W, activation, *, inputs=None, input_std=None,
                      input_variance=None) -> StationaryStatistics:
    """The same for a bare recurrent matrix W (dense or sparse): an Elman cell without biases
    whose inputs enter every unit directly (identity input weights, so inputs are (T, B, n))."""
    n = W.shape[0]
    u_mean, u_var, text = input_moments(None, inputs=inputs, input_std=input_std,
                                        input_variance=input_variance, width=n)
    with np.errstate(over="ignore"):
        W2 = W.multiply(W).tocsr() if sp.issparse(W) else W * W
    step = _elman_map(activation, W, W2, np.zeros(n), u_mean, u_var)
    return _statistics("elman", step, n, activation, u_var, text, None if sp.issparse(W) else W)


def _statistics(kind, step, size, act, u_var, text, weights):
    homogeneous = _is_homogeneous(act)
    # weights beyond 1e154: non-finite statistics; matrix-vector products: one BLAS thread (a second
    # one spins and, on a busy machine, is several times slower: rnnanalysis._threads)
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():
        stats, ok, it, log_scale, det = _solve(step, size, homogeneous, bool(np.any(u_var > 0)), weights)
    means = {k: np.asarray(mv[0], dtype=np.float64) for k, mv in stats.items()}
    # without noise the variances are exactly zero; the quadrature leaves rounding (1e-17) behind
    variances = {k: (np.zeros_like(mv[1]) if det else np.asarray(mv[1], dtype=np.float64))
                 for k, mv in stats.items()}
    with np.errstate(over="ignore"):      # variances near the float limit average to inf
        drive_variance = float(np.mean(u_var))
    return StationaryStatistics(kind=kind, means=means, variances=variances, deterministic=det,
                                converged=ok, iterations=it, log_scale=log_scale, inputs=text,
                                drive_variance=drive_variance)
