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

from .._results import Result
from .._threads import SINGLE_THREAD_MAX, single_blas_thread
from .._validate import finite_float, float_array, positive_int, rng_from
from ..activations import get_activation
from ..cells import Cell, check_cell
from ..cells.layout import prepare_inputs
from ._regime import CRITICAL_BAND_LOG10, classify
from .meanfield import mean_field

__all__ = ["SpectralPrediction", "predict", "input_variance", "DENSE_LIMIT"]

#: Largest n analysed with dense LAPACK under ``method="auto"``; larger or sparse W use ARPACK.
DENSE_LIMIT = 3000


@dataclass(frozen=True)
class SpectralPrediction(Result):
    """What the weights say about gradient growth; every rate in log10 per step.

    source: the matrix analysed (W, an Elman cell's weight_hh, or a gated cell's state Jacobian
    at a reference point); singular_values: descending, all of them (dense) or the top ``top``
    (sparse/large: ``complete`` is False and condition_number NaN); log10_rate_mean_field:
    ``log10(chi)/2`` at ``sigma_w = ||W||_F / sqrt(n)`` (NaN for gated cells); log10_power_norms:
    ``log10 ||W^k||_2`` for k = 0..horizon; regime and the predictor that decided it
    ("pascanu_bound", "linear_rho" or "mean_field_chi") with that predictor's rate estimate.
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

    @property
    def sigma_max(self) -> float:
        return float(self.singular_values[0])


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


def _spectrum(W, method, top, rng):
    """(rho, singular values descending, complete) by LAPACK (dense) or ARPACK (sparse/large)."""
    n = W.shape[0]
    if method == "dense" or (method == "auto" and n <= DENSE_LIMIT) or n < 16:   # ARPACK: k + 1 < ncv <= n
        A = W.toarray() if sp.issparse(W) else W
        rho = float(np.max(np.abs(sla.eigvals(A, check_finite=False))))
        return rho, sla.svdvals(A, check_finite=False), True
    k_eig = min(6, n - 2)                          # several: the edge of a random spectrum is crowded
    v0 = rng.standard_normal(n)
    eig = spla.eigs(W, k=k_eig, which="LM", return_eigenvectors=False, v0=v0, tol=1e-8,
                    ncv=min(n - 1, max(2 * k_eig + 1, 40)))
    k_sv = min(top, n - 1)
    sv = spla.svds(W, k=k_sv, return_singular_vectors=False, v0=v0, tol=1e-8)
    return float(np.max(np.abs(eig))), np.sort(sv)[::-1], False


def _from_cell(cell, activation, reference):
    """(matrix, activation, source, sigma_b) for a cell: Elman's W_hh, else the state Jacobian."""
    if cell.ensemble is not None:
        raise ValueError(f"W_or_cell: expected a single network, got an ensemble cell with "
                         f"E={cell.ensemble}; pass cell.with_params({{k: v[e] ...}}) for member e")
    if activation is not None and get_activation(activation).name != cell.activation.name:
        raise ValueError(f"activation: a cell uses its own activation ({cell.activation.name!r}), "
                         f"got {get_activation(activation).name!r}")
    p = cell.params
    if cell.kind == "elman":
        if reference is not None:
            raise ValueError("reference: only for gated cells (LSTM, GRU); "
                             "an Elman cell is predicted from W_hh")
        bias = np.asarray(p["bias_ih"], dtype=np.float64) + p["bias_hh"]
        return (np.asarray(p["weight_hh"], dtype=np.float64), cell.activation, "elman weight_hh",
                float(np.sqrt(np.mean(bias ** 2))))
    if reference is None:
        state, x, where = np.zeros(cell.state_size), np.zeros(cell.inputs), "s=0, x=0"
    else:
        if not isinstance(reference, tuple) or len(reference) != 2:
            raise TypeError("reference: expected a tuple (state, x) with state (S,) or (n,) and x (m,)")
        state, x = reference
        where = "given reference"
        state = float_array("reference state", state, ndim=1)
        x = float_array("reference x", x, ndim=1)
        if x.shape != (cell.inputs,):
            raise ValueError(f"reference x: expected shape ({cell.inputs},), got {x.shape}")
    J = cell.astype(np.float64).jacobian(np.asarray(state, dtype=np.float64)[None],
                                         np.asarray(x, dtype=np.float64)[None])[0]
    return J, get_activation("linear"), f"{cell.kind} state Jacobian at {where}", 0.0


def input_variance(cell, xs) -> float:
    """``mean((W_ih x_t)^2)`` over time, batch and units: the inputs' share of the pre-activation variance.

    xs: (T, B, m). For gated cells the mean runs over all gate blocks.
    """
    xsi = prepare_inputs(check_cell(cell), xs).astype(np.float64)
    drive = xsi @ np.asarray(cell.params["weight_ih"], dtype=np.float64).swapaxes(-1, -2)
    return float(np.mean(drive ** 2))


