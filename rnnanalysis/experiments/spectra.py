"""Experiments on spectra: one draw of W against the random-matrix laws, and Lyapunov spectra by gain.

The Elman map ``h_t = tanh(W h_{t-1})`` is conjugate (through ``y_t = W h_{t-1}``) to
``y_{t+1} = W tanh(y_t)``, so both have the same Lyapunov exponents; the mean field gives
``lambda_max = ln g`` for ``g <= 1`` and ``(1/2) ln chi`` above. The gains are grids run on
:func:`~rnnanalysis.experiments.sweep.sweep` (``executor=``, ``store=`` passed on).

References:
    Ginibre (1965), Girko (1984), Bai & Yin (1988) (random matrices; the laws are in
    :mod:`rnnanalysis.predict.random_matrix`); Sompolinsky, Crisanti & Sommers (1988) and
    Poole et al. (2016) (mean field); Benettin et al. (1980) (QR method).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import Result
from .._validate import rng_from
from ..cells import Elman
from ..init import gaussian
from ..predict import lyapunov_spectrum, mean_field, predict
from .grid import Grid
from .sweep import sweep

__all__ = [
    "RandomMatrixSpectrum",
    "random_matrix_spectrum",
    "LyapunovByGain",
    "lyapunov_by_gain",
    "lyapunov_point",
    "SingularSpectrumComparison",
    "singular_spectrum_comparison",
]


@dataclass(frozen=True)
class RandomMatrixSpectrum(Result):
    """Eigenvalues (real, imag parts) and singular values of one draw of W (n x n, N(0, g^2/n)).

    spectral_radius and sigma_max come from :func:`rnnanalysis.predict`.
    """

    gain: float
    n: int
    eigenvalues_real: np.ndarray
    eigenvalues_imag: np.ndarray
    singular_values: np.ndarray
    spectral_radius: float
    sigma_max: float


def random_matrix_spectrum(n=500, gain=1.0, *, seed=0) -> RandomMatrixSpectrum:
    """Draw W with iid N(0, gain^2/n) entries; its whole spectrum and singular values (one draw: no grid)."""
    W = gaussian((n, n), rng_from(seed), gain=gain)
    ev = np.linalg.eigvals(W)
    p = predict(W, horizon=0)
    return RandomMatrixSpectrum(
        gain=float(gain),
        n=int(n),
        eigenvalues_real=ev.real.copy(),
        eigenvalues_imag=ev.imag.copy(),
        singular_values=np.asarray(p.singular_values),
        spectral_radius=p.spectral_radius,
        sigma_max=p.sigma_max,
    )


@dataclass(frozen=True)
class LyapunovByGain(Result):
    """Lyapunov spectra and lambda_max(g) of autonomous random tanh RNNs (nats per step).

    spectra: (G, n) full spectrum at each of ``spectrum_gains`` (one network, one trajectory);
    lambda_max: (K, R) top exponent at each of ``gains`` for R networks of ``hidden_max`` units;
    lambda_max_mean_field: (M,) the mean-field prediction at ``mean_field_gains`` (M,).
    """

    spectrum_gains: np.ndarray
    spectra: np.ndarray
    gains: np.ndarray
    lambda_max: np.ndarray
    mean_field_gains: np.ndarray
    lambda_max_mean_field: np.ndarray
    hidden: int
    hidden_max: int
    T: int


def lyapunov_point(*, gain, hidden, T, k, seed) -> dict:
    """The top ``k`` exponents (all if k = 0) of one autonomous Elman tanh network, ``h_0 ~ N(0, 1)``."""
    rng = np.random.default_rng(seed)
    cell = Elman(hidden, 1, "tanh", init="gaussian", gain=gain, seed=rng)
    res = lyapunov_spectrum(cell, np.zeros((T, 1, 1)), rng.standard_normal((1, hidden)), k=k or None)
    return {"exponents": res.exponents[0]}


def lyapunov_by_gain(
    spectrum_gains=(0.5, 1.0, 1.5, 2.0, 3.0),
    gains=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0),
    *,
    hidden=64,
    hidden_max=200,
    T=1000,
    repeats=3,
    seed=0,
    executor=None,
    store=None,
) -> LyapunovByGain:
    """Full spectra at a few gains (``hidden`` units) and lambda_max over gains x ``repeats`` networks."""
    full = sweep(lyapunov_point, Grid({"gain": [float(g) for g in spectrum_gains], "replicate": [0],
                                       "hidden": hidden, "T": T, "k": 0}, seed=seed), executor, store)
    top = sweep(lyapunov_point, Grid({"gain": [float(g) for g in gains], "replicate": range(repeats),
                                      "hidden": hidden_max, "T": T, "k": 1}, seed=seed), executor, store)
    fine = np.unique(np.concatenate([np.linspace(min(gains), max(gains), 56), [1.0]]))
    return LyapunovByGain(
        spectrum_gains=np.asarray(spectrum_gains, float),
        spectra=full.array("exponents").reshape(len(spectrum_gains), hidden),
        gains=np.asarray(gains, float),
        lambda_max=top.array("exponents").reshape(len(gains), repeats),
        mean_field_gains=fine,
        lambda_max_mean_field=np.array([mean_field("tanh", float(g)).rate_nats_per_step for g in fine]),
        hidden=int(hidden),
        hidden_max=int(hidden_max),
        T=int(T),
    )


@dataclass(frozen=True)
class SingularSpectrumComparison(Result):
    """Measured singular values of ``J_T ... J_{T-L+1}`` beside their free-probability density.

    gains, input_std: (N,) the networks (Elman tanh, W_hh ~ N(0, g^2/n), inputs N(0, s^2));
    lags: (K,) product lengths L; measured: (N, K, B n) log10 singular values from
    :func:`rnnanalysis.jacobian_products` (B sequences pooled); log10_sigma, density: (N, K, G)
    from :func:`rnnanalysis.predict.singular_value_density` (weights and input moments only).
    """

    hidden: int
    T: int
    gains: np.ndarray
    input_std: np.ndarray
    lags: np.ndarray
    measured: np.ndarray
    log10_sigma: np.ndarray
    density: np.ndarray


def singular_spectrum_comparison(hidden=200, gains=(1.0, 2.5), input_std=(0.0, 0.5), lags=(1, 5, 20), *,
                                 T=60, batch=2, points=200, seed=0) -> SingularSpectrumComparison:
    """One Elman tanh network per (gain, input std): measured vs predicted singular spectra by lag."""
    from ..predict.free_probability import singular_value_density
    from ..simulate import jacobian_products

    lags = np.asarray(lags, dtype=int)
    measured, grids, dens = [], [], []
    for i, (g, s) in enumerate(zip(gains, input_std, strict=True)):
        cell = Elman(hidden, 4, init="gaussian", gain=float(g), seed=seed + i)
        xs = float(s) * rng_from(seed + 100 + i).standard_normal((T, batch, 4))
        logs = jacobian_products(cell, xs).log10_singular_values          # (T+1, B, n)
        measured.append([logs[T - L].ravel() for L in lags])
        pred = singular_value_density(cell, lags, points=points, input_std=float(s))
        grids.append(pred.log10_sigma)
        dens.append(pred.density)
    return SingularSpectrumComparison(hidden=int(hidden), T=int(T), gains=np.asarray(gains, dtype=float),
                                      input_std=np.asarray(input_std, dtype=float), lags=lags,
                                      measured=np.array(measured), log10_sigma=np.array(grids),
                                      density=np.array(dens))
