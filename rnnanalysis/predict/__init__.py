"""Predict vanishing or explosion from the weights, and hold every prediction against the simulator.

``predict`` (spectral, Pascanu bound, transient, and the input-aware stochastic linearisation
built on ``stationary_statistics``), ``mean_field`` (q*, chi, critical line),
``lyapunov_spectrum`` (QR method, nats per step) and ``check_predictions`` (the table).
"""

from ._regime import CRITICAL_BAND_LOG10 as CRITICAL_BAND_LOG10
from .check import PredictionCheck as PredictionCheck
from .check import PredictorRow as PredictorRow
from .check import check_predictions as check_predictions
from .check import fit_log10_rate as fit_log10_rate
from .free_probability import SingularSpectrum as SingularSpectrum
from .free_probability import singular_value_density as singular_value_density
from .lyapunov import LyapunovSpectrum as LyapunovSpectrum
from .lyapunov import lyapunov_spectrum as lyapunov_spectrum
from .meanfield import MeanField as MeanField
from .meanfield import critical_sigma_w as critical_sigma_w
from .meanfield import gaussian_expectation as gaussian_expectation
from .meanfield import mean_field as mean_field
from .spectral import SpectralPrediction as SpectralPrediction
from .spectral import input_variance as input_variance
from .spectral import predict as predict
from .stationary import StationaryStatistics as StationaryStatistics
from .stationary import stationary_statistics as stationary_statistics

__all__ = ["CRITICAL_BAND_LOG10", "PredictionCheck", "PredictorRow", "check_predictions", "fit_log10_rate",
           "LyapunovSpectrum", "lyapunov_spectrum", "MeanField", "critical_sigma_w",
           "gaussian_expectation", "mean_field", "SpectralPrediction", "predict", "input_variance",
           "StationaryStatistics", "stationary_statistics", "SingularSpectrum",
           "singular_value_density"]
