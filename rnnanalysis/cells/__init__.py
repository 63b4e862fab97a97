"""Recurrent cells: one-step maps with their adjoints side by side."""

from ._base import PARAM_NAMES as PARAM_NAMES
from ._base import Cell as Cell
from ._base import ForwardCache as ForwardCache
from ._base import check_cell as check_cell
from .batchnorm import BatchNormRNN as BatchNormRNN
from .elman import Elman as Elman
from .gru import GRU as GRU
from .lstm import LSTM as LSTM
from .normalized import LayerNormElman as LayerNormElman
from .normalized import LayerNormLSTM as LayerNormLSTM
from .stack import Stack as Stack

CELLS = {"elman": Elman, "rnn": Elman, "lstm": LSTM, "gru": GRU,
         "ln_elman": LayerNormElman, "ln_lstm": LayerNormLSTM}


def cell_class(kind: str):
    """The cell class named ``kind`` ("elman"/"rnn", "lstm", "gru")."""
    if isinstance(kind, str) and kind.strip().lower() in CELLS:
        return CELLS[kind.strip().lower()]
    raise ValueError(f"unknown cell kind {kind!r}; expected one of {sorted(CELLS)}")
