"""Symbolic BPTT: cell equations in SymPy, per-step Jacobians by matrix-calculus rules,
ordered Jacobian products, Pascanu's double sum and bound, closed forms, and LaTeX.

    >>> from rnnanalysis.symbolic import derive
    >>> derive("elman").jacobian
    DiagMatrix(Apply(phi, a, 1))*W_hh
"""

from .bptt import NormBound as NormBound
from .bptt import OrderedProduct as OrderedProduct
from .bptt import Partial as Partial
from .bptt import WeightGradient as WeightGradient
from .closed_forms import ClosedForm as ClosedForm
from .closed_forms import linear_rnn_power as linear_rnn_power
from .closed_forms import one_unit_gradient as one_unit_gradient
from .closed_forms import scalar_rnn_product as scalar_rnn_product
from .derivation import Derivation as Derivation
from .derivation import Step as Step
from .derivation import derive as derive
from .equations import BUILTIN_CELLS as BUILTIN_CELLS
from .equations import CellSpec as CellSpec
from .expr import Apply as Apply
from .expr import hadamard as hadamard
from .expr import normalize as normalize
from .printing import RNNLatexPrinter as RNNLatexPrinter

__all__ = ["derive", "Derivation", "Step", "CellSpec", "BUILTIN_CELLS", "Apply", "hadamard", "normalize",
           "OrderedProduct", "Partial", "WeightGradient", "NormBound", "RNNLatexPrinter",
           "ClosedForm", "scalar_rnn_product", "linear_rnn_power", "one_unit_gradient"]
