"""The lambdified Jacobian: ``f(params, state, x) -> J`` in numerator layout (NumPy).

``params`` uses PyTorch's names and layouts when the spec has a layout (built-in cells:
``weight_ih (G n, m)``, ``weight_hh (G n, n)``, ``bias_ih (G n,)``, ``bias_hh (G n,)``), else
the spec's own parameter keys. ``state``: (B, S) or (S,) with S = n × (number of states), LSTM's
``(h, c)`` stacked; ``x``: (B, m) or (m,). Returns (B, S, S), or (S, S) for unbatched input.
"""

from __future__ import annotations

import numpy as np

from .._validate import float_array
from .evaluate import NumpyBackend, evaluate, evaluate_definitions

__all__ = ["make_jacobian_function"]


def _groups(spec):
    """[(name given by the user, [block keys])]: PyTorch names when the spec has a layout."""
    if spec.layout:
        return list(spec.layout.items())
    return [(k, [k]) for k in spec.params]


def _bind(spec, params):
    if not hasattr(params, "keys"):
        raise TypeError(f"params: expected a mapping of arrays, got {type(params).__name__}")
    groups = _groups(spec)
    expected = [g for g, _ in groups]
    missing, extra = sorted(set(expected) - set(params.keys())), sorted(set(params.keys()) - set(expected))
    if missing or extra:
        raise ValueError(f"params for {spec.name}: missing keys {missing}, unexpected keys {extra}; "
                         f"expected exactly {expected}")
    dims: dict[str, int] = {}
    arrays = {}
    for name, blocks in groups:
        sym = spec.symbols[blocks[0]]
        cols = {spec.n: "n", spec.m: "m"}.get(sym.shape[1])          # None for a bias (n x 1)
        arr = float_array(f"params[{name!r}]", params[name], ndim=2 if cols else 1)
        arr = arr.astype(np.float64, copy=False)
        arrays[name] = (arr, blocks, cols)
    # n from the first n x n weight (its columns), else from the rows of the first group
    for arr, _, cols in arrays.values():
        if cols == "n":
            dims.setdefault("n", arr.shape[1])
        elif cols == "m":
            dims.setdefault("m", arr.shape[1])
    first, blocks, _ = next(iter(arrays.values()))
    n = dims.setdefault("n", first.shape[0] // len(blocks))
    env = {}
    for name, (arr, blocks, cols) in arrays.items():
        want = (len(blocks) * n, dims[cols]) if cols else (len(blocks) * n,)
        if arr.shape != want:
            raise ValueError(f"params[{name!r}]: expected shape {want} for {spec.name} with n={n}"
                             f"{', m=' + str(dims['m']) if 'm' in dims else ''}, got {arr.shape}")
        for b, key in enumerate(blocks):
            block = arr[b * n:(b + 1) * n]
            env[key] = block if cols else block[:, None]
    return env, dims


def make_jacobian_function(spec, jacobian):
    """Compile ``jacobian`` (a matrix expression of ``spec``) into ``f(params, state, x) -> J``."""
    backend = NumpyBackend(spec)
    states = list(spec.states)
    input_names = [s for s, r in spec.roles.items() if r == "input"]

    def jacobian_function(params, state, x):
        env, dims = _bind(spec, params)
        n = dims["n"]
        S = n * len(states)
        state = float_array("state", state, ndim=(1, 2)).astype(np.float64, copy=False)
        if state.shape[-1] != S:
            what = f"{' and '.join(states)} stacked, " if len(states) > 1 else ""
            raise ValueError(f"state: expected shape (B, {S}) or ({S},) ({what}n={n} from the parameters) "
                             f"for {spec.name}, got {state.shape}")
        x = float_array("x", x, ndim=(1, 2)).astype(np.float64, copy=False)
        m = dims.setdefault("m", x.shape[-1])
        if x.shape[-1] != m:
            raise ValueError(f"x: expected shape (B, {m}) or ({m},) (m={m} from the parameters), "
                             f"got {x.shape}")
        try:
            batch = np.broadcast_shapes(state.shape[:-1], x.shape[:-1])
        except ValueError:
            raise ValueError(f"state and x: batch sizes differ, got {state.shape} and {x.shape}") from None
        for i, key in enumerate(states):
            env[spec.prev_state(key).name] = state[..., i * n:(i + 1) * n, None]
        for name in input_names:
            env[name] = x[..., None]
        sizes = {spec.n: n, spec.m: m}
        values = evaluate_definitions(spec, env, backend, sizes)
        J = np.broadcast_to(evaluate(jacobian, values, backend, sizes), batch + (S, S)).copy()
        return J

    jacobian_function.__doc__ = (f"Jacobian d s_t / d s_(t-1) of the {spec.name} cell (numerator layout). "
                                 "params: " + ", ".join(g for g, _ in _groups(spec)) +
                                 "; state: (B, S) or (S,); x: (B, m) or (m,) -> (B, S, S) or (S, S).")
    return jacobian_function
