"""Activation functions: value f, derivative f', the bound gamma = sup|f'| and a SymPy form.

Every activation is an :class:`Activation`; strings name the built-ins::

    >>> from rnnanalysis.activations import get_activation
    >>> act = get_activation("sigmoid")
    >>> act.gamma
    0.25

References:
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", sec. 2.1: gamma = sup|sigma'| (1 for tanh, 1/4 for the logistic sigmoid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._validate import finite_float

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "custom_activation", "leaky_relu", "derivative",
           "sigmoid"]


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity phi with its derivative and derivative bound.

    ``f(a, out=None)`` and ``df(a, out=None)`` act elementwise on NumPy arrays of
    pre-activations (``out=a`` overwrites them in place, which saves allocating);
    ``gamma`` is sup_a |phi'(a)|; ``sympy`` maps a SymPy expression to phi(expression)
    (``None`` when the activation has no symbolic form); ``sympy_df`` likewise for phi'.
    ``df_from_output(y, out=None)``, where known, gives phi'(a) from y = phi(a) (tanh:
    1 - y^2), which is cheaper than recomputing phi.
    """

    name: str
    f: Callable[..., np.ndarray] = field(repr=False)
    df: Callable[..., np.ndarray] = field(repr=False)
    gamma: float
    sympy: Callable | None = field(default=None, repr=False, compare=False)
    sympy_df: Callable | None = field(default=None, repr=False, compare=False)
    df_from_output: Callable | None = field(default=None, repr=False, compare=False)

    def __call__(self, a: np.ndarray) -> np.ndarray:
        return self.f(a)


def _out(out, like):
    return np.empty_like(like) if out is None else out


def _dtanh(a, out=None):
    t = np.tanh(a, out=_out(out, a))
    np.multiply(t, t, out=t)
    return np.subtract(1.0, t, out=t)


def _dtanh_y(y, out=None):
    out = np.multiply(y, y, out=_out(out, y))
    return np.subtract(1.0, out, out=out)


def _dsigmoid_y(y, out=None):
    return np.multiply(y, np.subtract(1.0, y), out=_out(out, y))


def _sigmoid(a, out=None):
    """Logistic sigmoid ``1 / (1 + exp(-a))`` in place: as accurate as scipy's expit relatively
    (``tests/test_activations.py``) and faster than it. Below a = -709 (float64) / -88 (float32)
    exp(-a) overflows and the result is 0, where the true value is under the smallest normal
    number."""
    out = np.negative(a, out=_out(out, a))
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    np.add(out, 1.0, out=out)
    return np.reciprocal(out, out=out)


def _dsigmoid(a, out=None):
    s = _sigmoid(a, out=out)
    return np.multiply(s, np.subtract(1.0, s), out=s)


def _relu(a, out=None):
    return np.maximum(a, 0.0, out=_out(out, a))


def _drelu(a, out=None):
    return np.heaviside(a, 0.0, out=_out(out, a))


def _linear(a, out=None):
    out = _out(out, a)
    if out is not a:
        np.copyto(out, a)
    return out


def _dlinear(a, out=None):
    out = _out(out, a)
    out.fill(1.0)
    return out


def _sym_tanh(e):
    import sympy

    return sympy.tanh(e)


def _sym_dtanh(e):
    import sympy

    return 1 - sympy.tanh(e) ** 2


def _sym_sigmoid(e):
    import sympy

    return 1 / (1 + sympy.exp(-e))


def _sym_dsigmoid(e):
    s = _sym_sigmoid(e)
    return s * (1 - s)


def _sym_relu(e):
    import sympy

    return sympy.Max(e, 0)


def _sym_drelu(e):
    import sympy

    return sympy.Heaviside(e, 0)


def _sym_linear(e):
    return e


def _sym_dlinear(e):
    import sympy

    return sympy.Integer(1)


def leaky_relu(slope: float = 0.01) -> Activation:
    """Leaky ReLU ``phi(a) = a`` for a > 0 and ``slope * a`` otherwise; gamma = max(1, |slope|)."""
    slope = finite_float("slope", slope)

    def f(a, out=None):
        out = _out(out, a)
        np.multiply(a, np.where(a > 0, 1.0, slope), out=out)
        return out

    def df(a, out=None):
        out = _out(out, a)
        out[...] = np.where(a > 0, 1.0, slope)
        return out

    def sym(e):
        import sympy

        return sympy.Piecewise((e, e > 0), (slope * e, True))

    def sym_df(e):
        import sympy

        return sympy.Piecewise((1, e > 0), (slope, True))

    return Activation(f"leaky_relu({slope:g})", f, df, max(1.0, abs(slope)), sym, sym_df)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, _dtanh, 1.0, _sym_tanh, _sym_dtanh, _dtanh_y),
    "sigmoid": Activation("sigmoid", _sigmoid, _dsigmoid, 0.25, _sym_sigmoid, _sym_dsigmoid,
                          _dsigmoid_y),
    "relu": Activation("relu", _relu, _drelu, 1.0, _sym_relu, _sym_drelu, _drelu),
    "linear": Activation("linear", _linear, _dlinear, 1.0, _sym_linear, _sym_dlinear, _dlinear),
    "leaky_relu": leaky_relu(0.01),
}


def custom_activation(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    gamma: float,
    name: str = "custom",
    sympy: Callable | None = None,
    sympy_df: Callable | None = None,
) -> Activation:
    """Wrap a user's elementwise pair (f, f') with its bound ``gamma = sup|f'|``.

    ``f`` and ``df`` take and return NumPy arrays of the same shape; ``gamma`` must be a
    finite non-negative number (it enters the Pascanu bound, so it must be a true supremum).
    """
    if not callable(f) or not callable(df):
        raise TypeError("custom_activation: f and df must be callables on NumPy arrays")
    gamma = finite_float("gamma", gamma, at_least=0)

    def checked(fn, what):
        def apply(a, out=None):
            value = np.asarray(fn(a), dtype=a.dtype)
            if value.shape != a.shape:
                raise ValueError(f"activation {name!r}: {what} returned shape {value.shape}, "
                                 f"expected {a.shape}")
            if out is None:
                return value
            out[...] = value
            return out
        return apply

    return Activation(name, checked(f, "f"), checked(df, "df"), gamma, sympy, sympy_df)


def get_activation(activation: str | Activation) -> Activation:
    """Return the :class:`Activation` named by ``activation`` (or ``activation`` itself)."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key in ACTIVATIONS:
            return ACTIVATIONS[key]
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)} "
            "or an Activation (see custom_activation)"
        )
    raise TypeError(f"activation must be a name or an Activation, got {type(activation).__name__}")


def derivative(act: Activation, a: np.ndarray, y: np.ndarray, out=None) -> np.ndarray:
    """phi'(a) given the pre-activation a and the output y = phi(a), from y when that is cheaper."""
    if act.df_from_output is not None:
        return act.df_from_output(y, out=out)
    return act.df(a, out=out)


sigmoid = _sigmoid   # the gates' nonlinearity in LSTM and GRU
