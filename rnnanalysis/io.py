"""Parameters to and from PyTorch-named arrays and files (never unpickles)."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from .cells import PARAM_NAMES, cell_class

__all__ = ["from_state_dict", "load_arrays"]


def from_state_dict(kind: str, state_dict, activation="tanh", *, dtype=None):
    """A cell of ``kind`` ("elman", "lstm", "gru") from PyTorch-named arrays.

    Accepts ``weight_ih``/``weight_hh``/``bias_ih``/``bias_hh`` with or without the ``_l0``
    suffix (a single layer); values may be NumPy arrays or anything ``np.asarray`` takes
    (a ``torch.Tensor`` on the CPU, detached). Missing or extra keys raise ``ValueError``.
    For ``nn.RNN`` state dicts choose the activation PyTorch used (``nonlinearity``).
    """
    cls = cell_class(kind)
    if not hasattr(state_dict, "keys"):
        raise TypeError(f"state_dict: expected a mapping of arrays, got {type(state_dict).__name__}")
    params, extra = {}, []
    for key in state_dict.keys():
        name = key[:-3] if isinstance(key, str) and key.endswith("_l0") else key
        if name in PARAM_NAMES and name not in params:
            value = state_dict[key]
            if hasattr(value, "detach"):                       # a torch.Tensor
                value = value.detach().cpu().numpy()
            params[name] = np.asarray(value)
        else:
            extra.append(key)
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing or extra:
        raise ValueError(f"state_dict for {cls.kind}: missing {missing}, "
                         f"unexpected {sorted(map(str, extra))}; "
                         f"expected {list(PARAM_NAMES)} (optionally with suffix _l0)")
    return cls.from_params(params, activation, dtype=dtype)


def load_arrays(path) -> dict:
    """Arrays from a ``.npy`` (key ``"W"``) or ``.npz`` file, with ``allow_pickle=False``.

    The format is read from the file's content, not its suffix. Raises ``ValueError`` naming
    the file when it is missing, truncated, corrupt, not NumPy's format, or holds object
    arrays (pickled data is never loaded).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                return {k: data[k] for k in data.files}
        return {"W": data}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, zlib.error) as exc:
        reason = ("pickled or object data, which rnnanalysis never loads" if "pickle" in str(exc)
                  else str(exc) or type(exc).__name__)
        raise ValueError(f"{path}: not a readable NumPy .npy/.npz file ({reason})") from None
    except MemoryError:
        raise ValueError(f"{path}: the array its header describes is too large for memory") from None
