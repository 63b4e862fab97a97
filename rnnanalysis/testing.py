"""Checks for users' own cells and our tests alike: Jacobians and VJPs against finite differences.

:func:`check_vjp` checks a cell's one-step adjoint (``cell.vjp``) for the state, the input and every
parameter; :func:`check_jacobian` its state Jacobian; :func:`numeric_gradient` is the central
difference of any scalar function at every entry, for gradients through whole sequences.
"""

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


def numeric_gradient(f, x, eps=1e-6):
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` of a scalar f at every entry."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        out[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return out


def check_vjp(cell, state=None, x=None, *, batch=2, seed=0, eps=1e-6, rtol=1e-6):
    """Raise ``AssertionError`` unless ``cell.vjp`` matches finite differences of ``cell.step``.

    After autograd's ``check_vjp``: with one random cotangent g on s_t and, for each argument a
    (the state, the input x, every parameter), one random direction d, the directional derivative
    of the scalar ``<g, F(s, x; p)>`` by central differences,
    ``(<g, F(a + eps d)> - <g, F(a - eps d)>) / (2 eps)``, must equal ``<vjp_a, d>`` to

        |<vjp_a, d> - fd| <= rtol * max(||vjp_a|| ||d||, |fd|, 1e-12)

    in float64. ``state`` (B, S) and ``x`` (B, m) default to standard normal draws (``batch``,
    ``seed``; ensemble cells: (E, B, S) and per-member inputs (E, B, m)). Works for any cell
    keeping the one-step contract: ``step``, ``vjp``, ``params``, ``with_params``, ``state_size``
    and ``inputs``. Returns ``{argument: relative error}``.

        >>> import rnnanalysis as ra
        >>> from rnnanalysis.testing import check_vjp
        >>> errors = check_vjp(ra.LSTM(4, 3, seed=0))
        >>> sorted(errors)
        ['bias_hh', 'bias_ih', 'state', 'weight_hh', 'weight_ih', 'x']
        >>> max(errors.values()) < 1e-6
        True

    A deliberately wrong VJP (the input gradient doubled) fails, naming the argument:

        >>> class Wrong(ra.Elman):
        ...     def vjp(self, state, x, g):
        ...         g_state, g_x, grads = super().vjp(state, x, g)
        ...         return g_state, 2 * g_x, grads
        >>> check_vjp(Wrong(4, 3, seed=0))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        AssertionError: Wrong(...): vjp differs from finite differences of step (rtol 1.0e-06): x ...
    """
    if not all(hasattr(cell, a) for a in ("step", "vjp", "params", "with_params")):
        raise TypeError(f"cell: expected a cell with step, vjp, params and with_params, "
                        f"got {type(cell).__name__}")
    cell = cell.astype(np.float64) if hasattr(cell, "astype") else cell
    rng = np.random.default_rng(seed)
    lead = (batch,) if getattr(cell, "ensemble", None) is None else (cell.ensemble, batch)
    s = rng.standard_normal(lead + (cell.state_size,)) if state is None else np.asarray(state, np.float64)
    x = rng.standard_normal(lead + (cell.inputs,)) if x is None else np.asarray(x, np.float64)
    g = rng.standard_normal(np.shape(cell.step(s, x)))
    g_state, g_x, grads = cell.vjp(s, x, g)
    params = {k: np.asarray(v, dtype=np.float64) for k, v in cell.params.items()}
    if set(grads) != set(params):
        raise AssertionError(f"{cell!r}: vjp returned gradients for {sorted(grads)}, "
                             f"the cell has parameters {sorted(params)}")

    def loss(s=s, x=x, c=cell):
        return float(np.sum(g * c.step(s, x)))

    def along(name, value, f):
        d = rng.standard_normal(np.shape(value))
        fd = (f(value + eps * d) - f(value - eps * d)) / (2 * eps)
        got = np.asarray(analytic[name], dtype=np.float64)
        if got.shape != d.shape:
            raise AssertionError(f"{cell!r}: vjp gradient for {name} has shape {got.shape}, "
                                 f"expected {d.shape}")
        dot = float(np.sum(got * d))
        return abs(dot - fd) / max(float(np.linalg.norm(got) * np.linalg.norm(d)), abs(fd), 1e-12)

    analytic = {"state": g_state, "x": g_x, **grads}
    errors = {"state": along("state", s, lambda v: loss(s=v)), "x": along("x", x, lambda v: loss(x=v))}
    for name, value in params.items():
        errors[name] = along(name, value, lambda v, name=name: loss(c=cell.with_params({**params, name: v})))
    bad = {k: e for k, e in errors.items() if not e <= rtol}
    if bad:
        worst = sorted(bad.items(), key=lambda kv: -kv[1])
        raise AssertionError(f"{cell!r}: vjp differs from finite differences of step (rtol {rtol:.1e}): "
                             + ", ".join(f"{k} {e:.2e}" for k, e in worst))
    return errors
