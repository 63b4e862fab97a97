"""Checks for users' own cells and our tests alike: Jacobians and VJPs against finite differences."""

from __future__ import annotations

import numpy as np

from .cells import check_cell


def numeric_jacobian(cell, state, x, eps=1e-6):
    """Central finite differences of ``cell.step`` in the state: (B, S, S), numerator layout."""
    state = np.asarray(state, dtype=np.float64)
    cols = []
    for j in range(state.shape[-1]):
        d = np.zeros_like(state)
        d[..., j] = eps
        cols.append((cell.step(state + d, x) - cell.step(state - d, x)) / (2 * eps))
    return np.stack(cols, axis=-1)


def check_jacobian(cell, state, x, *, rtol=1e-6, eps=1e-6):
    """Raise ``AssertionError`` unless ``cell.jacobian`` matches finite differences.

    The test is ``||J - J_fd||_F <= rtol * max(||J_fd||_F, 1e-12)`` per sample, in float64.
    Returns the worst relative error.
    """
    check_cell(cell)
    cell64 = cell.astype(np.float64)
    J = cell64.jacobian(state, x)
    J_fd = numeric_jacobian(cell64, state, x, eps)
    err = np.linalg.norm(J - J_fd, axis=(-2, -1)) / np.maximum(np.linalg.norm(J_fd, axis=(-2, -1)), 1e-12)
    worst = float(np.max(err))
    if worst > rtol:
        raise AssertionError(f"{cell!r}: Jacobian differs from finite differences, relative error "
                             f"{worst:.2e} > rtol {rtol:.1e}")
    return worst
