"""Cell equations, written once as SymPy matrix expressions (:class:`CellSpec`).

A spec declares states (``h``, and ``c`` for LSTM), the input ``x``, parameters (with
PyTorch's gate-block names), elementwise activations, named intermediates and the update of
every state. The built-in Elman, LSTM and GRU cells are specs; a new cell is a few lines:

    >>> from rnnanalysis.symbolic import CellSpec, hadamard
    >>> spec = CellSpec("minimalRNN")                  # Chen, Mishra & Schoenholz (2018)
    >>> h, x = spec.state("h"), spec.input("x")
    >>> W_x, U_h, U_z = spec.weight("W_x", cols="m"), spec.weight("U_h"), spec.weight("U_z")
    >>> b_z, b_u = spec.bias("b_z"), spec.bias("b_u")
    >>> tanh, sigma = spec.activation("phi", "tanh"), spec.activation("sigma", "sigmoid")
    >>> z = spec.define("z", tanh(W_x * x + b_z))
    >>> u = spec.define("u", sigma(U_h * h + U_z * z + b_u))
    >>> h_t = spec.update(h, hadamard(u, h) + hadamard(spec.ones - u, z))

References:
    PyTorch ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` (equations and parameter names);
    Chen, Mishra & Schoenholz (2018), "Dynamical isometry and a mean field theory of RNNs".
"""

from __future__ import annotations

import keyword

from sympy import MatAdd, MatrixExpr, MatrixSymbol, OneMatrix, Symbol

from ..activations import Activation, get_activation
from .expr import Apply, hadamard, normalize
from .printing import default_latex

__all__ = ["CellSpec", "builtin_spec", "BUILTIN_CELLS"]

