"""Pascanu's vanishing-gradient regulariser Omega (2013, eqs. 9-10) for Elman cells.

With adjoints ``delta_k = dL/dh_k`` from the backward pass and ``J_k = diag(phi'(a_k)) W_hh``:

.. math::
    \\Omega = \\frac1B \\sum_b \\sum_{k=0}^{T-1}
    \\Big(\\frac{\\lVert \\delta_{k+1} J_{k+1} \\rVert}{\\lVert \\delta_{k+1}\\rVert} - 1\\Big)^2,
    \\qquad
    \\frac{\\partial\\Omega}{\\partial W_{hh}} = \\frac1B\\sum_{b,k}
    \\frac{2(r_k - 1)}{\\lVert\\delta_{k+1}\\rVert\\,\\lVert u_k\\rVert} v_k^\\top u_k

where ``v_k = delta_{k+1} * phi'(a_{k+1})``, ``u_k = v_k W_hh``, ``r_k`` the ratio. Omega does not change
when ``delta_{k+1}`` is scaled, so each is first divided by its largest entry: adjoints of 1e-160
(vanishing gradients, the case Omega is for) neither underflow nor overflow. As eq. 10
prescribes, ``delta`` and the states (hence ``phi'(a)``) are held constant: only the explicit
``W_hh`` is differentiated. Terms with ``delta_{k+1} = 0`` are skipped. Use it with clipping.

References:
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", sec. 3.3, eqs. 9-10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._results import Result
from .._validate import finite_float
from ..cells import Elman

__all__ = ["Omega", "omega", "OmegaPenalty", "OmegaState"]


@dataclass(frozen=True)
class Omega(Result):
    """value: Omega; grad_weight_hh: dOmega/dW_hh (n, n) with delta and states held constant."""

    value: float
    grad_weight_hh: np.ndarray


def omega(cell, xs, states, adjoints) -> Omega:
    """Omega for an Elman ``cell`` given xs (T, B, m), states (T+1, B, n), adjoints (T+1, B, n)."""
    if type(cell) is not Elman:
        raise TypeError(f"cell: Omega is defined for plain Elman cells (Pascanu 2013), "
                        f"got {type(cell).__name__}")
    p = cell.params
    W = p["weight_hh"]
    a = xs @ p["weight_ih"].T + states[:-1] @ W.T + (p["bias_ih"] + p["bias_hh"])
    delta = adjoints[1:]
    peak = np.max(np.abs(delta), axis=-1, keepdims=True)
    delta = delta / np.where(peak > 0, peak, 1.0)          # Omega is invariant to the scale of delta
    d_norm = np.linalg.norm(delta, axis=-1, keepdims=True)
    live = d_norm[..., 0] > 0
    v = delta * cell.activation.df(a) / np.where(live[..., None], d_norm, 1.0)
    u = v @ W
    ratio = np.where(live, np.linalg.norm(u, axis=-1), 1.0)
    B = xs.shape[1]
    value = float(((ratio - 1.0) ** 2).sum() / B)
    coef = np.where(live & (ratio > 0), 2.0 * (ratio - 1.0) / np.where(ratio > 0, ratio, 1.0), 0.0) / B
    grad = (coef[..., None] * v).reshape(-1, v.shape[-1]).T @ u.reshape(-1, u.shape[-1])
    return Omega(value, grad)


class OmegaState(NamedTuple):
    """value: Omega at the last update (per member for an ensemble); NaN before the first."""

    value: float | np.ndarray


@dataclass(frozen=True)
class OmegaPenalty:
    """Add ``weight * dOmega/dW_hh`` to the ``weight_hh`` gradient (a gradient transformation).

    Needs the step's forward and backward pass in ``context``
    (:class:`~rnnanalysis.train.transform.StepContext`: core, xs, states, adjoints). Pascanu et
    al. use it together with clipping: ``chain(OmegaPenalty(2.0), ClipByGlobalNorm(1.0), SGD(0.01))``.
    """

    weight: float

    def __post_init__(self):
        finite_float("omega_weight", self.weight, at_least=0)

    def init(self, params) -> OmegaState:
        return OmegaState(math.nan)

    def update(self, grads, state, params=None, *, context=None):
        if context is None or context.adjoints is None:
            raise ValueError("context: Omega needs the step's core, xs, states and adjoints (a StepContext)")
        E, core = context.ensemble, context.core
        if E is None:
            terms = [omega(core, context.xs, context.states, context.adjoints)]
        else:
            p = core.params
            terms = [omega(type(core).from_params({k: v[e] for k, v in p.items()}, core.activation),
                           context.xs[e], context.states[e], context.adjoints[e]) for e in range(E)]
        extra = terms[0].grad_weight_hh if E is None else np.stack([t.grad_weight_hh for t in terms])
        out = dict(grads)
        out["weight_hh"] = grads["weight_hh"] + float(self.weight) * extra
        values = [t.value for t in terms]
        return out, OmegaState(values[0] if E is None else np.array(values))
