"""State layout of a cell: inputs and initial states checked and put in the internal time-major layout.

Public layout: xs ``(T, B, m)`` (or ``(E, T, B, m)`` for an ensemble cell with per-member
inputs); h0 ``(B, n)``, or the full state ``(B, S)`` (LSTM: h then c), with a leading ``E``
for ensembles. Internal layout: ``(T, *lead, m)`` and ``(*lead, S)``, lead = (E, B) or (B,).
"""

from __future__ import annotations

import numpy as np

from .._validate import float_array


def prepare_inputs(cell, xs, name="xs"):
    """xs as (T, B, m) or, for an ensemble with per-member inputs, (T, E, B, m)."""
    ens = cell.ensemble
    expected = "(T, B, m)" + (" or (E, T, B, m)" if ens is not None else "")
    xs = float_array(name, xs, ndim=(3, 4) if ens is not None else 3)
    if xs.ndim == 4:
        if xs.shape[0] != ens:
            raise ValueError(f"{name}: expected {expected} with E={ens}, got shape {xs.shape}")
        xs = np.moveaxis(xs, 0, 1)
    if xs.shape[0] == 0:
        raise ValueError(f"{name}: sequence length T must be >= 1, got shape {xs.shape}")
    if xs.shape[-2] == 0:
        raise ValueError(f"{name}: batch size B must be >= 1, got shape {xs.shape}")
    if xs.shape[-1] != cell.inputs:
        raise ValueError(f"{name}: expected {expected} with m={cell.inputs} inputs, got shape "
                         f"{xs.shape if xs.ndim == 3 else (xs.shape[1], xs.shape[0]) + xs.shape[2:]}")
    return np.ascontiguousarray(xs, dtype=cell.dtype)


def lead_shape(cell, batch):
    """The leading axes of the internal state: (B,), or (E, B) for an ensemble cell."""
    return (batch,) if cell.ensemble is None else (cell.ensemble, batch)


def prepare_state(cell, h0, batch, name="h0"):
    """The initial state (*lead, S); h0 may give h only (LSTM: c0 = 0; a Stack: the top layer's
    h, the other layers 0) or the full state."""
    lead = lead_shape(cell, batch)
    S, n = cell.state_size, cell.hidden
    s0 = np.zeros(lead + (S,), dtype=cell.dtype)
    if h0 is None:
        return s0
    h0 = float_array(name, h0, dtype=cell.dtype)
    sizes = {n, S}
    ok = h0.ndim >= 1 and h0.shape[-1] in sizes and h0.ndim <= len(lead) + 1
    if ok:
        try:
            part = slice(None) if h0.shape[-1] == S else cell.output_slice   # h only: the rest 0
            s0[..., part] = np.broadcast_to(h0, lead + (h0.shape[-1],))
        except ValueError:
            ok = False
    if not ok:
        want = " or ".join(f"{lead + (k,)}" for k in sorted(sizes))
        raise ValueError(f"{name}: expected shape {want} (or broadcastable to it), got {h0.shape}")
    return s0


def to_public(arr, cell):
    """Move the ensemble axis to the front of an internal (T, E, ...) array."""
    if cell.ensemble is None:
        return arr
    return np.moveaxis(arr, 1, 0)
