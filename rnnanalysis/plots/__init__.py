"""Figure functions: each takes a result and returns a :class:`matplotlib.figure.Figure`.

matplotlib is imported only when a plot function runs, so ``import rnnanalysis`` stays fast.
Colours: the Okabe-Ito colour-blind-safe palette (:data:`OKABE_ITO`); predictors also differ
by line style. Save with ``fig.savefig("name.png", dpi=150)``.

    >>> from rnnanalysis.experiments.training import error_surface
    >>> from rnnanalysis.plots import plot_error_surface
    >>> fig = plot_error_surface(error_surface(steps=5))
"""

from ._style import OKABE_ITO as OKABE_ITO
from ._style import PREDICTOR_STYLES as PREDICTOR_STYLES
from .gradients import plot_cell_flow as plot_cell_flow
from .gradients import plot_gain_profiles as plot_gain_profiles
from .gradients import plot_phase_diagram as plot_phase_diagram
from .spectra import plot_lyapunov as plot_lyapunov
from .spectra import plot_random_matrix as plot_random_matrix
from .spectra import plot_singular_spectrum as plot_singular_spectrum
from .training import plot_divergence as plot_divergence
from .training import plot_error_surface as plot_error_surface
from .training import plot_remedies as plot_remedies

__all__ = [
    "OKABE_ITO",
    "PREDICTOR_STYLES",
    "plot_gain_profiles",
    "plot_phase_diagram",
    "plot_cell_flow",
    "plot_random_matrix",
    "plot_lyapunov",
    "plot_singular_spectrum",
    "plot_remedies",
    "plot_divergence",
    "plot_error_surface",
]
