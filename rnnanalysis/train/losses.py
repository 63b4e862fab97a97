"""Losses on readout outputs, each returned with its exact gradient.

Both average over every scored element (PyTorch's ``reduction="mean"``).

.. math::
    \\mathrm{MSE} = \\frac{1}{N}\\sum (y - t)^2, \\qquad
    \\mathrm{CE} = -\\frac{1}{N}\\sum_j \\log \\operatorname{softmax}(z_j)_{c_j} \\;\\text{(nats)}
"""

from __future__ import annotations

import numpy as np

__all__ = ["mse", "cross_entropy", "LOSSES"]


def mse(outputs, targets):
    """outputs, targets: (..., k) -> (loss, d loss / d outputs)."""
    diff = outputs - targets
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def cross_entropy(logits, labels):
    """logits: (..., k); labels: (...) class indices -> (loss in nats, d loss / d logits)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    flat = log_p.reshape(-1, log_p.shape[-1])
    idx = labels.reshape(-1)
    N = idx.size
    loss = -float(flat[np.arange(N), idx].mean())
    grad = np.exp(log_p)
    grad.reshape(-1, grad.shape[-1])[np.arange(N), idx] -= 1.0
    return loss, grad / N


LOSSES = {"mse": mse, "ce": cross_entropy}
