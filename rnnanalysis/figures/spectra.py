"""Figure data on spectra: random-matrix laws for W, and Lyapunov spectra of random tanh RNNs.

For ``W`` with iid ``N(0, g^2/n)`` entries the eigenvalues fill the disc of radius ``g``
(circular law) and the singular values follow the quarter-circle law on ``[0, 2g]``
(largest -> ``2g``, Bai-Yin):

.. math::
    p(s) = \\frac{1}{\\pi g^2}\\sqrt{4g^2 - s^2}, \\quad 0 \\le s \\le 2g.

The Elman map ``h_t = tanh(W h_{t-1})`` is conjugate (through ``y_t = W h_{t-1}``) to
``y_{t+1} = W tanh(y_t)``, so both have the same Lyapunov exponents; the mean field gives
``lambda_max = ln g`` for ``g <= 1`` and ``(1/2) ln chi`` above.

References:
    Ginibre (1965), Girko (1984), Bai & Yin (1988) (random matrices); Sompolinsky, Crisanti &
    Sommers (1988) and Poole et al. (2016) (mean field); Benettin et al. (1980) (QR method).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import Result
from .._validate import rng_from
from ..cells import Elman
from ..init import gaussian
from ..predict import lyapunov_spectrum, mean_field, predict

__all__ = [
    "RandomMatrixSpectrum",
    "random_matrix_spectrum",
    "quarter_circle_density",
    "LyapunovByGain",
    "lyapunov_by_gain",
]


def quarter_circle_density(s, gain=1.0):
    """Quarter-circle density of the singular values of an n x n matrix with N(0, gain^2/n) entries."""
    s = np.asarray(s, float)
    return np.sqrt(np.clip(4 * gain**2 - s**2, 0.0, None)) / (np.pi * gain**2)


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
    """Draw W with iid N(0, gain^2/n) entries; its whole spectrum and singular values."""
    W = gaussian((n, n), rng_from(seed), gain=gain)
    ev = np.linalg.eigvals(W)
    p = predict(W, horizon=0)
    return RandomMatrixSpectrum(
        float(gain),
        int(n),
        ev.real.copy(),
        ev.imag.copy(),
        np.asarray(p.singular_values),
        p.spectral_radius,
        p.sigma_max,
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


def _autonomous(n, g, rng):
    return Elman(n, 1, "tanh", init="gaussian", gain=float(g), seed=rng)


def lyapunov_by_gain(
    spectrum_gains=(0.5, 1.0, 1.5, 2.0, 3.0),
    gains=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0),
    *,
    hidden=64,
    hidden_max=200,
    T=1000,
    repeats=3,
    seed=0,
) -> LyapunovByGain:
    """Full spectra at a few gains (``hidden`` units) and lambda_max over a range of gains."""
    rng = rng_from(seed)
    xs = np.zeros((T, 1, 1))
    spectra = []
    for g in spectrum_gains:
        cell = _autonomous(hidden, g, rng)
        spectra.append(lyapunov_spectrum(cell, xs, rng.standard_normal((1, hidden))).exponents[0])
    lam = np.empty((len(gains), repeats))
    for i, g in enumerate(gains):
        for r in range(repeats):
            cell = _autonomous(hidden_max, g, rng)
            lam[i, r] = lyapunov_spectrum(cell, xs, rng.standard_normal((1, hidden_max)), k=1).lambda_max[0]
    fine = np.unique(np.concatenate([np.linspace(min(gains), max(gains), 56), [1.0]]))
    mf = np.array([mean_field("tanh", float(g)).rate_nats_per_step for g in fine])
    return LyapunovByGain(
        np.asarray(spectrum_gains, float),
        np.stack(spectra),
        np.asarray(gains, float),
        lam,
        fine,
        mf,
        int(hidden),
        int(hidden_max),
        int(T),
    )