N = Symbol("n", integer=True, positive=True)
M = Symbol("m", integer=True, positive=True)
class CellSpec:
    """The equations of one recurrent cell: states, input, parameters, activations, updates.

    Every symbol has a *key* (a Python identifier such as ``"W_hh"``) by which printer
    settings rename it. ``layout`` maps PyTorch parameter names to the stacked gate blocks
    (``{"weight_hh": ["W_hi", "W_hf", "W_hg", "W_ho"], ...}``); without a layout the
    lambdified Jacobian takes its parameters under their keys.
    """

    def __init__(self, name: str):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name: expected a non-empty string, got {name!r}")
        self.name = name
        self.n, self.m = N, M
        self.ones = OneMatrix(N, 1)
        self.states: list[str] = []
        self.roles: dict[str, str] = {}          # symbol name -> state_prev/state_new/input/param/define
        self.keys: dict[str, str] = {}           # symbol name -> key (settings rename keys)
        self.latex_names: dict[str, str] = {}    # key -> default LaTeX base
        self.symbols: dict[str, MatrixSymbol] = {}
        self.params: list[str] = []
        self.activations: dict[str, Activation] = {}
        self.definitions: list[tuple[MatrixSymbol, MatrixExpr]] = []
        self.layout: dict[str, list[str]] = {}

    # -- declarations -------------------------------------------------------------------
    def _declare(self, key, latex, role, rows, cols, name=None):
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise ValueError(f"key: expected a Python identifier such as 'W_hh', got {key!r}")
        if key in self.latex_names:
            raise ValueError(f"key {key!r} is declared twice in cell {self.name!r}")
        if latex is not None and (not isinstance(latex, str) or not latex.strip()):
            raise ValueError(f"latex for {key!r}: expected a non-empty string, got {latex!r}")
        name = name or key
        sym = MatrixSymbol(name, rows, cols)
        self.symbols[name], self.roles[name], self.keys[name] = sym, role, key
        self.latex_names[key] = latex or default_latex(key)
        return sym

    def state(self, key: str, latex: str | None = None) -> MatrixSymbol:
        """Declare a state vector (n x 1); returns its previous value ``key_{t-1}``."""
        sym = self._declare(key, latex, "state_prev", N, 1, name=f"{key}_prev")
        self.states.append(key)
        return sym

    def input(self, key: str = "x", latex: str | None = None) -> MatrixSymbol:
        """Declare the input vector ``x_t`` (m x 1)."""
        return self._declare(key, latex, "input", M, 1)

    def weight(self, key: str, cols: str = "n", latex: str | None = None) -> MatrixSymbol:
        """Declare an n x n (``cols="n"``) or n x m (``cols="m"``) weight matrix."""
        if cols not in ("n", "m"):
            raise ValueError(f"cols: expected 'n' (state) or 'm' (input), got {cols!r}")
        self.params.append(key)
        return self._declare(key, latex, "param", N, N if cols == "n" else M)

    def bias(self, key: str, latex: str | None = None) -> MatrixSymbol:
        """Declare a bias (or any constant) vector, n x 1."""
        self.params.append(key)
        return self._declare(key, latex, "param", N, 1)

    def activation(self, key: str, activation, latex: str | None = None):
        """Name an elementwise map; returns ``f`` with ``f(expr)`` the symbolic ``f(expr)``."""
        act = get_activation(activation)
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"key: expected a Python identifier such as 'phi', got {key!r}")
        if key in self.activations or key in self.latex_names:
            raise ValueError(f"key {key!r} is declared twice in cell {self.name!r}")
        self.activations[key] = act
        self.latex_names[key] = latex or default_latex(key)
        return lambda expr: Apply(key, self._check_vector(f"{key}(...)", expr))

    def define(self, key: str, expr, latex: str | None = None) -> MatrixSymbol:
        """Name an intermediate ``key_t = expr``; returns its symbol."""
        expr = self._check_vector(key, expr)
        sym = self._declare(key, latex, "define", N, 1)
        self.definitions.append((sym, expr))
        return sym

    def update(self, state: MatrixSymbol, expr) -> MatrixSymbol:
        """Set the new value of ``state`` (as returned by :meth:`state`); returns ``key_t``."""
        if not isinstance(state, MatrixSymbol) or self.roles.get(state.name) != "state_prev":
            raise ValueError(f"state: expected a state declared with spec.state(...), got {state!r}")
        key = self.keys[state.name]
        if any(self.keys[s.name] == key for s, _ in self.definitions if self.roles[s.name] == "state_new"):
            raise ValueError(f"state {key!r}: update given twice")
        expr = self._check_vector(f"update of {key}", expr)
        sym = MatrixSymbol(key, N, 1)
        self.symbols[key], self.roles[key], self.keys[key] = sym, "state_new", key
        self.definitions.append((sym, expr))
        return sym

    def _check_vector(self, what, expr):
        if not isinstance(expr, MatrixExpr):
            raise TypeError(f"{what}: expected a SymPy matrix expression built from the spec's symbols, "
                            f"got {type(expr).__name__} {expr!r}")
        if tuple(expr.shape) != (N, 1):
            raise ValueError(f"{what}: expected an n x 1 vector, got shape {expr.shape}")
        known = set(self.symbols)
        unknown = sorted(s.name for s in expr.atoms(MatrixSymbol) if s.name not in known)
        if unknown:
            raise ValueError(f"{what}: uses symbols {unknown} not declared in cell {self.name!r}")
        fnames = sorted(a.fname for a in expr.atoms(Apply) if a.fname not in self.activations)
        if fnames:
            raise ValueError(f"{what}: uses elementwise maps {fnames} not declared with spec.activation")
        return expr

    def check_complete(self):
        """Raise ``ValueError`` unless there is a state and every state has an update."""
        if not self.states:
            raise ValueError(f"cell {self.name!r}: declare at least one state with spec.state(...)")
        done = {self.keys[s.name] for s, _ in self.definitions if self.roles[s.name] == "state_new"}
        missing = [k for k in self.states if k not in done]
        if missing:
            raise ValueError(f"cell {self.name!r}: states {missing} have no update (spec.update)")

    def new_state(self, key: str) -> MatrixSymbol:
        return self.symbols[key]

    def prev_state(self, key: str) -> MatrixSymbol:
        return self.symbols[f"{key}_prev"]

    def __repr__(self):
        return f"CellSpec({self.name!r}, states={self.states}, params={self.params})"


# -- built-in cells ---------------------------------------------------------------------
def _pre_activation(spec, gate, x, h, reset=None):
    """PyTorch's ``W_i{gate} x + b_i{gate} + W_h{gate} h + b_h{gate}`` (GRU's n: with r ⊙ (.))."""
    W_i, W_h = spec.weight(f"W_i{gate}", cols="m"), spec.weight(f"W_h{gate}")
    b_i, b_h = spec.bias(f"b_i{gate}"), spec.bias(f"b_h{gate}")
    if reset is None:
        return MatAdd(W_i * x, b_i, W_h * h, b_h)

    return MatAdd(W_i * x, b_i, hadamard(reset, MatAdd(W_h * h, b_h)))


def _stacked(spec, gates):
    spec.layout = {"weight_ih": [f"W_i{g}" for g in gates], "weight_hh": [f"W_h{g}" for g in gates],
                   "bias_ih": [f"b_i{g}" for g in gates], "bias_hh": [f"b_h{g}" for g in gates]}


