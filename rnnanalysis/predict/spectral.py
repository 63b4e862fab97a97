"""Spectral prediction from the recurrent weights: radius, singular values, Pascanu bound, transient.

For ``h_t = phi(W h_{t-1} + ...)`` the step Jacobian is ``diag(phi'(a_t)) W``, so with
``gamma = sup|phi'|`` every gradient step is bounded and the linear part decays at the spectral
radius:

.. math::
    \\lVert J_t \\rVert_2 \\le \\gamma\\,\\sigma_{\\max}(W), \\qquad
    \\text{rate} \\le \\log_{10}(\\gamma\\,\\sigma_{\\max}) \\text{ per step}, \\qquad
    \\lVert W^k \\rVert_2^{1/k} \\to \\rho(W)

``gamma * sigma_max < 1`` is sufficient for vanishing, ``> 1`` necessary for explosion. A
non-normal W can grow for a while although ``rho < 1``: :attr:`SpectralPrediction.transient_log10_peak`
is ``max_k log10 ||W^k||`` up to a horizon, which the spectral radius alone misses.

References:
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks",
    sec. 2.1; Trefethen & Embree (2005), "Spectra and Pseudospectra" (transient growth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._buffers import empty
from .._results import Result
from .._threads import SINGLE_THREAD_MAX, single_blas_thread
from .._validate import finite_float, float_array, positive_int, rng_from
from ..activations import get_activation
from ..cells import Cell, check_cell
from ..cells.layout import prepare_inputs
from ._regime import CRITICAL_BAND_LOG10, classify
from .drift import drift_for
from .linearise import constant_jacobian, max_abs, mean_jacobian, random_product_rate, single_copy
from .meanfield import mean_field
from .stationary import ZERO_INPUT, matrix_statistics, stationary_statistics

__all__ = ["SpectralPrediction", "predict", "input_variance", "monte_carlo_stop", "DENSE_LIMIT"]

#: Largest n analysed with dense LAPACK under ``method="auto"``; larger or sparse W use ARPACK.
DENSE_LIMIT = 3000
#: Under ``method="auto"`` a cell's matrix (Elman W_hh, a gated cell's state Jacobian) larger than
#: CELL_EIG_DENSE_MAX gets its spectral radius from ARPACK, and one larger than CELL_SVD_DENSE_MAX
#: only its ``top`` singular values (complete False): LAPACK's whole spectra cost O(n^3), a
#: few extreme values O(n^2) per iteration (their share of predict: the "spectra + rest" column
#: of scripts/benchmarks/predict_cost.py); the radius agrees with LAPACK's to 1e-9 relative where
#: it decides (1e-5 where it is only reported, see _REPORTED_TOL) and the top singular
#: values to 1e-10 (1e-6 for a gated cell's, only reported; tests/predict/test_spectral.py,
#: predict_cost.py prints the radius's). A bare W keeps LAPACK: it may be strongly non-normal
#: (a Jordan block), where Arnoldi iteration is unreliable, and its whole singular spectrum is
#: drawn in the figures.
CELL_EIG_DENSE_MAX, CELL_SVD_DENSE_MAX = 128, 256
#: Cells whose stationary statistics and stochastic linearisation are implemented.
MEAN_FIELD_KINDS = ("elman", "lstm", "gru")
_ARPACK_RESTARTS = 100   # bound on ARPACK's implicit restarts (each O(ncv n) work + ncv products)
#: ARPACK's tolerance for a spectral radius that decides the rate or the regime, and for one that
#: is only reported: the radius of a cell's W_hh or gated Jacobian when the stochastic
#: linearisation or the drift orbit decides. A reported radius is also computed in float32 (half
#: the memory traffic of each product with the matrix), and so are a gated cell's top singular
#: values, which never decide (PROPACK, :func:`_top_singular_values`): the radius then agrees
#: with LAPACK's to ~1e-5 relative instead of ~1e-9, the singular values to ~1e-6 instead of
#: ~1e-10 (tests/predict/test_spectral.py; every rate unchanged), in about half the time (an
#: LSTM's 512 x 512 Jacobian, clustered at the edge of its spectrum, at n = 256: radius ~12 ->
#: ~6 ms, singular values ~8 -> ~3 ms; scripts/benchmarks/predict_cost.py). An Elman cell's
#: singular values keep float64: sigma_max decides the Pascanu bound.
_TIGHT_TOL, _REPORTED_TOL = 1e-8, 1e-4
_PROPACK_KMAX = 100      # bound on PROPACK's Lanczos vectors (each two products)
#: PROPACK in float32 (reported singular values): its tolerance, and the largest residual of its
#: triplets accepted, relative to sigma_max (up to 5e-4 seen where the values agree with LAPACK's
#: to 1e-6: the vectors of nearly repeated values; each value lies within the residual of one of
#: A's, and PROPACK's wrong answers for a repeated top value have residuals of order 1)
_SINGLE_TOL, _SINGLE_RESIDUAL = 1e-6, 1e-3
#: The Monte-Carlo product (at most ``steps`` steps) stops early, after at least _MC_MIN_STEPS,
#: once its standard error is <= _MC_SE log10/step (a tenth of the 0.01 rate-error target) and its
#: rate lies more than _MC_MARGIN standard errors from both edges of the critical band (the regime
#: is decided): a cell far from the band draws 150 of the 350 steps (LSTM, GRU at n = 256, gain 1.5).
_MC_MIN_STEPS, _MC_SE, _MC_MARGIN = 100, 1e-3, 5.0


@dataclass(frozen=True)
class SpectralPrediction(Result):
    """What the weights say about gradient growth; every rate in log10 per step.

    source: the matrix analysed (W, an Elman cell's weight_hh, or a gated cell's state Jacobian at
    a reference point); singular_values: descending, all of them (dense) or the top ``top``
    (sparse/large W, a cell's matrix beyond 256: ``complete`` is False and condition_number NaN);
    log10_rate_mean_field: ``log10(chi)/2`` at ``sigma_w = ||W||_F / sqrt(n)`` (NaN for gated
    cells); log10_power_norms: ``log10 ||W^k||_2`` for k = 0..horizon; regime and the predictor
    that decided it ("pascanu_bound", "fixed_point_rho", "stochastic_linearisation", or
    "linear_rho" when the stationary statistics overflow) with the rate estimate
    (log10_rate_estimate). inputs: the input statistics assumed (zero_input: none were given);
    log10_rate_stochastic and its Monte-Carlo standard error: the rate of
    :mod:`~rnnanalysis.predict.linearise` (NaN if the statistics overflow); time_scale_steps:
    steps per tenfold change of the gradient, 1/|rate|; stationary_converged: whether the
    mean-field fixed point reached its tolerance; log10_rate_drift: the top Lyapunov exponent
    of the cell's own oscillation at its inputs' mean where that decides the rate (predictor
    "drift_orbit", :mod:`~rnnanalysis.predict.drift`), else NaN.
    """

    source: str
    activation: str
    n: int
    gamma: float
    spectral_radius: float
    singular_values: np.ndarray
    complete: bool
    condition_number: float
    vanishing_guaranteed: bool
    explosion_possible: bool
    log10_rate_bound: float
    log10_rate_linear: float
    log10_rate_mean_field: float
    log10_rate_estimate: float
    regime: str
    predictor: str
    log10_power_norms: np.ndarray
    transient_log10_peak: float
    transient_peak_lag: int
    inputs: str
    zero_input: bool
    log10_rate_stochastic: float
    log10_rate_stochastic_se: float
    time_scale_steps: float
    stationary_converged: bool
    log10_rate_drift: float = math.nan

    @property
    def sigma_max(self) -> float:
        return float(self.singular_values[0])

    def to_text(self) -> str:
        """A few lines: the regime, the rate and its time scale, the inputs assumed."""
        rate = self.log10_rate_estimate
        scale = (f"tenfold every {self.time_scale_steps:.3g} steps" if math.isfinite(self.time_scale_steps)
                 else "no change" if rate == 0 else "zero after one step" if rate == -math.inf else "")
        lines = [f"regime: {self.regime} (decided by {self.predictor})",
                 f"gradient rate: {rate:+.5f} log10 per step ({scale})",
                 f"inputs assumed: {self.inputs}",
                 f"source: {self.source}; spectral radius {self.spectral_radius:.6g}, sigma_max "
                 f"{self.sigma_max:.6g}, gamma {self.gamma:g}; Pascanu bound {self.log10_rate_bound:+.5f} "
                 f"log10/step" + (" (vanishing guaranteed)" if self.vanishing_guaranteed else "")]
        if self.zero_input:
            lines.append("this is the zero-input prediction: pass inputs= (or --inputs X.npy) or "
                         "input_std= (--input-std S) for the network as it is driven")
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()


def _log10(x):
    return math.log10(x) if x > 0 else -math.inf


def _check_matrix(W):
    if sp.issparse(W):
        if W.dtype.kind != "f":
            kind = "complex" if W.dtype.kind == "c" else str(W.dtype)
            raise TypeError(f"W: expected a real floating-point matrix, got {kind} dtype {W.dtype}")
        if not np.all(np.isfinite(W.data)):
            raise ValueError("W: contains NaN or infinite value(s)")
        shape = W.shape
    else:
        W = float_array("W", W, ndim=2).astype(np.float64, copy=False)
        shape = W.shape
    if shape[0] != shape[1] or shape[0] == 0:
        raise ValueError(f"W: expected a non-empty square matrix (n, n), got shape {shape}")
    return W


def _norm2(A, v0, tol):
    """||A||_2: exact SVD for small A, Lanczos (ARPACK, warm start v0) otherwise."""
    if min(A.shape) <= 64 and not isinstance(A, spla.LinearOperator):
        return float(np.linalg.norm(A, 2))
    return float(spla.svds(A, k=1, tol=tol, v0=v0, return_singular_vectors=False)[0])


def _transient(W, horizon, sigma_max, rng):
    """log10 ||W^k||_2 for k = 0..horizon (k = 1 is sigma_max exactly; -inf once W^k = 0).

    With A = W / sigma_max (so ||A^k|| <= 1, no overflow): dense W up to DENSE_LIMIT forms the
    power A^k (renormalised); sparse or larger W applies A^k as k products inside Lanczos.
    """
    out = np.full(horizon + 1, -math.inf)
    out[0] = 0.0
    if horizon == 0:
        return out
    out[1] = _log10(sigma_max)
    if sigma_max == 0:
        return out
    n, ln10 = W.shape[0], math.log(10.0)
    v0 = rng.standard_normal(n)
    A = W / sigma_max
    if not sp.issparse(W) and n <= DENSE_LIMIT:
        P, log_scale = A, 0.0
        for k in range(2, horizon + 1):
            P = A @ P
            m = float(np.abs(P).max())
            if m == 0.0:
                break
            P /= m
            log_scale += math.log(m)
            out[k] = (k * math.log(sigma_max) + log_scale + math.log(_norm2(P, v0, 1e-10))) / ln10
        return out
    At = A.T.tocsr() if sp.issparse(A) else np.ascontiguousarray(A.T)

    def power(M, k):
        def apply(x):
            for _ in range(k):
                x = M @ x
            return x
        return apply

    for k in range(2, horizon + 1):
        op = spla.LinearOperator((n, n), matvec=power(A, k), rmatvec=power(At, k), dtype=np.float64)
        out[k] = (k * math.log(sigma_max) + math.log(max(_norm2(op, v0, 1e-6), 1e-300))) / ln10
    return out


def _spectrum(W, method, top, rng, cell_matrix=False, reported=()):
    """(rho, singular values descending, complete) by LAPACK (dense) or ARPACK (sparse/large).

    W is divided by max |W_ij| first and the results multiplied back: LAPACK's eigenvalue
    solver loses tiny and huge matrices (|W| ~ 1e-200 gave rho > sigma_max), and the scale
    is exact in floating point up to rounding of one product. cell_matrix: on the dense path,
    ARPACK above CELL_EIG_DENSE_MAX / CELL_SVD_DENSE_MAX (see there; LAPACK if it fails).
    reported: which of "radius" and "singular" decide nothing (see _REPORTED_TOL): those of a
    cell's matrix come from float32 products, the radius at ARPACK's tolerance _REPORTED_TOL.
    """
    n = W.shape[0]
    scale = max_abs(W)
    # ARPACK needs k + 1 < ncv <= n
    dense = method == "dense" or (method == "auto" and n <= DENSE_LIMIT) or n < 16
    if scale == 0.0:
        return 0.0, np.zeros(n if dense else min(top, n - 1)), dense
    # a dense W's scaled copies in reused memory (fresh 2 MB arrays fault their pages in each call)
    A = W / scale if sp.issparse(W) else np.divide(W, scale, out=empty(W.shape, W.dtype))
    if dense:
        A = A.toarray() if sp.issparse(A) else A
        single = single_copy(A) if cell_matrix and reported and n > CELL_EIG_DENSE_MAX else None
        rho = None
        if cell_matrix and n > CELL_EIG_DENSE_MAX:
            rho = _arpack_radius(single, rng, _REPORTED_TOL) if "radius" in reported else \
                _arpack_radius(A, rng)
        if rho is None:
            rho = float(np.max(np.abs(sla.eigvals(A, check_finite=False))))
        sv = None
        if cell_matrix and n > CELL_SVD_DENSE_MAX:
            sv = _top_singular_values(A, top, rng, single if "singular" in reported else None)
        if sv is None:
            return rho * scale, sla.svdvals(A, check_finite=False) * scale, True
        return rho * scale, sv * scale, False
    rho, sv = _arpack(A, top, rng)
    return rho * scale, sv * scale, False


def _arpack_radius(A, rng, tol=_TIGHT_TOL):
    """max |lambda| of A (float64 or float32) from ARPACK's six largest-magnitude eigenvalues (the
    edge of a random spectrum is crowded), or None if it does not converge within its restarts."""
    n = A.shape[0]
    try:
        eig = spla.eigs(A, k=min(6, n - 2), which="LM", return_eigenvectors=False,
                        v0=rng.standard_normal(n).astype(A.dtype), tol=tol, ncv=min(n - 1, 40),
                        maxiter=_ARPACK_RESTARTS)
    except (spla.ArpackNoConvergence, spla.ArpackError):
        return None
    return float(np.max(np.abs(eig)))


def _top_singular_values(A, top, rng, single=None):
    """The ``top`` largest singular values of A, descending, or None if they do not converge.

    PROPACK's Lanczos bidiagonalisation of A (no eigenproblem of A^T A, as ARPACK's svds),
    accepted when its triplets are singular triplets of A (residual <= 1e-6 sigma_max: PROPACK
    returns wrong values without an error for a repeated top singular value, e.g. the
    identity); ARPACK otherwise. single: A in float32, for values that are only reported:
    PROPACK on it, accepted at a residual (in float64, with A) <= _SINGLE_RESIDUAL sigma_max
    (float32's vectors of nearly repeated values; the values themselves agree with LAPACK's to
    ~1e-6), else the float64 path.
    """
    k = min(top, A.shape[0] - 1)
    for B, tol, limit in ((single, _SINGLE_TOL, _SINGLE_RESIDUAL), (A, _TIGHT_TOL, 1e-6)):
        if B is None:
            continue
        try:
            u, sv, vh = spla.svds(B, k=k, solver="propack", rng=rng, tol=tol, maxiter=_PROPACK_KMAX)
            u, vh = u.astype(np.float64, copy=False), vh.astype(np.float64, copy=False)
            residual = max(np.linalg.norm(A @ vh.T - u * sv), np.linalg.norm(A.T @ u - vh.T * sv))
            if residual <= limit * np.max(sv):
                return np.sort(sv.astype(np.float64))[::-1]
        except np.linalg.LinAlgError:
            pass
    try:
        sv = spla.svds(A, k=k, return_singular_vectors=False, v0=rng.standard_normal(A.shape[0]),
                       tol=_TIGHT_TOL, maxiter=_ARPACK_RESTARTS)
    except (spla.ArpackNoConvergence, spla.ArpackError):
        return None
    return np.sort(sv)[::-1]


def _arpack(A, top, rng):
    """(rho, top singular values) of a large or sparse A by ARPACK, in bounded time.

    ARPACK's Arnoldi iteration for eigenvalues may not converge on defective or strongly
    non-normal matrices (a 3001 x 3001 Jordan block ran 5 minutes): its restarts are capped
    and a failure is a ValueError that says what to do instead.
    """
    rho = _arpack_radius(A, rng)
    sv = None if rho is None else _top_singular_values(A, top, rng)
    if sv is None:
        n = A.shape[0]
        raise ValueError(f"W: ARPACK found no spectral radius for this {n} x {n} matrix in "
                         f"{_ARPACK_RESTARTS} restarts; it is probably defective or "
                         f"strongly non-normal (e.g. a Jordan block), where Arnoldi iteration stalls. "
                         f"Use method='dense' (LAPACK, exact but O(n^3)) or a smaller matrix")
    return rho, sv


def _from_cell(cell, activation, reference):
    """(matrix or None, activation, source, sigma_b) for a cell: Elman's W_hh; for gated cells the
    state Jacobian at ``reference`` (None: at the stationary means, formed later)."""
    if cell.ensemble is not None:
        raise ValueError(f"W_or_cell: expected a single network, got an ensemble cell with "
                         f"E={cell.ensemble}; pass cell.with_params({{k: v[e] ...}}) for member e")
    if activation is not None and get_activation(activation).name != cell.activation.name:
        raise ValueError(f"activation: a cell uses its own activation ({cell.activation.name!r}), "
                         f"got {get_activation(activation).name!r}")
    p = cell.params
    if cell.kind in MEAN_FIELD_KINDS and not {"bias_ih", "bias_hh"} <= set(p):
        raise ValueError(f"W_or_cell: no prediction for {type(cell).__name__} cells (the theory is "
                         "for plain Elman, LSTM and GRU cells)")
    if cell.kind == "elman":
        if reference is not None:
            raise ValueError("reference: only for gated cells (LSTM, GRU); "
                             "an Elman cell is predicted from W_hh")
        bias = np.asarray(p["bias_ih"], dtype=np.float64) + p["bias_hh"]
        return (np.asarray(p["weight_hh"], dtype=np.float64), cell.activation, "elman weight_hh",
                float(np.sqrt(np.mean(bias ** 2))))
    if reference is None and cell.kind in MEAN_FIELD_KINDS:
        return None, get_activation("linear"), f"{cell.kind} state Jacobian at the stationary means", 0.0
    if reference is None:
        J = _gated_fallback(cell)
        return J, get_activation("linear"), f"{cell.kind} state Jacobian at s=0, x=0", 0.0
    if not isinstance(reference, tuple) or len(reference) != 2:
        raise TypeError("reference: expected a tuple (state, x) with state (S,) or (n,) and x (m,)")
    state, x = reference
    state = float_array("reference state", state, ndim=1)
    x = float_array("reference x", x, ndim=1)
    if x.shape != (cell.inputs,):
        raise ValueError(f"reference x: expected shape ({cell.inputs},), got {x.shape}")
    J = cell.astype(np.float64).jacobian(np.asarray(state, dtype=np.float64)[None],
                                         np.asarray(x, dtype=np.float64)[None])[0]
    return J, get_activation("linear"), f"{cell.kind} state Jacobian at the given reference", 0.0


def _gated_fallback(cell):
    """The state Jacobian at s = 0, x = 0 (when the stationary statistics overflow)."""
    c = cell.astype(np.float64)
    return c.jacobian(np.zeros((1, c.state_size)), np.zeros((1, c.inputs)))[0]


def monte_carlo_stop(band=CRITICAL_BAND_LOG10):
    """The ``stop`` predict gives :func:`~rnnanalysis.predict.linearise.random_product_rate`:
    after at least _MC_MIN_STEPS steps, once the standard error is <= _MC_SE and the rate lies
    more than _MC_MARGIN standard errors from both edges of the critical band +-``band``."""
    def stop(rate, se, done):
        return (done >= _MC_MIN_STEPS and se <= _MC_SE
                and min(abs(rate - band), abs(rate + band)) > _MC_MARGIN * se)
    return stop


def _stochastic(model, stats, steps, seed, spectrum, band):
    """(rate, standard error, predictor) of the stochastic linearisation; NaN if it overflowed.

    ``spectrum(J)`` gives (rho, ...) of a matrix: used when the Jacobian is constant.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        finite = all(np.all(np.isfinite(v)) for d in (stats.means, stats.variances) for v in d.values())
        if not finite:
            return math.nan, math.nan, None
        if constant_jacobian(model, stats):
            return _log10(spectrum(mean_jacobian(model, stats))[0]), 0.0, "fixed_point_rho"
        with single_blas_thread():       # products with 4 vectors: a second thread only spins
            rate, se = random_product_rate(model, stats, steps=steps, seed=seed, stop=monte_carlo_stop(band))
    if not math.isfinite(se):
        return math.nan, math.nan, None
    return rate, se, "stochastic_linearisation"


