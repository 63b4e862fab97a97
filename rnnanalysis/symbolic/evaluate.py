"""Evaluate a spec's matrix expressions on concrete values: NumPy (batched) or explicit SymPy.

The same tree walk serves :meth:`Derivation.lambdify` (NumPy arrays ``(B, rows, cols)``,
parameters ``(rows, cols)`` broadcast over the batch) and the verification against
``Matrix.jacobian`` of the explicit entrywise equations (SymPy matrices at n = 2, 3).
"""

from __future__ import annotations

import functools
import operator

import numpy as np
import sympy
from sympy import (
    BlockMatrix,
    DiagMatrix,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)

from .expr import Apply, Normalize, NormalizeJacobian

__all__ = ["NumpyBackend", "SympyBackend", "evaluate", "evaluate_definitions"]


class NumpyBackend:
    """Arrays ``(..., rows, cols)``; elementwise maps through the activations' ``f`` and ``df``."""

    def __init__(self, spec):
        self.spec = spec

    def const(self, kind, rows, cols):
        return {"I": np.eye(rows), "0": np.zeros((rows, cols)), "1": np.ones((rows, cols))}[kind]

    def matmul(self, a, b):
        return a @ b

    def hadamard(self, a, b):
        return a * b

    def diag(self, v):
        return v * np.eye(v.shape[-2])

    def transpose(self, a):
        return np.swapaxes(a, -1, -2)

    def apply(self, fname, order, a):
        act = self.spec.activations[fname]
        if order == 0:
            return act.f(a)
        if order == 1:
            return act.df(a)
        raise ValueError(f"{fname}: numeric derivatives of order {order} are not available (only f and f')")

    def normalize(self, v, eps, jacobian=False):
        c = v - v.mean(axis=-2, keepdims=True)
        sd = np.sqrt((c * c).mean(axis=-2, keepdims=True) + eps)
        y = c / sd
        if not jacobian:
            return y
        n = v.shape[-2]
        return (np.eye(n) - (1.0 + y @ np.swapaxes(y, -1, -2)) / n) / sd

    def block(self, rows):
        lead = np.broadcast_shapes(*(b.shape[:-2] for row in rows for b in row))
        rows = [[np.broadcast_to(b, lead + b.shape[-2:]) for b in row] for row in rows]
        return np.concatenate([np.concatenate(row, axis=-1) for row in rows], axis=-2)


class SympyBackend:
    """Explicit SymPy matrices; elementwise maps through the activations' SymPy forms."""

    def __init__(self, spec):
        self.spec = spec

    def const(self, kind, rows, cols):
        return {"I": sympy.eye(rows), "0": sympy.zeros(rows, cols), "1": sympy.ones(rows, cols)}[kind]

    def matmul(self, a, b):
        return a * b

    def hadamard(self, a, b):
        return a.multiply_elementwise(b)

    def diag(self, v):
        return sympy.diag(*v)

    def transpose(self, a):
        return a.T

    def apply(self, fname, order, a):
        act = self.spec.activations[fname]
        fn = act.sympy if order == 0 else act.sympy_df if order == 1 else None
        if fn is None:
            raise ValueError(f"{fname}: activation {act.name!r} has no SymPy form of derivative "
                             f"order {order}")
        return a.applyfunc(fn)

    def normalize(self, v, eps, jacobian=False):
        n = v.shape[0]
        c = v - sympy.ones(n, 1) * (sum(v) / n)
        sd = sympy.sqrt(sum(e ** 2 for e in c) / n + sympy.Float(eps))
        y = c / sd
        if not jacobian:
            return y
        return (sympy.eye(n) - (sympy.ones(n, n) + y * y.T) / n) / sd

    def block(self, rows):
        return sympy.Matrix(sympy.BlockMatrix(rows).as_explicit())


def evaluate(expr, env: dict, backend, sizes: dict):
    """The value of ``expr`` given values of its MatrixSymbols in ``env`` (by name)."""
    ev = functools.partial(evaluate, env=env, backend=backend, sizes=sizes)
    if isinstance(expr, MatrixSymbol):
        return env[expr.name]
    if isinstance(expr, MatAdd):
        return functools.reduce(operator.add, (ev(t) for t in expr.args))
    if isinstance(expr, MatMul):
        coeff = [f for f in expr.args if not hasattr(f, "shape")]
        mats = [ev(f) for f in expr.args if hasattr(f, "shape")]
        value = functools.reduce(backend.matmul, mats)
        for c in coeff:
            value = value * (float(c) if isinstance(backend, NumpyBackend) else c)
        return value
    if isinstance(expr, HadamardProduct):
        return functools.reduce(backend.hadamard, (ev(f) for f in expr.args))
    if isinstance(expr, DiagMatrix):
        return backend.diag(ev(expr.args[0]))
    if isinstance(expr, Apply):
        return backend.apply(expr.fname, expr.order, ev(expr.arg))
    if isinstance(expr, (Normalize, NormalizeJacobian)):
        return backend.normalize(ev(expr.arg), expr.eps, jacobian=isinstance(expr, NormalizeJacobian))
    if isinstance(expr, Transpose):
        return backend.transpose(ev(expr.arg))
    if isinstance(expr, (Identity, ZeroMatrix, OneMatrix)):
        rows, cols = (int(sympy.sympify(d).subs(sizes)) for d in expr.shape)
        kind = {Identity: "I", ZeroMatrix: "0", OneMatrix: "1"}[type(expr)]
        return backend.const(kind, rows, cols)
    if isinstance(expr, BlockMatrix):
        return backend.block([[ev(b) for b in row] for row in expr.blocks.tolist()])
    raise ValueError(f"cannot evaluate {type(expr).__name__} {expr}")


def evaluate_definitions(spec, env: dict, backend, sizes: dict) -> dict:
    """``env`` extended by the values of all intermediates and new states, in order."""
    env = dict(env)
    for sym, expr in spec.definitions:
        env[sym.name] = evaluate(expr, env, backend, sizes)
    return env