def _elman(name, activation, layer_norm):
    spec = CellSpec(name)
    h, x = spec.state("h"), spec.input("x")
    W_ih, W_hh = spec.weight("W_ih", cols="m"), spec.weight("W_hh")
    b_ih, b_hh = spec.bias("b_ih"), spec.bias("b_hh")
    if layer_norm:
        alpha, beta = spec.bias("alpha"), spec.bias("beta")
    phi = spec.activation("phi", activation)
    a = spec.define("a", MatAdd(W_ih * x, b_ih, W_hh * h, b_hh))
    if layer_norm:
        a = spec.define("y", MatAdd(hadamard(alpha, normalize(a)), beta))
    spec.update(h, phi(a))
    spec.layout = {"weight_ih": ["W_ih"], "weight_hh": ["W_hh"], "bias_ih": ["b_ih"], "bias_hh": ["b_hh"]}
    if layer_norm:
        spec.layout.update(ln_weight=["alpha"], ln_bias=["beta"])
    return spec


def _lstm(name, activation, layer_norm):
    spec = CellSpec(name)
    h, c, x = spec.state("h"), spec.state("c"), spec.input("x")
    sigma, phi = spec.activation("sigma", "sigmoid"), spec.activation("phi", activation)
    gate = {}
    for g in "ifgo":
        a = spec.define(f"a_{g}", _pre_activation(spec, g, x, h))
        if layer_norm:
            alpha, beta = spec.bias(f"alpha_{g}"), spec.bias(f"beta_{g}")
            a = spec.define(f"y_{g}", MatAdd(hadamard(alpha, normalize(a)), beta))
        gate[g] = spec.define(g, (phi if g == "g" else sigma)(a))
    c_t = spec.update(c, MatAdd(hadamard(gate["f"], c), hadamard(gate["i"], gate["g"])))
    spec.update(h, hadamard(gate["o"], phi(c_t)))
    _stacked(spec, "ifgo")
    if layer_norm:
        spec.layout.update(ln_weight=[f"alpha_{g}" for g in "ifgo"], ln_bias=[f"beta_{g}" for g in "ifgo"])
    return spec


def elman(activation="tanh") -> CellSpec:
    """Elman: ``a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh``, ``h_t = phi(a_t)``."""
    return _elman("Elman", activation, layer_norm=False)


def lstm(activation="tanh") -> CellSpec:
    """LSTM with PyTorch's gates (i, f, g, o) and state (h, c); phi acts on g and on c."""
    return _lstm("LSTM", activation, layer_norm=False)


def gru(activation="tanh") -> CellSpec:
    """GRU with PyTorch's equations: the reset gate multiplies ``W_hn h + b_hn``."""

    spec = CellSpec("GRU")
    h, x = spec.state("h"), spec.input("x")
    sigma, phi = spec.activation("sigma", "sigmoid"), spec.activation("phi", activation)
    r = spec.define("r", sigma(spec.define("a_r", _pre_activation(spec, "r", x, h))))
    z = spec.define("z", sigma(spec.define("a_z", _pre_activation(spec, "z", x, h))))
    n_t = spec.define("n", phi(spec.define("a_n", _pre_activation(spec, "n", x, h, reset=r))))
    spec.update(h, MatAdd(hadamard(MatAdd(spec.ones, -z), n_t), hadamard(z, h)))
    _stacked(spec, "rzn")
    return spec


def ln_elman(activation="tanh") -> CellSpec:
    """Layer-normalised Elman (Ba et al. 2016): ``h_t = phi(alpha ⊙ norm(a_t) + beta)``."""
    return _elman("LayerNorm-Elman", activation, layer_norm=True)


def ln_lstm(activation="tanh") -> CellSpec:
    """LSTM whose gate pre-activations are layer-normalised block by block (Ba et al. 2016)."""
    return _lstm("LayerNorm-LSTM", activation, layer_norm=True)


BUILTIN_CELLS = {"elman": elman, "rnn": elman, "lstm": lstm, "gru": gru, "ln_elman": ln_elman,
                 "ln_lstm": ln_lstm}


def builtin_spec(kind: str, activation="tanh") -> CellSpec:
    """The spec of a built-in cell named ``kind`` ("elman"/"rnn", "lstm", "gru")."""
    key = kind.strip().lower() if isinstance(kind, str) else None
    if key not in BUILTIN_CELLS:
        raise ValueError(f"kind_or_cell: unknown cell {kind!r}; expected one of {sorted(BUILTIN_CELLS)}, "
                         "an rnnanalysis cell instance or a CellSpec")
    return BUILTIN_CELLS[key](activation)
