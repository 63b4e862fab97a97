"""Pascanu et al.'s one-unit network, whose error surface has a "wall": its loss and exact gradient.

``x_t = w sigma(x_{t-1}) + b`` (sigmoid sigma), ``x_0 = 0.5``, loss ``(sigma(x_50) - 0.7)^2``.
With ``h_t = sigma(x_t)`` it is the Elman cell ``h_t = sigma(w h_{t-1} + b)`` with
``h_0 = sigma(0.5)``, so the loss and its gradient come from :func:`rnnanalysis.simulate` and
:func:`rnnanalysis.bptt` over an ensemble of (w, b) in one call:

.. math::
    \\mathcal{E}(w, b) = (h_{50} - 0.7)^2 .

References:
    Pascanu, Mikolov & Bengio (2013), sec. 2.3, eq. 8 and Fig. 6.
"""

from __future__ import annotations

import math

import numpy as np

from ..cells import Elman
from ..simulate import bptt, simulate

__all__ = ["one_unit_loss"]

_STEPS, _X0, _TARGET = 50, 0.5, 0.7


def _one_unit(w, b):
    E = w.size
    params = {
        "weight_ih": np.zeros((E, 1, 1)),
        "weight_hh": w.reshape(E, 1, 1),
        "bias_ih": np.zeros((E, 1)),
        "bias_hh": b.reshape(E, 1),
    }
    return Elman.from_params(params, "sigmoid")


def one_unit_loss(w, b, *, steps=_STEPS):
    """Loss (E,) and gradient (E, 2) = (dE/dw, dE/db) of the one-unit net at the points (w, b), each (E,)."""
    w = np.atleast_1d(np.asarray(w, float))
    b = np.broadcast_to(np.asarray(b, float), w.shape).copy()
    cell = _one_unit(w, b)
    xs = np.zeros((steps, 1, 1))
    h0 = np.full((1, 1), 1.0 / (1.0 + math.exp(-_X0)))
    hT = simulate(cell, xs, h0).states[:, -1, 0, 0]
    res = bptt(cell, xs, (2.0 * (hT - _TARGET)).reshape(-1, 1, 1), h0, input_grads=False)
    grad = np.stack([res.grads["weight_hh"].reshape(-1), res.grads["bias_hh"].reshape(-1)], axis=-1)
    return (hT - _TARGET) ** 2, grad
