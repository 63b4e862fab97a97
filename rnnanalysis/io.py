"""Trained recurrent layers in: state dicts, weight files and PyTorch modules (never unpickles).

A PyTorch model's state dict names its recurrent layer's parameters ``<prefix>weight_ih_l<k>``,
``weight_hh_l<k>``, ``bias_ih_l<k>``, ``bias_hh_l<k>`` (``nn.RNN``/``nn.LSTM``/``nn.GRU``; the
``*Cell`` modules drop the ``_l<k>``), next to the other layers' keys (``fc.weight`` …).
:func:`read_layout` finds the recurrent layer(s) in such a dict, :func:`from_state_dict` builds
the cell (one layer) or :class:`~rnnanalysis.cells.Stack` (several), :func:`load_arrays` reads
``.npy``/``.npz``/``.safetensors`` files (and ``.pt``/``.pth`` through
``torch.load(weights_only=True)`` when PyTorch is installed), :func:`from_torch` reads a module
itself, including what a state dict does not record (``nonlinearity``).
"""

from __future__ import annotations

import logging
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cells import PARAM_NAMES, cell_class

__all__ = ["StateDictLayout", "read_layout", "from_state_dict", "from_torch", "load_arrays",
           "load_weights", "MAX_BYTES"]

log = logging.getLogger("rnnanalysis.io")

#: default cap on the bytes a weight file may expand to (raise it with ``max_bytes=``/``--max-bytes``)
MAX_BYTES = 2 ** 30
TORCH_SUFFIXES = (".pt", ".pth")
GATES_TO_KIND = {1: "elman", 4: "lstm", 3: "gru"}
_KEY = re.compile(r"^(?P<prefix>.*?)(?P<name>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
                  r"(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$")


def _few(keys, k=4) -> str:
    """A short listing: the first ``k`` keys and how many there are in all."""
    keys = sorted(map(str, keys))
    head = ", ".join(keys[:k])
    return head + (f", ... ({len(keys)} in all)" if len(keys) > k else "")


@dataclass(frozen=True)
class StateDictLayout:
    """Where the recurrent layer sits in a state dict.

    prefix: the keys' common prefix (``"rnn."``, ``""``); kind: "elman", "lstm" or "gru";
    layers: number of stacked layers; used_keys / ignored_keys: the keys read and the others;
    candidates: every recurrent prefix found (``prefix=`` chooses among them).
    """

    prefix: str
    kind: str
    layers: int
    used_keys: tuple
    ignored_keys: tuple
    candidates: tuple
    _keys: tuple = ()          # per layer: {parameter name: key}

    def describe(self) -> str:
        """One line: what was read and what was ignored."""
        where = f"prefix {self.prefix!r}" if self.prefix else "no prefix"
        text = (f"{self.kind} x {self.layers} layer(s) from {len(self.used_keys)} keys ({where}: "
                f"{_few(self.used_keys, 2)})")
        if self.ignored_keys:
            text += f"; ignored {len(self.ignored_keys)} other key(s): {_few(self.ignored_keys, 3)}"
        return text