def predict(W_or_cell, activation=None, *, horizon=None, top=6, method="auto", reference=None,
            input_variance=0.0, band=CRITICAL_BAND_LOG10, seed=0) -> SpectralPrediction:
    """Predict vanishing or explosion of gradients from the recurrent weights alone.

    W_or_cell: a square (n, n) array or scipy.sparse matrix, or a cell. Elman cells are
    predicted from ``weight_hh`` with their own activation; LSTM/GRU from their state Jacobian
    at ``reference=(state, x)`` (default zeros), treated as a linear map (gamma = 1).
    activation: for a bare W (default "tanh"). horizon: largest k for ``||W^k||`` (default 100
    dense, 10 sparse/large). top: singular values computed for sparse/large W. method: "auto",
    "dense" or "sparse". input_variance: what the inputs add to each pre-activation's variance,
    ``mean((W_ih x)^2)`` (see :func:`input_variance`; mean-field estimate only). band: rates
    within +-band (log10 per step) are "critical".

    Caution: the eigenvalues of a strongly non-normal W are ill-conditioned (a 40 x 40 Jordan
    block with eigenvalue 0.9 perturbed by rounding shows |lambda| ~ 1.4 to ARPACK); the dense
    path reads a triangular W exactly, and ``log10_power_norms`` is reliable either way.

    Regime: "vanishing" whenever ``gamma * sigma_max < 1`` (Pascanu's sufficient condition);
    for a linear map the spectral radius decides; otherwise the mean-field estimate
    ``log10(chi)/2`` with ``sigma_w = ||W||_F / sqrt(n)`` (and the cell's bias scale) decides.

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> p = ra.predict(0.5 * np.eye(4), activation="tanh")
        >>> p.regime, p.predictor, round(p.log10_rate_bound, 4)
        ('vanishing', 'pascanu_bound', -0.301)
    """
    band = finite_float("band", band, at_least=0, unit="log10 per step")
    if method not in ("auto", "dense", "sparse"):
        raise ValueError(f"method: expected 'auto', 'dense' or 'sparse', got {method!r}")
    top = positive_int("top", top)
    rng = rng_from(seed)
    if isinstance(W_or_cell, Cell):
        W, act, source, sigma_b = _from_cell(W_or_cell, activation, reference)
    else:
        if reference is not None:
            raise ValueError("reference: only for gated cells (LSTM, GRU), not for a bare W")
        W, act, source, sigma_b = _check_matrix(W_or_cell), get_activation(activation or "tanh"), "W", 0.0
    n = W.shape[0]
    large = sp.issparse(W) and method != "dense" or method == "sparse" or n > DENSE_LIMIT
    horizon = (10 if large else 100) if horizon is None else positive_int("horizon", horizon, minimum=0)
    with single_blas_thread(n <= SINGLE_THREAD_MAX or large):   # ARPACK: vector operations
        rho, sv, complete = _spectrum(W, method, top, rng)
        norms = _transient(W, horizon, sigma_max=float(sv[0]), rng=rng)
    sigma_max, gamma = float(sv[0]), float(act.gamma)
    cond = (math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])) if complete else math.nan
    bound, linear = _log10(gamma * sigma_max), _log10(rho)
    frob = math.sqrt(float(W.multiply(W).sum()) if sp.issparse(W) else float(np.sum(W * W)))
    gated = isinstance(W_or_cell, Cell) and W_or_cell.kind != "elman"
    mf = math.nan if gated else \
        mean_field(act, frob / math.sqrt(n), sigma_b, input_variance=input_variance).log10_rate_per_step
    estimate, predictor = (linear, "linear_rho") if act.name == "linear" or gated else (mf, "mean_field_chi")
    if gamma * sigma_max < 1:
        regime, predictor = "vanishing", "pascanu_bound"
    else:
        regime = classify(estimate, band)
    peak = int(np.argmax(norms))
    return SpectralPrediction(
        source=source, activation=act.name, n=n, gamma=gamma, spectral_radius=rho,
        singular_values=np.asarray(sv, dtype=np.float64), complete=complete, condition_number=cond,
        vanishing_guaranteed=bool(gamma * sigma_max < 1), explosion_possible=bool(gamma * sigma_max > 1),
        log10_rate_bound=bound, log10_rate_linear=linear, log10_rate_mean_field=mf,
        log10_rate_estimate=estimate, regime=regime, predictor=predictor,
        log10_power_norms=norms, transient_log10_peak=float(norms[peak]), transient_peak_lag=peak)
