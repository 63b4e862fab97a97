"""Check a derived Jacobian against SymPy's ``Matrix.jacobian`` of the explicit entrywise
equations, independently of the rules in :mod:`.calculus`.

At n = 2, 3 every equation ``v = expr(s_{t-1}, x_t, earlier intermediates)`` is written out
entry by entry and differentiated by ``Matrix.jacobian`` (SymPy's scalar rules); the scalar
chain rule ``dv/ds = ∂v/∂s + Σ_u ∂v/∂u · du/ds`` composes them at random points, where the
derived matrix expression is evaluated too.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy

from .evaluate import SympyBackend, evaluate

__all__ = ["verify_against_entrywise"]

_M = 2          # input size used by the check


def _symbols(name, rows, cols):
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}[{i},{j}]", real=True))


def _mp(value):
    """An mpmath matrix as a NumPy object array of mpf (matmul keeps the working precision)."""
    return np.array(mpmath.matrix(value).tolist(), dtype=object)


def verify_against_entrywise(spec, jacobian, sizes=(2, 3), points=3, seed=0, rtol=1e-25) -> float:
    """Worst relative difference between ``jacobian`` and the entrywise chain of ``Matrix.jacobian``,
    both evaluated in 40-digit arithmetic (mpmath), so ill-conditioned points cannot hide a bug."""
    with mpmath.workdps(40):
        worst = _worst_difference(spec, jacobian, sizes, points, np.random.default_rng(seed))
    if worst > rtol:
        raise AssertionError(f"{spec.name}: derived Jacobian differs from Matrix.jacobian of the entrywise "
                             f"equations, relative difference {worst:.2e} > {rtol:.0e}")
    return worst


def _worst_difference(spec, jacobian, sizes, points, rng):
    worst = 0.0
    for n in sizes:
        sizes_map = {spec.n: n, spec.m: _M}
        backend = SympyBackend(spec)
        env = {name: _symbols(name, *(int(sympy.sympify(d).subs(sizes_map)) for d in sym.shape))
               for name, sym in spec.symbols.items()}
        state = sympy.Matrix.vstack(*(env[spec.prev_state(k).name] for k in spec.states))
        free = sorted(set().union(*(env[nm].free_symbols for nm, role in spec.roles.items()
                                    if role not in ("define", "state_new"))), key=str)
        equations = []          # (name, value fn, used intermediates, [(u, dv/du fn)], dv/ds fn)
        for sym, expr in spec.definitions:
            explicit = evaluate(expr, env, backend, sizes_map)
            names = {s.name for s in expr.atoms(sympy.MatrixSymbol)}
            used = [u for u, _ in spec.definitions if u.name in names]
            args = free + [s for u in used for s in env[u.name]]
            partial_u = [(u.name, sympy.lambdify(args, explicit.jacobian(env[u.name]), "mpmath"))
                         for u in used]
            equations.append((sym.name, sympy.lambdify(args, explicit, "mpmath"), used,
                              partial_u, sympy.lambdify(args, explicit.jacobian(state), "mpmath")))
        rules_args = free + [s for sym, _ in spec.definitions for s in env[sym.name]]
        rules = sympy.lambdify(rules_args, evaluate(jacobian, env, backend, sizes_map), "mpmath")
        for _ in range(points):
            point = [mpmath.mpf(v) for v in rng.uniform(-1.5, 1.5, len(free))]
            values, jac = {}, {}
            for name, value_fn, used, partial_u, partial_s in equations:
                args = point + [v for u in used for v in values[u.name]]
                values[name] = _mp(value_fn(*args)).ravel()
                jac[name] = _mp(partial_s(*args)) + sum((_mp(fn(*args)) @ jac[u] for u, fn in partial_u), 0)
            reference = np.vstack([jac[spec.new_state(k).name] for k in spec.states])
            inner = [v for sym, _ in spec.definitions for v in values[sym.name]]
            derived = _mp(rules(*(point + inner)))
            scale = max(max(abs(v) for v in reference.ravel()), mpmath.mpf(10) ** -300)
            err = float(max(abs(v) for v in (reference - derived).ravel()) / scale)
            worst = max(worst, err)
    return worst
