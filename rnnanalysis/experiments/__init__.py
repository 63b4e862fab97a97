"""Experiments: grids of points with derived seeds, resumable sweeps on any executor, a result store."""

from .functions import SWEEP_FUNCTIONS as SWEEP_FUNCTIONS
from .functions import gradient_decay as gradient_decay
from .functions import profile_summary as profile_summary
from .grid import Grid as Grid
from .grid import Point as Point
from .store import Store as Store
from .store import StoreWarning as StoreWarning
from .sweep import SweepError as SweepError
from .sweep import SweepResult as SweepResult
from .sweep import sweep as sweep

__all__ = ["Grid", "Point", "Store", "StoreWarning", "SweepError", "SweepResult", "sweep",
           "SWEEP_FUNCTIONS", "gradient_decay", "profile_summary"]