def _infer_kind(shape):
    if len(shape) == 2 and shape[1] > 0 and shape[0] % shape[1] == 0:
        if shape[0] // shape[1] in GATES_TO_KIND:
            return GATES_TO_KIND[shape[0] // shape[1]]
    raise ValueError(f"cannot tell the cell kind from weight_hh of shape {tuple(shape)}; expected (n, n) "
                     f"Elman, (3n, n) GRU or (4n, n) LSTM; pass the kind")


def read_layout(state_dict, kind=None, *, prefix=None) -> StateDictLayout:
    """Find the recurrent layer(s) in a whole state dict (see :class:`StateDictLayout`).

    kind: "elman"/"rnn", "lstm", "gru" (or a layer-norm cell's kind), or None to infer it from
    the shape of ``weight_hh``. prefix: which recurrent layer, when the dict holds several
    (``"encoder.lstm."``; the trailing dot may be left out). Raises ``ValueError`` naming the
    problem: no recurrent keys, several candidates, a missing parameter, a gap in the layer
    numbers, or a bidirectional / ``proj_size`` layer (not supported).
    """
    if not hasattr(state_dict, "keys"):
        raise TypeError(f"state_dict: expected a mapping of arrays, got {type(state_dict).__name__}")
    keys = [k for k in state_dict.keys() if isinstance(k, str)]
    candidates = sorted({m["prefix"] for k in keys if (m := _KEY.match(k)) and m["name"] == "weight_hh"})
    if not candidates:
        raise ValueError(f"state_dict: no recurrent layer found (no key ending in weight_hh or "
                         f"weight_hh_l0) among {len(keys)} key(s): {_few(keys)}")
    if prefix is None:
        if len(candidates) > 1:
            raise ValueError(f"state_dict holds {len(candidates)} recurrent layers; choose one with "
                             f"prefix=, one of {candidates}")
        prefix = candidates[0]
    else:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix: expected a string such as 'rnn.', got {type(prefix).__name__}")
        if prefix not in candidates and prefix + "." in candidates:
            prefix += "."
        if prefix not in candidates:
            raise ValueError(f"prefix: no recurrent layer under {prefix!r}; found {candidates}")
    mine = {}
    for k in keys:
        m = _KEY.match(k)
        if m and m["prefix"] == prefix:
            mine[k] = m
    for feature, test in (("bidirectional layers (keys ending in _reverse)", lambda m: m["reverse"]),
                          ("proj_size (LSTM projection weight_hr)", lambda m: m["name"] == "weight_hr")):
        bad = [k for k, m in mine.items() if test(m)]
        if bad:
            raise ValueError(f"state_dict: {feature} are not supported: {_few(bad, 2)}")
    suffixed = sorted({int(m["layer"]) for m in mine.values() if m["layer"] is not None})
    plain = [k for k, m in mine.items() if m["layer"] is None]
    if suffixed and plain:
        raise ValueError(f"state_dict: keys with and without a layer suffix _l<k> under {prefix!r}: "
                         f"{_few(plain, 2)} and {_few([k for k in mine if k not in plain], 2)}")
    if suffixed and suffixed != list(range(len(suffixed))):
        raise ValueError(f"state_dict: layer numbers under {prefix!r} should run 0, 1, ..., got {suffixed}")
    if kind is None:
        w = state_dict[f"{prefix}weight_hh" + ("_l0" if suffixed else "")]
        kind = _infer_kind(np.shape(w))
    cls = cell_class(kind)
    names = cls.param_names
    per_layer, used = [], []
    for layer in (suffixed or [None]):
        suffix = "" if layer is None else f"_l{layer}"
        found = {name: f"{prefix}{name}{suffix}" for name in names if f"{prefix}{name}{suffix}" in state_dict}
        missing = [f"{prefix}{name}{suffix}" for name in names if name not in found]
        if set(missing) == {f"{prefix}{b}{suffix}" for b in ("bias_ih", "bias_hh")}:
            missing = []                          # a layer built with bias=False: zero biases
        if missing:
            raise ValueError(f"state_dict for {cls.kind}: missing {missing}"
                             + (f" (layer {layer})" if layer is not None else ""))
        per_layer.append(found)
        used += found.values()
    ignored = tuple(sorted(k for k in map(str, state_dict.keys()) if k not in set(used)))
    return StateDictLayout(prefix, cls.kind, len(per_layer), tuple(used), ignored, tuple(candidates),
                           tuple(per_layer))


def _to_numpy(value):
    if hasattr(value, "detach"):                   # a torch.Tensor
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


def from_state_dict(kind, state_dict, activation=None, *, prefix=None, dtype=None):
    """The recurrent layer(s) of a whole PyTorch state dict as a cell, or a ``Stack`` of cells.

    kind: "elman"/"rnn", "lstm", "gru" or None (inferred from ``weight_hh``'s shape). Keys may
    carry any prefix (``rnn.``, ``encoder.lstm.``) and the layer suffix ``_l<k>``; other layers'
    keys are ignored (logged at INFO on the ``rnnanalysis.io`` logger, with the keys used; see
    :func:`read_layout` for the description). ``prefix=`` chooses among several recurrent
    layers. Several layers (``_l0``, ``_l1``, …) give a :class:`~rnnanalysis.cells.Stack`.
    activation: PyTorch's ``nonlinearity`` for ``nn.RNN`` (default "tanh", PyTorch's default;
    a state dict does not record it, :func:`from_torch` does). Values may be NumPy arrays or
    CPU tensors. A layer without biases (``bias=False``) gets zero biases.

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> sd = {f"rnn.{k}": v for k, v in ra.GRU(3, 2, seed=0).state_dict().items()}
        >>> sd["fc.weight"] = np.ones((1, 3))
        >>> ra.from_state_dict("gru", sd)
        GRU(hidden=3, inputs=2, activation='tanh', dtype=float64)
    """
    layout = read_layout(state_dict, kind, prefix=prefix)
    log.info("from_state_dict: %s", layout.describe())
    cls = cell_class(layout.kind)
    cells = []
    for keys in layout._keys:
        params = {name: _to_numpy(state_dict[key]) for name, key in keys.items()}
        if "bias_ih" not in params:
            rows = np.shape(params["weight_hh"])[0]
            dt = params["weight_hh"].dtype if params["weight_hh"].dtype.kind == "f" else None
            params["bias_ih"] = params["bias_hh"] = np.zeros(rows, dtype=dt)
        try:
            cells.append(cls.from_params(params, "tanh" if activation is None else activation, dtype=dtype))
        except (ValueError, TypeError) as exc:
            where = f"layer {len(cells)} ({layout.prefix}…_l{len(cells)}): " if layout.layers > 1 else ""
            raise type(exc)(f"{where}{exc}") from None
    if len(cells) == 1:
        return cells[0]
    from .cells import Stack

    return Stack(cells)


def from_torch(module, *, prefix=None, dtype=None):
    """A cell or ``Stack`` from a PyTorch module (needs torch; reads ``nonlinearity`` too).

    module: an ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (or ``*Cell``), or a model containing one
    (``prefix=`` names the submodule when there are several, e.g. ``"encoder.lstm"``).
    Bidirectional and ``proj_size`` layers are refused with a message naming the feature.
    """
    try:
        import torch.nn as nn
    except ModuleNotFoundError:
        raise ValueError("from_torch needs PyTorch (pip install torch); without it, save the "
                         "state dict as .npz or .safetensors and use from_state_dict") from None
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    kinds = {nn.RNN: "elman", nn.RNNCell: "elman", nn.LSTM: "lstm", nn.LSTMCell: "lstm",
             nn.GRU: "gru", nn.GRUCell: "gru"}
    found = {name: sub for name, sub in module.named_modules() if type(sub) in kinds}
    if not found:
        raise ValueError(f"module: no nn.RNN/LSTM/GRU (or *Cell) inside {type(module).__name__}")
    if prefix is None:
        if len(found) > 1:
            raise ValueError(f"module holds {len(found)} recurrent layers; choose one with prefix=, "
                             f"one of {sorted(found)}")
        name, sub = next(iter(found.items()))
    else:
        name = str(prefix).rstrip(".")
        if name not in found:
            raise ValueError(f"prefix: no recurrent submodule {name!r}; found {sorted(found)}")
        sub = found[name]
    what = f"module {name or type(sub).__name__}"
    if getattr(sub, "bidirectional", False):
        raise ValueError(f"{what}: bidirectional layers are not supported")
    if getattr(sub, "proj_size", 0):
        raise ValueError(f"{what}: proj_size (LSTM projections) is not supported")
    activation = getattr(sub, "nonlinearity", "tanh")
    return from_state_dict(kinds[type(sub)], sub.state_dict(), activation, dtype=dtype)


# ---- files -----------------------------------------------------------------------------------

class _FileProblem(ValueError):
    """A file of the wrong kind or size, described in words (reported as ``<path>: <message>``)."""


def _too_large(max_bytes):
    return _FileProblem(f"it is larger than the limit of {max_bytes / 2**20:.0f} MB "
                        f"(raise it with max_bytes= / --max-bytes)")


def _check_zip_size(path, max_bytes):
    """Refuse a zip (.npz, .pt) whose members expand beyond ``max_bytes`` — before reading them."""
    with zipfile.ZipFile(path) as z:
        total = sum(info.file_size for info in z.infolist())
    if total > max_bytes:
        raise _FileProblem(f"its arrays expand to {total / 2**20:.1f} MB, more than the limit of "
                         f"{max_bytes / 2**20:.0f} MB (raise it with max_bytes= / --max-bytes)")


def _read_npy_npz(path, max_bytes):
    if zipfile.is_zipfile(path):
        _check_zip_size(path, max_bytes)
    elif path.stat().st_size > max_bytes:
        raise _too_large(max_bytes)
    data = np.load(path, allow_pickle=False)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            arrays = {k: data[k] for k in data.files}
        bad = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
        if bad:
            raise _FileProblem(f"a zip whose member(s) {_few(bad, 3)} are not .npy arrays")
        return arrays
    return {"W": data}


def _read_safetensors(path, max_bytes):
    if path.stat().st_size > max_bytes:
        raise _too_large(max_bytes)
    try:
        from safetensors.numpy import load_file
    except ModuleNotFoundError:
        raise _FileProblem("a .safetensors file needs the safetensors package "
                           "(pip install rnnanalysis[safetensors])") from None
    try:
        return load_file(path)
    except Exception as exc:                       # SafetensorError and friends: one message
        raise _FileProblem(f"not a readable .safetensors file ({' '.join(str(exc).split())[:200]})") from None


def _flatten(obj, prefix=""):
    """Nested dicts of tensors (a checkpoint {"model": state_dict, ...}) as one dict with dotted keys."""
    out = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif hasattr(value, "detach") or isinstance(value, np.ndarray):
            out[name] = _to_numpy(value)
    return out


def _read_torch(path, max_bytes):
    try:
        import torch
    except ModuleNotFoundError:
        raise _FileProblem("a PyTorch file (.pt/.pth) needs PyTorch to read (pip install torch); or save "
                         "the state dict with numpy.savez or safetensors") from None
    if zipfile.is_zipfile(path):
        _check_zip_size(path, max_bytes)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:                       # UnpicklingError, RuntimeError: one message
        raise _FileProblem(f"torch.load(weights_only=True) refused it ({' '.join(str(exc).split())[:200]})") \
            from None
    if hasattr(obj, "detach"):
        return {"W": _to_numpy(obj)}
    if not isinstance(obj, dict):
        raise _FileProblem(f"expected a state dict (a mapping of tensors), got {type(obj).__name__}")
    return _flatten(obj)


def _sniff(path) -> str:
    """The format from the first bytes: "npy", "zip" (.npz or a PyTorch zip), "safetensors",
    "pickle" (legacy torch.save / pickle), "text" or "unknown"."""
    with open(path, "rb") as f:
        head = f.read(64)
        size = f.seek(0, 2)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK"):
        return "zip"
    if len(head) >= 9 and head[8:9] == b"{":
        (n,) = struct.unpack("<Q", head[:8])
        if 0 < n <= size - 8:
            return "safetensors"
    if head[:1] == b"\x80":
        return "pickle"
    if head and all(32 <= c < 127 or c in b"\t\r\n" for c in head):
        return "text"
    return "unknown"


def load_arrays(path, *, max_bytes=MAX_BYTES) -> dict:
    """Arrays from a ``.npy`` (key ``"W"``), ``.npz``, ``.safetensors`` or ``.pt``/``.pth`` file.

    The format is read from the file's content. NumPy files are read with
    ``allow_pickle=False``, safetensors with its NumPy API (no torch needed), PyTorch files with
    ``torch.load(weights_only=True)`` only (nested checkpoint dicts flattened to dotted keys);
    a pickle is never loaded otherwise. Big-endian arrays come back in native byte order. A file
    whose arrays expand to more than ``max_bytes`` (default 1 GiB) is refused before reading.
    Raises ``ValueError`` naming the file when it is missing, truncated, corrupt or of another kind.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes: expected a positive integer number of bytes, got {max_bytes!r}")
    try:
        kind = _sniff(path)
        if kind == "safetensors":
            arrays = _read_safetensors(path, max_bytes)
        elif kind == "pickle" or kind == "zip" and _is_torch_zip(path):
            if path.suffix.lower() not in TORCH_SUFFIXES:
                raise _FileProblem("it holds pickled data, which rnnanalysis never loads (only files named "
                                   ".pt/.pth go through torch.load(weights_only=True))")
            arrays = _read_torch(path, max_bytes)
        elif kind in ("npy", "zip"):
            arrays = _read_npy_npz(path, max_bytes)
        elif kind == "text":
            raise _FileProblem("it is a text file, not NumPy's binary .npy/.npz format (save arrays "
                               "with numpy.save or numpy.savez)")
        else:
            raise _FileProblem("not a .npy, .npz, .safetensors or PyTorch file (unrecognised first bytes)")
    except _FileProblem as exc:
        raise ValueError(f"{path}: {exc}") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, zlib.error, struct.error) as exc:
        reason = ("pickled or object data, which rnnanalysis never loads" if "pickle" in str(exc)
                  else " ".join(str(exc).split())[:300] or type(exc).__name__)
        raise ValueError(f"{path}: not a readable weight file ({reason})") from None
    except MemoryError:
        raise ValueError(f"{path}: the array its header describes is too large for memory") from None
    return {k: _native(v) for k, v in arrays.items()}


def _is_torch_zip(path) -> bool:
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("data.pkl") for n in z.namelist())


def _native(arr):
    """The array in native byte order (a big-endian ``>f8`` file is as good as a little-endian one)."""
    return arr.astype(arr.dtype.newbyteorder("=")) if arr.dtype.byteorder not in ("=", "|") else arr


def load_weights(path, kind=None, activation=None, *, prefix=None, max_bytes=MAX_BYTES):
    """A recurrent matrix W (n, n), or a cell / Stack with its layout, from a weight file.

    A file whose arrays carry PyTorch's recurrent names is a state dict and gives
    ``(cell, layout)`` (kind from ``kind`` or from the shape of ``weight_hh``); a file with one
    array gives that array as W and layout None. Errors name the file.
    """
    from ._validate import float_array

    arrays = load_arrays(path, max_bytes=max_bytes)
    try:
        if any(_KEY.match(k) for k in arrays):
            layout = read_layout(arrays, kind, prefix=prefix)
            return from_state_dict(layout.kind, arrays, activation, prefix=layout.prefix), layout
        if len(arrays) != 1:
            raise ValueError(f"expected one matrix or a PyTorch state dict ({', '.join(PARAM_NAMES)}), "
                             f"got {len(arrays)} arrays: {_few(arrays)}")
        (name, value), = arrays.items()
        w = float_array(name, value, ndim=2)
        if w.shape[0] != w.shape[1] or w.shape[0] == 0:
            raise ValueError(f"{name}: expected a non-empty square recurrent matrix (n, n), "
                             f"got shape {w.shape}")
        return w, None
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from None

