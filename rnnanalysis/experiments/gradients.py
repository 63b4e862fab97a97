"""Experiments on gradient flow: gain profiles with every predictor, the phase diagram, cell kinds.

Each experiment is a grid run on :func:`~rnnanalysis.experiments.sweep.sweep`: a module-level
function computes one point from its parameters and its derived seed, and the driver gathers
the points into a frozen result (``executor=`` and ``store=`` are passed on, so a figure's data
runs on any executor and resumes from a store). Cells are Elman tanh with ``W_hh`` entries iid
``N(0, g^2/n)`` (``init="gaussian"``) unless said otherwise. Drawing is in :mod:`rnnanalysis.plots`.

References:
    Pascanu, Mikolov & Bengio (2013), sec. 2.1 (the bound); Poole et al. (2016) and
    Chen, Pennington & Schoenholz (2018) (mean field, chi = 1); Mikhaeil, Monfared &
    Durstewitz (NeurIPS 2022) (lambda_1 > 0 implies diverging gradients).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import Result
from ..cells import Elman, cell_class
from ..predict import check_predictions, critical_sigma_w, fit_log10_rate, lyapunov_spectrum, predict
from ..simulate import gradient_profile, simulate
from .grid import Grid
from .sweep import sweep

__all__ = [
    "PREDICTORS",
    "GainProfiles",
    "gain_profiles",
    "gain_profile_point",
    "PhaseDiagram",
    "phase_diagram",
    "phase_point",
    "CellFlow",
    "cell_flow",
    "cell_flow_point",
]

PREDICTORS = ("pascanu_bound", "linear_rho", "mean_field_chi", "stochastic_linearisation", "lyapunov_lambda1")


@dataclass(frozen=True)
class GainProfiles(Result):
    """Per-lag gradient norms at several gains, with each predictor's rate.

    gains: (G,); log10_norms: (G, T+1, B), ``log10 ||d(v.h_T)/dh_{T-lag}||`` in lag order
    (lag 0 first); measured: (G,) fitted rate (log10 per step, Theil-Sen slope over lags >= skip,
    median over the batch); predicted: predictor -> (G,) rates (log10 per step) from
    :func:`rnnanalysis.check_predictions`.
    """

    gains: np.ndarray
    log10_norms: np.ndarray
    measured: np.ndarray
    predicted: dict
    skip: int
    hidden: int
    input_scale: float


def gain_profile_point(*, gain, hidden, T, batch, input_scale, seed) -> dict:
    """One gain: an Elman tanh cell and inputs ``x_t ~ N(0, input_scale^2)`` drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    cell = Elman(hidden, 1, "tanh", init="gaussian", gain=gain, seed=rng)
    xs = input_scale * rng.standard_normal((T, batch, 1))
    check = check_predictions(cell, xs, skip=T // 10, seed=0)
    return {
        "log10_norms": gradient_profile(cell, xs).log10_norms[::-1],
        "measured": check.measured_log10_rate,
        **{p: check.row(p).log10_rate for p in PREDICTORS},
    }


def gain_profiles(
    gains=(0.5, 0.9, 1.2, 1.6, 2.5), *, hidden=128, T=200, batch=8, input_scale=0.5, seed=0,
    executor=None, store=None,
) -> GainProfiles:
    """Elman tanh cells at each gain (one grid point each): profiles and every predictor's rate."""
    grid = Grid({"gain": [float(g) for g in gains], "hidden": hidden, "T": T, "batch": batch,
                 "input_scale": float(input_scale)}, seed=seed)
    res = sweep(gain_profile_point, grid, executor, store)
    G = (len(gains),)
    return GainProfiles(
        gains=np.asarray(gains, float),
        log10_norms=res.array("log10_norms").reshape(G + (T + 1, batch)),
        measured=res.array("measured").reshape(G),
        predicted={p: res.array(p).reshape(G) for p in PREDICTORS},
        skip=T // 10,
        hidden=int(hidden),
        input_scale=float(input_scale),
    )


@dataclass(frozen=True)
class PhaseDiagram(Result):
    """Measured gradient rate over (sigma_w, sigma_b) with the predicted boundaries.

    log10_rate, lambda1_nats, log10_gamma_sigma_max, log10_rho: (Q, P) over
    ``sigma_b`` (Q,) x ``sigma_w`` (P,) — the measured rate (log10 per step, median over the
    batch), the measured top Lyapunov exponent (nats per step, median over the batch), and the
    two spectral predictors of each drawn W; chi_sigma_b / chi_sigma_w: the mean-field critical
    line chi = 1. One network per grid cell: the measured lambda_1 = 0 line carries the
    network-to-network scatter of finite n.
    """

    sigma_w: np.ndarray
    sigma_b: np.ndarray
    log10_rate: np.ndarray
    lambda1_nats: np.ndarray
    log10_gamma_sigma_max: np.ndarray
    log10_rho: np.ndarray
    chi_sigma_b: np.ndarray
    chi_sigma_w: np.ndarray
    hidden: int
    T: int


def phase_point(*, sigma_w, sigma_b, hidden, T, batch, seed) -> dict:
    """Autonomous Elman tanh (zero input, ``h_0 ~ N(0, 1)``), biases ``b_i ~ N(0, sigma_b^2)``."""
    rng = np.random.default_rng(seed)
    cell = Elman(hidden, 1, "tanh", init="gaussian", gain=sigma_w, seed=rng)
    cell = cell.with_params(dict(cell.params, bias_hh=sigma_b * rng.standard_normal(hidden)))
    h0 = rng.standard_normal((batch, hidden))
    xs = np.zeros((T, batch, 1))
    skip = T // 10
    p = predict(cell, horizon=0)
    return {
        "log10_rate": float(np.median(fit_log10_rate(gradient_profile(cell, xs, h0).log10_norms, skip))),
        "lambda1_nats": float(np.median(lyapunov_spectrum(cell, xs, h0, k=1, warmup=skip).lambda_max)),
        "log10_gamma_sigma_max": p.log10_rate_bound,
        "log10_rho": p.log10_rate_linear,
    }


def phase_diagram(
    sigma_w=None, sigma_b=None, *, hidden=100, T=300, batch=4, chi_points=25, seed=0,
    executor=None, store=None,
) -> PhaseDiagram:
    """The grid sigma_b x sigma_w (default 9 values in [0, 1] x 16 in [0.3, 3]), one network each.

    The chi = 1 line is :func:`rnnanalysis.critical_sigma_w` at ``chi_points`` values of sigma_b.
    """
    sw = np.linspace(0.3, 3.0, 16) if sigma_w is None else np.asarray(sigma_w, float)
    sb = np.linspace(0.0, 1.0, 9) if sigma_b is None else np.asarray(sigma_b, float)
    grid = Grid({"sigma_b": sb.tolist(), "sigma_w": sw.tolist(), "hidden": hidden, "T": T,
                 "batch": batch}, seed=seed)
    res = sweep(phase_point, grid, executor, store)
    fields = ("log10_rate", "lambda1_nats", "log10_gamma_sigma_max", "log10_rho")
    maps = {f: res.array(f).reshape(sb.size, sw.size) for f in fields}
    fine_b = np.linspace(sb.min(), sb.max(), chi_points)
    chi_w = np.array([critical_sigma_w("tanh", b) for b in fine_b])
    return PhaseDiagram(sigma_w=sw, sigma_b=sb, **maps, chi_sigma_b=fine_b, chi_sigma_w=chi_w,
                        hidden=int(hidden), T=int(T))


@dataclass(frozen=True)
class CellFlow(Result):
    """Per-lag gradient norms of Elman, LSTM and GRU cells under the same inputs, and why they differ.

    log10_norms: ``"kind|init"`` -> (T+1, B) in lag order (lag 0 first); for LSTM the norm is
    over the full state (h, c). rate: ``"kind|init"`` -> the fitted rate (log10 per step,
    Theil-Sen slope over lags >= T // 10, median over the batch). step_factor_log10:
    ``"kind|init"`` -> the time and batch mean of log10 of the factor a step multiplies the
    state's gradient by on its direct path: Elman ``tanh'(a_t)`` (in ``diag(tanh'(a_t)) W_hh``);
    LSTM the forget gate ``f_t`` (``dc_t/dc_{t-1} = diag(f_t)``); GRU the update gate ``z_t``
    (``h_t = (1 - z_t) n_t + z_t h_{t-1}``).
    """

    kinds: tuple
    inits: tuple
    log10_norms: dict
    rate: dict
    step_factor_log10: dict
    hidden: int
    T: int


def _step_factor_log10(cell, xs):
    """Mean over time, batch and units of log10 tanh'(a_t) (Elman) or of the carry gate (LSTM f, GRU z)."""
    n = cell.hidden
    h_prev = simulate(cell, xs).states[:-1, ..., :n]                         # (T, B, n)
    p = cell.params
    a = xs @ p["weight_ih"].T + p["bias_ih"] + h_prev @ p["weight_hh"].T + p["bias_hh"]
    if cell.kind == "elman":
        return float(np.mean(np.log10(1.0 - np.tanh(a) ** 2)))
    gate = a[..., n:2 * n]                    # LSTM gates (i, f, g, o), GRU (r, z, n): the second block
    return float(np.mean(-np.logaddexp(0.0, -gate)) / np.log(10.0))        # log10 sigmoid


def cell_flow_point(*, kind, init, hidden, T, batch, input_seed, seed) -> dict:
    """One cell kind at one initialiser (gain 1); inputs ``x_t ~ N(0, 1)`` (4 channels) from input_seed."""
    xs = np.random.default_rng(input_seed).standard_normal((T, batch, 4))
    cell = cell_class(kind)(hidden, 4, "tanh", init=init, seed=np.random.default_rng(seed))
    logs = gradient_profile(cell, xs).log10_norms
    return {"log10_norms": logs[::-1], "rate": float(np.median(fit_log10_rate(logs, T // 10))),
            "step_factor_log10": _step_factor_log10(cell, xs)}


def cell_flow(
    kinds=("elman", "lstm", "gru"), inits=("pytorch", "orthogonal"), *, hidden=64, T=200, batch=8, seed=0,
    executor=None, store=None,
) -> CellFlow:
    """Each cell kind at each initialiser (one grid point each) on the same inputs."""
    grid = Grid({"init": list(inits), "kind": list(kinds), "hidden": hidden, "T": T, "batch": batch,
                 "input_seed": int(seed)}, seed=seed)
    res = sweep(cell_flow_point, grid, executor, store)
    by_key = {f"{r['params']['kind']}|{r['params']['init']}": r["result"] for r in res.records}
    return CellFlow(
        kinds=tuple(kinds),
        inits=tuple(inits),
        log10_norms={k: np.asarray(r["log10_norms"], float) for k, r in by_key.items()},
        rate={k: float(r["rate"]) for k, r in by_key.items()},
        step_factor_log10={k: float(r["step_factor_log10"]) for k, r in by_key.items()},
        hidden=int(hidden),
        T=int(T),
    )
