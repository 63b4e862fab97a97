"""rnnanalysis: derive, predict and measure vanishing and exploding gradients in RNNs.

    >>> import rnnanalysis as ra
    >>> cell = ra.Elman(hidden=64, inputs=8, activation="tanh", seed=0)

Importing is light: every name below loads its module on first use (``ra.Elman`` loads the cells,
``ra.predict`` SciPy, :func:`derive` SymPy, :mod:`plots` matplotlib).
Note: ``ra.predict`` is the function; its subpackage is reached as ``rnnanalysis.predict``
only through ``from rnnanalysis.predict import ...``.
"""

import importlib
import sys
import types

#: Public names and the module that defines each, imported on first use (``ra.Elman`` loads
#: ``rnnanalysis.cells``), so ``import rnnanalysis`` loads no SciPy, SymPy or matplotlib.
_NAMES = {
    "activations": ("Activation", "custom_activation", "get_activation", "leaky_relu"),
    "cells": ("Cell", "Elman", "LSTM", "GRU", "LayerNormElman", "LayerNormLSTM", "BatchNormRNN", "Stack"),
    "io": ("from_state_dict", "from_torch", "load_arrays"),
    "simulate": ("Trajectory", "BPTTResult", "GradientProfile", "JacobianProducts",
                 "simulate", "bptt", "gradient_profile", "jacobian_products"),
    "predict": ("SpectralPrediction", "MeanField", "LyapunovSpectrum", "PredictionCheck",
                "StationaryStatistics", "predict", "stationary_statistics", "mean_field", "critical_sigma_w",
                "lyapunov_spectrum", "check_predictions"),
    "train": ("get_task",),
    "experiments.remedies": ("compare_remedies",),
    "experiments": ("Grid", "Store", "SweepError", "SweepResult", "sweep"),
    "_kernel": ("compiled_loops", "has_compiled_loops"),
}
#: Subpackages reached as attributes (``ra.train.Adam``).
_SUBPACKAGES = ("experiments", "figures", "init", "plots", "train")
_HOME = {name: module for module, names in _NAMES.items() for name in names}


def __getattr__(name):
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``ra.predict`` and ``ra.simulate`` stay the functions when their modules are imported.

    Importing ``rnnanalysis.predict`` (the subpackage) binds it as an attribute of the package;
    the functions of the same name win, as they did when this file imported them eagerly.
    """

    def __setattr__(self, name, value):
        if not (isinstance(value, types.ModuleType) and _HOME.get(name) == name):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__version__ = "0.1.0"


def derive(kind_or_cell, activation=None):
    """Symbolic per-step Jacobian of a cell: see :func:`rnnanalysis.symbolic.derive` (SymPy loads here)."""
    from .symbolic import derive as _derive

    return _derive(kind_or_cell, activation)


__all__ = [
    # numeric core
    "Activation", "custom_activation", "get_activation", "leaky_relu", "init",
    "Cell", "Elman", "LSTM", "GRU", "LayerNormElman", "LayerNormLSTM", "Stack", "from_state_dict",
    "from_torch", "load_arrays",
    "Trajectory", "BPTTResult", "GradientProfile", "JacobianProducts",
    "simulate", "bptt", "gradient_profile", "jacobian_products", "compiled_loops", "has_compiled_loops",
    # predict
    "SpectralPrediction", "MeanField", "LyapunovSpectrum", "PredictionCheck", "StationaryStatistics",
    "predict", "stationary_statistics", "mean_field", "critical_sigma_w", "lyapunov_spectrum",
    "check_predictions",
    # symbolic
    "derive",
    # train
    "train", "BatchNormRNN", "compare_remedies", "get_task",
    # workbench
    "experiments", "Grid", "Store", "SweepError", "SweepResult", "sweep", "figures", "plots",
]
