"""Check a derived Jacobian against SymPy's ``Matrix.jacobian`` of the explicit entrywise
equations, independently of the rules in :mod:`.calculus`.

At n = 2, 3 every equation ``v = expr(s_{t-1}, x_t, earlier intermediates)`` is written out
entry by entry and differentiated by ``Matrix.jacobian`` (SymPy's scalar rules); the scalar
chain rule ``dv/ds = ∂v/∂s + Σ_u ∂v/∂u · du/ds`` composes them at random points, where the
derived matrix expression is evaluated too.
"""

from __future__ import annotations

import numpy as np
import sympy

from .evaluate import SympyBackend, evaluate

__all__ = ["verify_against_entrywise"]

_M = 2          # input size used by the check


def _symbols(name, rows, cols):
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}[{i},{j}]", real=True))


def verify_against_entrywise(spec, jacobian, sizes=(2, 3), points=3, seed=0, rtol=1e-10) -> float:
    """Worst relative difference between ``jacobian`` and the entrywise chain of ``Matrix.jacobian``."""
    rng = np.random.default_rng(seed)
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
            partial_u = [(u.name, sympy.lambdify(args, explicit.jacobian(env[u.name]), "numpy"))
                         for u in used]
            equations.append((sym.name, sympy.lambdify(args, explicit, "numpy"), used,
                              partial_u, sympy.lambdify(args, explicit.jacobian(state), "numpy")))
        rules_args = free + [s for sym, _ in spec.definitions for s in env[sym.name]]
        rules = sympy.lambdify(rules_args, evaluate(jacobian, env, backend, sizes_map), "numpy")
        for _ in range(points):
            point = list(rng.uniform(-1.5, 1.5, len(free)))
            values, jac = {}, {}
            for name, value_fn, used, partial_u, partial_s in equations:
                args = point + [v for u in used for v in values[u.name]]
                values[name] = np.asarray(value_fn(*args), float).ravel()
                jac[name] = np.asarray(partial_s(*args), float) + sum(
                    (np.asarray(fn(*args), float) @ jac[u] for u, fn in partial_u), 0.0)
            reference = np.vstack([jac[spec.new_state(k).name] for k in spec.states])
            inner = [v for sym, _ in spec.definitions for v in values[sym.name]]
            derived = np.asarray(rules(*(point + inner)), float)
            err = float(np.max(np.abs(reference - derived)) / max(np.max(np.abs(reference)), 1e-300))
            worst = max(worst, err)
    if worst > rtol:
        raise AssertionError(f"{spec.name}: derived Jacobian differs from Matrix.jacobian of the entrywise "
                             f"equations, relative difference {worst:.2e} > {rtol:.0e}")
    return worst
