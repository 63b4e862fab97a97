"""rnnanalysis: derive, predict and measure vanishing and exploding gradients in RNNs.

    >>> import rnnanalysis as ra
    >>> cell = ra.Elman(hidden=64, inputs=8, activation="tanh", seed=0)

Importing is light: SymPy loads on the first :func:`derive`, matplotlib in :mod:`plots`.
Note: ``ra.predict`` is the function; its subpackage is reached as ``rnnanalysis.predict``
only through ``from rnnanalysis.predict import ...``.
"""

from . import experiments as experiments
from . import figures as figures
from . import init as init
from . import plots as plots
from . import train as train
from .activations import Activation as Activation
from .activations import custom_activation as custom_activation
from .activations import get_activation as get_activation
from .activations import leaky_relu as leaky_relu
from .cells import GRU as GRU
from .cells import LSTM as LSTM
from .cells import BatchNormRNN as BatchNormRNN
from .cells import Cell as Cell
from .cells import Elman as Elman
from .cells import LayerNormElman as LayerNormElman
from .cells import LayerNormLSTM as LayerNormLSTM
from .experiments import Grid as Grid
from .experiments import Store as Store
from .experiments import SweepError as SweepError
from .experiments import SweepResult as SweepResult
from .experiments import sweep as sweep
from .io import from_state_dict as from_state_dict
from .io import from_torch as from_torch
from .io import load_arrays as load_arrays
from .predict import LyapunovSpectrum as LyapunovSpectrum
from .predict import MeanField as MeanField
from .predict import PredictionCheck as PredictionCheck
from .predict import SpectralPrediction as SpectralPrediction
from .predict import check_predictions as check_predictions
from .predict import critical_sigma_w as critical_sigma_w
from .predict import lyapunov_spectrum as lyapunov_spectrum
from .predict import mean_field as mean_field
from .predict import predict as predict
from .simulate import BPTTResult as BPTTResult
from .simulate import GradientProfile as GradientProfile
from .simulate import JacobianProducts as JacobianProducts
from .simulate import Trajectory as Trajectory
from .simulate import bptt as bptt
from .simulate import gradient_profile as gradient_profile
from .simulate import jacobian_products as jacobian_products
from .simulate import simulate as simulate
from .train import compare_remedies as compare_remedies
from .train import get_task as get_task

__version__ = "0.1.0"


def derive(kind_or_cell, activation=None):
    """Symbolic per-step Jacobian of a cell: see :func:`rnnanalysis.symbolic.derive` (SymPy loads here)."""
    from .symbolic import derive as _derive

    return _derive(kind_or_cell, activation)


__all__ = [
    # numeric core
    "Activation", "custom_activation", "get_activation", "leaky_relu", "init",
    "Cell", "Elman", "LSTM", "GRU", "LayerNormElman", "LayerNormLSTM", "from_state_dict",
    "from_torch", "load_arrays",
    "Trajectory", "BPTTResult", "GradientProfile", "JacobianProducts",
    "simulate", "bptt", "gradient_profile", "jacobian_products",
    # predict
    "SpectralPrediction", "MeanField", "LyapunovSpectrum", "PredictionCheck",
    "predict", "mean_field", "critical_sigma_w", "lyapunov_spectrum", "check_predictions",
    # symbolic
    "derive",
    # train
    "train", "BatchNormRNN", "compare_remedies", "get_task",
    # workbench
    "experiments", "Grid", "Store", "SweepError", "SweepResult", "sweep", "figures", "plots",
]