def input_variance(cell, xs) -> float:
    """``mean((W_ih x_t)^2)`` over time, batch and units: the inputs' share of the pre-activation variance.

    xs: (T, B, m). For gated cells the mean runs over all gate blocks.
    """
    xsi = prepare_inputs(check_cell(cell), xs).astype(np.float64)
    drive = xsi @ np.asarray(cell.params["weight_ih"], dtype=np.float64).swapaxes(-1, -2)
    return float(np.mean(drive ** 2))


def predict(W_or_cell, activation=None, *, inputs=None, input_std=None, input_variance=None, horizon=None,
            top=6, method="auto", reference=None, band=CRITICAL_BAND_LOG10, steps=300,
            seed=0) -> SpectralPrediction:
    """Predict vanishing or explosion of gradients from the weights and the inputs' first two moments.

    W_or_cell: a square (n, n) array or scipy.sparse matrix (an Elman cell without biases whose
    inputs enter each unit directly), or an Elman, LSTM or GRU cell. inputs: an array (T, B, m) of
    which only the mean and covariance are used; or input_std: the inputs are i.i.d. N(0, s^2), s
    a scalar or one per input; or input_variance: the variance the inputs add to every
    pre-activation, ``mean((W_ih x)^2)``. None of them: the zero-input prediction (the result says
    so: ``zero_input``, ``inputs``).
    activation: for a bare W (default "tanh"). horizon: largest k for ``||W^k||`` (default for a
    bare W: 100 dense, 10 sparse/large; for a cell 0: its rate is the stochastic linearisation,
    and the transient of W_hh or of the mean Jacobian costs one n x n product per lag, O(n^3)
    each). top: singular values computed for sparse/large W and for a cell's matrix
    beyond ``CELL_SVD_DENSE_MAX`` = 256 (an LSTM's 2n x 2n Jacobian from n = 129). method: "auto",
    "dense" (LAPACK throughout) or "sparse". reference: (state, x) at which a gated cell's
    Jacobian is analysed spectrally (default: the stationary means). band: rates within +-band
    (log10 per step) are "critical". steps, seed: largest length and seed of the Monte-Carlo
    random-Jacobian product; it stops after 100 steps once its standard error is <= 0.001 and
    the regime is decided by 5 standard errors (``log10_rate_stochastic_se`` is that of the
    steps done).

    The rate (``log10_rate_estimate``) is the stochastic linearisation: per-unit stationary
    statistics of every gate's pre-activation from the real matrices
    (:func:`~rnnanalysis.predict.stationary_statistics`), then the top Lyapunov exponent of the
    product of Jacobians drawn from them (:mod:`~rnnanalysis.predict.linearise`); ``log10 rho``
    exactly when the Jacobian is constant (linear cell, or an attracting fixed point without
    input noise). Regime: "vanishing" whenever ``gamma * sigma_max(W_hh) < 1`` (Pascanu's
    sufficient condition; Elman and bare W), else from that rate.

    Caution: the eigenvalues of a strongly non-normal W are ill-conditioned (a 40 x 40 Jordan
    block with eigenvalue 0.9 perturbed by rounding shows |lambda| ~ 1.4 to ARPACK); the dense
    path reads a triangular W exactly, and ``log10_power_norms`` is reliable either way.

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> p = ra.predict(0.5 * np.eye(4), activation="tanh")
        >>> p.regime, p.predictor, round(p.log10_rate_bound, 4), p.zero_input
        ('vanishing', 'pascanu_bound', -0.301, True)
    """
    band = finite_float("band", band, at_least=0, unit="log10 per step")
    if method not in ("auto", "dense", "sparse"):
        raise ValueError(f"method: expected 'auto', 'dense' or 'sparse', got {method!r}")
    top = positive_int("top", top)
    steps = positive_int("steps", steps)
    rng = rng_from(seed)
    seed_mc = int(rng.integers(2 ** 63))
    described = dict(inputs=inputs, input_std=input_std, input_variance=input_variance)
    if isinstance(W_or_cell, Cell):
        cell = W_or_cell
        W, act, source, sigma_b = _from_cell(cell, activation, reference)
        stats = stationary_statistics(cell, **described) if cell.kind in MEAN_FIELD_KINDS else None
        model = cell
    else:
        if reference is not None:
            raise ValueError("reference: only for gated cells (LSTM, GRU), not for a bare W")
        W, act, source, sigma_b = _check_matrix(W_or_cell), get_activation(activation or "tanh"), "W", 0.0
        stats = matrix_statistics(W, act, **described)
        model = (W, act)
    from_cell = isinstance(model, Cell)
    gated = from_cell and model.kind != "elman"
    memo = []

    def spectrum(A, reported=()):
        """_spectrum of A with the parts ``reported`` only reported, once per matrix (the
        fixed-point Jacobian is often W itself; one computed with fewer parts reported serves)."""
        for B, done, result in memo:
            dense = not (sp.issparse(A) or sp.issparse(B))
            same = B is A or dense and A.shape == B.shape and np.array_equal(A, B)
            if same and set(done) <= set(reported):
                return result
        with single_blas_thread(A.shape[0] <= SINGLE_THREAD_MAX or sp.issparse(A) or method == "sparse"
                                or A.shape[0] > DENSE_LIMIT):
            memo.append((A, reported, _spectrum(A, method, top, rng, from_cell and method == "auto",
                                                reported)))
        return memo[-1][2]

    drift_rate = math.nan
    if stats is None:
        given = [k for k, v in described.items() if v is not None]
        inputs_text = (f"{', '.join(given)} given but not used: no mean-field theory for "
                       f"{model.kind} cells yet" if given else ZERO_INPUT)
        stochastic, stochastic_se, decided_by, converged = math.nan, math.nan, None, False
    else:
        inputs_text, converged = stats.inputs, stats.converged
        stochastic, stochastic_se, decided_by = _stochastic(model, stats, steps, seed_mc, spectrum, band)
        # one BLAS thread: products of a few state vectors, where a second thread only waits (the
        # drift of an Elman cell at n = 256: 3.5 ms on one thread, ~30 ms on two on a busy machine)
        with single_blas_thread():
            drift = drift_for(model, stats, **described) \
                if from_cell and decided_by == "stochastic_linearisation" else None
        if drift is not None and drift.decides:
            drift_rate, decided_by = drift.log10_rate, "drift_orbit"
    if W is None:
        W = mean_jacobian(model, stats) if decided_by else _gated_fallback(model)
        if not decided_by:
            source = f"{model.kind} state Jacobian at s=0, x=0 (the stationary statistics overflowed)"
    n = W.shape[0]
    large = sp.issparse(W) and method != "dense" or method == "sparse" or n > DENSE_LIMIT
    if horizon is None:
        horizon = 0 if from_cell else 10 if large else 100
    horizon = positive_int("horizon", horizon, minimum=0)
    # a cell's radius (of W_hh, of a gated cell's Jacobian) decides nothing when the Monte-Carlo
    # product or the drift orbit gives the rate; a gated cell's singular values never do
    reported = ("radius", "singular") if gated else ("radius",)
    rho, sv, complete = spectrum(W, reported if from_cell and decided_by in (
        "stochastic_linearisation", "drift_orbit") else ())
    with single_blas_thread(n <= SINGLE_THREAD_MAX or large):   # ARPACK: vector operations
        norms = _transient(W, horizon, sigma_max=float(sv[0]), rng=rng)
    sigma_max, gamma = float(sv[0]), float(act.gamma)
    cond = (math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])) if complete else math.nan
    bound, linear = _log10(gamma * sigma_max), _log10(rho)
    mf = math.nan if gated else _scalar_mean_field(W, act, sigma_b, stats)
    if decided_by is None:
        estimate, decided_by = linear, "linear_rho"
    else:
        estimate = drift_rate if decided_by == "drift_orbit" else stochastic
    if gamma * sigma_max < 1 and not gated:
        regime, predictor = "vanishing", "pascanu_bound"
    else:
        regime, predictor = classify(estimate, band), decided_by
    peak = int(np.argmax(norms))
    return SpectralPrediction(
        source=source, activation=act.name, n=n, gamma=gamma, spectral_radius=rho,
        singular_values=np.asarray(sv, dtype=np.float64), complete=complete, condition_number=cond,
        vanishing_guaranteed=bool(gamma * sigma_max < 1 and not gated),
        explosion_possible=bool(gamma * sigma_max > 1 or gated),
        log10_rate_bound=bound, log10_rate_linear=linear, log10_rate_mean_field=mf,
        log10_rate_estimate=estimate, regime=regime, predictor=predictor,
        log10_power_norms=norms, transient_log10_peak=float(norms[peak]), transient_peak_lag=peak,
        inputs=inputs_text, zero_input=inputs_text == ZERO_INPUT,
        log10_rate_stochastic=stochastic, log10_rate_stochastic_se=stochastic_se,
        time_scale_steps=(1.0 / abs(estimate) if estimate != 0 and math.isfinite(estimate) else math.inf),
        stationary_converged=converged, log10_rate_drift=drift_rate)


def _scalar_mean_field(W, act, sigma_b, stats):
    """log10(chi)/2 of the i.i.d. theory at sigma_w = ||W||_F / sqrt(n) (NaN beyond 1e+-150, or
    when the inputs' drive variance overflowed)."""
    scale = max_abs(W)
    if scale == 0:
        return -math.inf
    frob = scale * math.sqrt(float((W / scale).multiply(W / scale).sum()) if sp.issparse(W)
                             else float(np.sum((W / scale) ** 2)))
    sigma_w = frob / math.sqrt(W.shape[0])
    if not 1e-150 < sigma_w < 1e150 or not math.isfinite(stats.drive_variance):
        return math.nan
    return mean_field(act, sigma_w, sigma_b, input_variance=stats.drive_variance).log10_rate_per_step
