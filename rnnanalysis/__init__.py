"""rnnanalysis: derive, predict and measure vanishing and exploding gradients in RNNs.

    >>> import rnnanalysis as ra
    >>> cell = ra.Elman(hidden=64, inputs=8, activation="tanh", seed=0)
"""

# numeric core: activations, cells, initialisers, simulator, io
from . import init as init
from .activations import Activation as Activation
from .activations import custom_activation as custom_activation
from .activations import get_activation as get_activation
from .activations import leaky_relu as leaky_relu
from .cells import GRU as GRU
from .cells import LSTM as LSTM
from .cells import Cell as Cell
from .cells import Elman as Elman
from .io import from_state_dict as from_state_dict
from .simulate import BPTTResult as BPTTResult
from .simulate import GradientProfile as GradientProfile
from .simulate import JacobianProducts as JacobianProducts
from .simulate import Trajectory as Trajectory
from .simulate import bptt as bptt
from .simulate import gradient_profile as gradient_profile
from .simulate import jacobian_products as jacobian_products
from .simulate import simulate as simulate

__version__ = "0.1.0"

__all__ = [
    "Activation", "custom_activation", "get_activation", "leaky_relu", "init",
    "Cell", "Elman", "LSTM", "GRU", "from_state_dict",
    "Trajectory", "BPTTResult", "GradientProfile", "JacobianProducts",
    "simulate", "bptt", "gradient_profile", "jacobian_products",
]

# predict: spectral, mean field, Lyapunov, check (issue 3) — exports below this line
from .predict import LyapunovSpectrum as LyapunovSpectrum  # noqa: E402
from .predict import MeanField as MeanField  # noqa: E402
from .predict import PredictionCheck as PredictionCheck  # noqa: E402
from .predict import SpectralPrediction as SpectralPrediction  # noqa: E402
from .predict import check_predictions as check_predictions  # noqa: E402
from .predict import critical_sigma_w as critical_sigma_w  # noqa: E402
from .predict import lyapunov_spectrum as lyapunov_spectrum  # noqa: E402
from .predict import mean_field as mean_field  # noqa: E402
from .predict import predict as predict  # noqa: E402

__all__ += ["SpectralPrediction", "MeanField", "LyapunovSpectrum", "PredictionCheck",
            "predict", "mean_field", "critical_sigma_w", "lyapunov_spectrum", "check_predictions"]

# symbolic: derive (issue 4) — exports below this line

def derive(kind_or_cell, activation=None):
    """Symbolic per-step Jacobian of a cell (see :func:`rnnanalysis.symbolic.derive`; SymPy loads lazily)."""
    from .symbolic import derive as _derive

    return _derive(kind_or_cell, activation)


__all__ += ["derive"]


# train: tasks, optimisers, remedies (issue 5) — exports below this line
from . import train as train  # noqa: E402
from .cells import LayerNormElman as LayerNormElman  # noqa: E402
from .cells import LayerNormLSTM as LayerNormLSTM  # noqa: E402
from .train import BatchNormRNN as BatchNormRNN  # noqa: E402
from .train import compare_remedies as compare_remedies  # noqa: E402
from .train import get_task as get_task  # noqa: E402

__all__ += ["train", "LayerNormElman", "LayerNormLSTM", "BatchNormRNN", "compare_remedies", "get_task"]

# workbench: sweeps, plots, cli (issue 6) — exports below this line
from . import experiments as experiments  # noqa: E402
from .experiments import Grid as Grid  # noqa: E402
from .experiments import Store as Store  # noqa: E402
from .experiments import SweepError as SweepError  # noqa: E402
from .experiments import SweepResult as SweepResult  # noqa: E402
from .experiments import sweep as sweep  # noqa: E402

from . import figures as figures  # noqa: E402
from . import plots as plots  # noqa: E402

__all__ += ["experiments", "Grid", "Store", "SweepError", "SweepResult", "sweep", "figures", "plots"]
