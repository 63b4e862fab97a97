"""The public cell protocol: one step, its adjoint, the parameter gradients.

A cell is the map ``s_t = F(s_{t-1}, x_t; params)``. It owns its parameters (PyTorch names
and layouts), its forward step and, side by side, the adjoint of that step;
:mod:`rnnanalysis.simulate` owns the sweeps over time (BPTT, renormalised log-space sweeps,
checkpointing). Shapes, time-major: inputs ``(T, B, m)``, states ``(T+1, B, S)``; an ensemble
cell (parameters with a leading axis ``E``) runs ``E`` networks at once and inserts ``E``
after the time axis internally (``(T, E, B, ...)``); public results put ``E`` first.

The protocol (documented in ``docs/cell-protocol.md``), over *prepared* arrays
``xs (T, *lead, m)`` and ``s0 (*lead, S)``, ``lead = (B,)`` or ``(E, B)``:

``state_size``, ``hidden``, ``output_slice``, ``state_blocks``
    the state has S entries; ``h = s[..., output_slice]`` (n entries; the first n except in a
    Stack) is what a readout sees; ``state_blocks`` are the parts profiled separately.
``project(xs)``
    the input-side work of all steps at once (one GEMM), ``u (T, *lead, P)``.
``forward(u, s0)``
    the time loop: states ``(T+1, *lead, S)`` and the cache, a tuple of per-step arrays
    ``(T, *lead, k)`` holding the local derivatives. The base class runs ``forward_step``
    over ``cache_widths``-sized buffers; the built-in cells override it with a fused loop.
``backward_step(cache, j, g, out=None, out_ih=None)``
    the vector-Jacobian product of step ``j`` (from ``s_j`` to ``s_{j+1}``): returns
    ``(g_prev, g_ih, g_hh)`` with ``g_prev = g J_{j+1}`` and the gradients with respect to
    the input-side and hidden-side pre-activations, of widths ``grad_widths``. ``g`` may carry
    extra leading axes (several directions at once); ``out`` and ``out_ih``, if given,
    receive g_prev and g_ih. ``separate_hh_grad`` is False when g_hh is g_ih.
``param_grads(xs, states, g_ih, g_hh, input_grads=True)``
    the sums over time and batch giving every parameter's gradient, and dL/dx.
``run(xs, s0)``
    project + forward, kept as a :class:`ForwardCache` (what :func:`~rnnanalysis.bptt`
    reuses). ``for_inference()`` and ``updated(forward_cache)`` are identities except for
    cells with running statistics (:class:`~rnnanalysis.cells.BatchNormRNN`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .. import _kernel
from .. import init as _init
from .._buffers import empty
from .._threads import large_product_threads, loop_threads
from .._validate import as_dtype, finite_float, float_array, positive_int, rng_from
from ..activations import Activation, get_activation
from .layout import prepare_inputs, prepare_state

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def check_cell(cell):
    """``cell`` if it is an rnnanalysis :class:`Cell`, else a TypeError naming the argument."""
    if not isinstance(cell, Cell):
        raise TypeError(f"cell: expected an rnnanalysis cell (Elman, LSTM, GRU), got {type(cell).__name__}")
    return cell


@dataclass(frozen=True)
class ForwardCache:
    """One forward pass kept for the backward sweeps, in the internal layout.

    cell: the cell that ran it; inputs: (T, *lead, m); states: (T+1, *lead, S); cache: the
    tuple of per-step local derivatives returned by ``cell.forward``. parts: for a pass run as
    the two halves of its batch (``simulate``), the halves' own ForwardCaches, which hold the
    local derivatives (``cache`` is then None; the states are joined).
    """

    cell: object
    inputs: np.ndarray
    states: np.ndarray
    cache: tuple | None
    parts: tuple = field(default=(), repr=False, compare=False)


class Cell:
    """Base class: a recurrent cell with PyTorch-layout parameters.

    Args:
        hidden: state size n (LSTM's state is (h, c), size 2n).
        inputs: input size m.
        activation: name or :class:`~rnnanalysis.activations.Activation` (the nonlinearity of
            the Elman update, of the LSTM cell input/output, of the GRU candidate).
        init: recurrent-weight initialiser, one of :data:`rnnanalysis.init.INITIALISERS`,
            applied to each gate block of ``weight_hh``.
        gain: gain passed to the initialiser (ignored by ``"pytorch"``).
        spectral_radius: if given, each gate block of ``weight_hh`` is rescaled to it.
        input_init: initialiser of ``weight_ih`` (default ``"pytorch"`` when ``init`` is
            ``"pytorch"``, else ``"xavier"``). Biases: PyTorch's U(-1/sqrt(n), 1/sqrt(n)) with
            ``init="pytorch"``, zeros otherwise.
        ensemble: if an int E, parameters gain a leading axis of E independent draws.
        seed: int or ``numpy.random.Generator``; the same seed gives identical parameters.
        dtype: ``numpy.float64`` (default) or ``numpy.float32``.
    """

    kind: str = ""
    gates: int = 1
    #: parameter names; subclasses with extra parameters (e.g. layer-norm gains) extend it
    param_names: tuple = PARAM_NAMES
    #: True when backward_step's hidden-side pre-activation gradient differs from the
    #: input-side one (GRU: the reset gate multiplies W_hn h + b_hn)
    separate_hh_grad: bool = False
    #: widths of the per-step cache arrays the generic ``forward`` fills (see forward_step)
    cache_widths: tuple = ()
    #: True when the step depends on the absolute time (no checkpointed segments)
    time_varying: bool = False
    #: False when a step couples the samples of a batch (per-sample analyses refuse the cell)
    samples_independent: bool = True
    #: arrays derived from the weights, kept while :meth:`weights_fixed` holds (else None)
    _derived = None

    def __init__(self, hidden: int, inputs: int, activation="tanh", *, init="pytorch", gain=1.0,
                 spectral_radius=None, input_init=None, ensemble=None, seed=None,
                 dtype=np.float64):
        n = positive_int("hidden", hidden)
        m = positive_int("inputs", inputs)
        dtype = as_dtype(dtype)
        if init not in _init.INITIALISERS:
            raise ValueError(f"init: unknown initialiser {init!r}; "
                             f"expected one of {sorted(_init.INITIALISERS)}")
        input_init = input_init or ("pytorch" if init == "pytorch" else "xavier")
        if input_init not in _init.INITIALISERS:
            raise ValueError(f"input_init: unknown initialiser {input_init!r}; "
                             f"expected one of {sorted(_init.INITIALISERS)}")
        gain = finite_float("gain", gain, at_least=0)
        if spectral_radius is not None:
            spectral_radius = finite_float("spectral_radius", spectral_radius, at_least=0)
        rng = rng_from(seed)
        members = 1 if ensemble is None else positive_int("ensemble", ensemble)
        draws = [self._draw(n, m, init, input_init, gain, spectral_radius, rng)
                 for _ in range(members)]
        params = {k: np.stack([d[k] for d in draws]) if ensemble is not None else draws[0][k]
                  for k in PARAM_NAMES}
        params.update(self._extra_params(n, () if ensemble is None else (members,)))
        with np.errstate(over="ignore"):
            self._set(params, get_activation(activation), dtype)
        if not all(np.isfinite(v).all() for v in self._params.values()):
            raise ValueError(f"{'gain' if spectral_radius is None else 'spectral_radius'}: the weights "
                             f"overflow {self.dtype.name} (gain={gain:g}, spectral_radius={spectral_radius})")

    def _extra_params(self, n, lead) -> dict:
        """Initial values of parameters beyond PARAM_NAMES (none here; see ``param_names``)."""
        return {}

    # -- construction -------------------------------------------------------------------
    def _draw(self, n, m, init, input_init, gain, rho, rng):
        G = self.gates

        def make(name, shape):
            fn = _init.INITIALISERS[name]
            return fn(shape, rng, hidden=n) if name == "pytorch" else fn(shape, rng, gain=gain)

        blocks = []
        for _ in range(G):
            w = make(init, (n, n))
            if rho is not None:
                w = _init.scale_to_spectral_radius(w, rho)
            blocks.append(w)
        p = {"weight_ih": make(input_init, (G * n, m)), "weight_hh": np.concatenate(blocks)}
        if init == "pytorch":
            k = 1.0 / np.sqrt(n)
            p["bias_ih"] = rng.uniform(-k, k, G * n)
            p["bias_hh"] = rng.uniform(-k, k, G * n)
        else:
            p["bias_ih"] = np.zeros(G * n)
            p["bias_hh"] = np.zeros(G * n)
        return p

    @classmethod
    def from_params(cls, params, activation="tanh", *, dtype=None):
        """A cell with the given parameters (PyTorch names; shapes checked; arrays copied).

        ``dtype`` defaults to the dtype of ``weight_hh``.
        """
        if not hasattr(params, "keys"):
            raise TypeError(f"params: expected a mapping of arrays, got {type(params).__name__}")
        keys = set(params.keys())
        names = cls.param_names
        missing, extra = set(names) - keys, keys - set(names)
        if missing or extra:
            raise ValueError(f"params for {cls.kind}: missing keys {sorted(missing)}, unexpected keys "
                             f"{sorted(extra)}; expected exactly {list(names)}")
        w_hh = float_array("weight_hh", params["weight_hh"])
        dtype = as_dtype(dtype or w_hh.dtype)
        arrays = {k: float_array(k, params[k], dtype=dtype).copy() for k in names}
        self = cls.__new__(cls)
        self._set(arrays, get_activation(activation), dtype)
        return self

    def _set(self, params, activation: Activation, dtype):
        G = self.gates
        w_hh = params["weight_hh"]
        if w_hh.ndim not in (2, 3):
            raise ValueError(f"weight_hh: expected shape ({G}*n, n) or (E, {G}*n, n), got {w_hh.shape}")
        n = w_hh.shape[-1]
        lead = w_hh.shape[:-2]
        if n == 0 or w_hh.shape[-2] != G * n:
            raise ValueError(f"weight_hh: expected shape {lead + (G * n, n)} for a {self.kind} cell "
                             f"({G} gate block(s) of n x n), got {w_hh.shape}")
        w_ih = params["weight_ih"]
        if w_ih.ndim != w_hh.ndim or w_ih.shape[:-1] != lead + (G * n,) or w_ih.shape[-1] == 0:
            raise ValueError(f"weight_ih: expected shape {lead + (G * n,)} + (m,), got {w_ih.shape}")
        for name in ("bias_ih", "bias_hh"):
            if params[name].shape != lead + (G * n,):
                raise ValueError(f"{name}: expected shape {lead + (G * n,)}, got {params[name].shape}")
        self._params = {k: np.ascontiguousarray(params[k], dtype=dtype) for k in self.param_names}
        self.activation = activation
        self.dtype = np.dtype(dtype)
        self.hidden = n
        self.inputs = w_ih.shape[-1]
        self.ensemble = lead[0] if lead else None

    # -- public description -------------------------------------------------------------
    @property
    def grad_widths(self) -> tuple:
        """Widths (P_ih, P_hh) of the pre-activation gradients of ``backward_step``."""
        return (self.gates * self.hidden,) * 2

    @property
    def output_slice(self) -> slice:
        """Where h_t, what a readout or loss sees, sits in the state s_t (the first n entries;
        a Stack's top layer)."""
        return slice(0, self.hidden)

    @property
    def state_blocks(self) -> tuple:
        """The parts of the state profiled separately: one block; a Stack's layers."""
        return (slice(0, self.state_size),)

    @property
    def params(self):
        """Read-only mapping of the parameter arrays (PyTorch names and layouts)."""
        return MappingProxyType(self._params)

    @property
    def state_size(self) -> int:
        """Size S of the state s_t (n; 2n for LSTM, whose state is (h, c))."""
        return self.hidden

    def state_dict(self) -> dict:
        """Copies of the parameters under PyTorch's single-layer names (``weight_ih_l0`` …)."""
        return {f"{k}_l0": v.copy() for k, v in self._params.items()}

    def with_params(self, params) -> Cell:
        """A new cell of the same kind and activation with other parameters."""
        return type(self).from_params(params, self.activation, dtype=self.dtype)

    @contextmanager
    def weights_fixed(self):
        """A block in which the parameters do not change: the arrays every ``forward`` call
        derives from the weights (the transposed weights; an LSTM's gate-major recurrent blocks)
        are made once and reused, not copied again on each call. Do not write into ``params``
        inside it. Re-entrant; the arrays are dropped on leaving the outermost block.
        Why: a prediction's drift orbit runs ``forward`` in 50-step chunks, and an LSTM at
        n = 256 spent 0.6 ms of each ~2.5 ms call copying W_hh (``scripts/benchmarks/predict_cost.py``)."""
        if self._derived is not None:
            yield self
            return
        self._derived = {}
        try:
            yield self
        finally:
            self._derived = None

    def _kept(self, key, make):
        """``make()``, kept under ``key`` while :meth:`weights_fixed` holds."""
        kept = self._derived
        if kept is None:
            return make()
        if key not in kept:
            kept[key] = make()
        return kept[key]

    def astype(self, dtype) -> Cell:
        """The same cell with parameters cast to ``dtype``."""
        return type(self).from_params({k: v.astype(as_dtype(dtype)) for k, v in self._params.items()},
                                      self.activation, dtype=dtype)

    def __repr__(self):
        ens = f", ensemble={self.ensemble}" if self.ensemble is not None else ""
        return (f"{type(self).__name__}(hidden={self.hidden}, inputs={self.inputs}, "
                f"activation={self.activation.name!r}{ens}, dtype={self.dtype.name})")

    # -- one step, public ---------------------------------------------------------------
    def step(self, state, x):
        """One step ``s_t = F(s_{t-1}, x_t)``. state: (B, S) [or (E, B, S)]; x: (B, m)."""
        s0, xs = self._one_step_args(state, x)
        states, _ = self.forward(self.project(xs), s0)
        return states[1]

    def vjp(self, state, x, g):
        """Vector-Jacobian product of one step at (state, x) with cotangent g on s_t.

        Returns ``(g_state, g_x, grads)``: g J (shape of state), the gradient with respect to
        x, and a dict of parameter gradients with PyTorch names.
        """
        s0, xs = self._one_step_args(state, x)
        g = float_array("g", g, dtype=self.dtype)
        if g.shape != s0.shape:
            raise ValueError(f"g: expected shape {s0.shape} (like state), got {g.shape}")
        states, cache = self.forward(self.project(xs), s0)
        g_prev, g_ih, g_hh = self.backward_step(cache, 0, g)
        grads, g_xs = self.param_grads(xs, states, g_ih[None], g_hh[None])
        return g_prev, g_xs[0], grads

    def jacobian(self, state, x):
        """Per-step state Jacobian ``J[..., i, j] = d s_t[i] / d s_{t-1}[j]`` (numerator layout).

        state: (B, S) [or (E, B, S)], x: (B, m) -> J: (B, S, S) [or (E, B, S, S)]. Computed as
        S vector-Jacobian products with the unit vectors, all at once.
        """
        s0, xs = self._one_step_args(state, x)
        _, cache = self.forward(self.project(xs), s0)
        S = self.state_size
        eye = np.eye(S, dtype=self.dtype).reshape((S,) + (1,) * (s0.ndim - 1) + (S,))
        rows = self.backward_step(cache, 0, np.broadcast_to(eye, (S,) + s0.shape))[0]
        return np.moveaxis(rows, 0, -2)

    def _one_step_args(self, state, x):
        xs = prepare_inputs(self, np.asarray(x)[None] if self.ensemble is None or np.ndim(x) == 2
                            else np.asarray(x)[:, None], name="x")
        s0 = prepare_state(self, state, xs.shape[-2], name="state")
        return s0, xs

    # -- the protocol over prepared arrays ---------------------------------------------
    def run(self, xs, s0) -> ForwardCache:
        """project + forward over prepared xs (T, *lead, m) from s0 (*lead, S), each on the BLAS
        threads that pay for its products (``rnnanalysis._threads``)."""
        rows = s0[..., 0].size
        with large_product_threads(2 * xs.shape[0] * rows * self.inputs * self.grad_widths[0], self.dtype):
            u = self.project(xs)
        with loop_threads(rows, self.hidden, self.grad_widths[1], self.dtype):
            states, cache = self.forward(u, s0)
        return ForwardCache(self, xs, states, cache)

    def for_inference(self) -> Cell:
        """The cell as used for predictions (itself; cells with running statistics differ)."""
        return self

    def updated(self, forward_cache) -> Cell:
        """The cell after a training step on ``forward_cache`` (itself unless it keeps
        running statistics)."""
        return self

    def forward(self, u, s0):
        """The time loop: (states (T+1, *lead, S), cache) from u = project(xs) and s0.

        This generic loop calls ``forward_step(u[t], s[t], s[t+1], *cache_t)`` with cache_t
        views of buffers of widths ``cache_widths``; it may overwrite u.
        """
        states, buffers = self._buffers(u, s0, *self.cache_widths)
        step, ss, us = self.forward_step, list(states), list(u)
        rows = list(zip(*(list(b) for b in buffers), strict=True)) if buffers else [()] * len(us)
        for t, row in enumerate(rows):
            step(us[t], ss[t], ss[t + 1], *row)
        return states, buffers

    def forward_step(self, u_t, s_prev, s_next, *cache_t):
        """One step of the generic loop: write s_t into ``s_next`` and the step's local
        derivatives into the ``cache_t`` views."""
        raise NotImplementedError(f"{type(self).__name__}: implement forward_step or forward")

    def backward_step(self, cache, j, g, out=None, out_ih=None):
        """(g_prev, g_ih, g_hh): the vector-Jacobian product of step j (see the module doc)."""
        raise NotImplementedError(f"{type(self).__name__}: implement backward_step")

    def backward_steps(self, cache, lo, hi, g, out, out_ih=None, out_hh=None, direct=None):
        """Carry g (the adjoint at s_hi) back through steps hi-1, ..., lo of ``cache``:
        ``out[j - lo]`` receives the adjoint at s_j, and ``out_ih[j - lo]`` / ``out_hh[j - lo]``,
        if given, step j's g_ih / g_hh. ``direct`` (hi - lo, *lead, n), if given: a loss's own
        gradient on h_j, added to the adjoint at s_j once it is carried there
        (``direct[j - lo]`` into ``out[j - lo][..., output_slice]``). ``backward_step`` for
        each step; where the cell has a :meth:`_backward_program`, steps hi-2, ..., lo are
        replayed from C (:mod:`rnnanalysis._kernel`). Returns ``out[0]``."""
        if lo < 0:                            # (the NumPy loop would wrap around, the replay refuse)
            raise ValueError(f"lo: expected a step index >= 0, got {lo}")
        build = (self._backward_program(cache, lo, hi, g, out, out_ih, out_hh)
                 if hi - lo >= 2 and _kernel.has_compiled_loops() else None)
        if build is not None:
            self._backward_loop(cache, hi - 1, hi, g, out, out_ih, out_hh, direct, lo)   # the step from g
            if direct is not None:
                build = self._with_direct(build, lo, hi, out, direct)
            if _kernel.replay(self.dtype, hi - lo - 1, build):
                return out[0]
            g, hi = out[hi - 1 - lo], hi - 1
        return self._backward_loop(cache, lo, hi, g, out, out_ih, out_hh, direct, lo)

    def _backward_loop(self, cache, lo, hi, g, out, out_ih, out_hh, direct, base):
        step, sl = self.backward_step, self.output_slice
        for j in range(hi - 1, lo - 1, -1):
            g, _, g_hh = step(cache, j, g, out=out[j - base],
                              out_ih=None if out_ih is None else out_ih[j - base])
            if out_hh is not None:
                out_hh[j - base] = g_hh
            if direct is not None:
                g[..., sl] += direct[j - base]
        return g

    def _with_direct(self, build, lo, hi, out, direct):
        """``build``'s program followed by the direct gradient's addition, as the loop adds it."""
        y = _kernel.part(_kernel.along(out, hi - 2 - lo, -1), np.s_[..., self.output_slice])

        def program(prog):
            build(prog)
            prog.ufunc(np.add, y, _kernel.along(direct, hi - 2 - lo, -1), y)

        return program

    def _backward_program(self, cache, lo, hi, g, out, out_ih, out_hh):
        """A function recording ``backward_step`` of step j into a :class:`rnnanalysis._kernel.Program`
        for j = hi-2, ..., lo (reading ``out[j + 1 - lo]``, writing ``out[j - lo]``, and
        ``out_ih``/``out_hh`` when given), or None: the per-step loop then runs (the default)."""
        return None

    def _buffers(self, u, s0, *widths):
        """States (T+1, *lead, S) starting at s0, and per-step buffers (T, *lead, w)."""
        states = empty((u.shape[0] + 1,) + s0.shape, self.dtype)
        states[0] = s0
        return states, tuple(empty(u.shape[:-1] + (w,), self.dtype) for w in widths)

    def _wT(self, name):
        """The transposed weight, copied to C order: NumPy's stacked matmul (ensembles) takes a
        slow path on a transposed view."""
        return self._kept(("T", name), lambda: np.ascontiguousarray(np.swapaxes(self._params[name], -1, -2)))

    def _bias(self, name):
        b = self._params[name]
        return b if self.ensemble is None else b[:, None, :]

    def project(self, xs):
        """Input projection ``x W_ih^T + b_ih (+ b_hh where it can be folded)``: (T, *lead, G n)."""
        if self.ensemble is not None and xs.ndim == 3:
            xs = xs[:, None]
        w = self._wT("weight_ih")
        u = np.matmul(xs, w, out=empty(np.broadcast_shapes(xs.shape[:-2], w.shape[:-2])
                                       + (xs.shape[-2], w.shape[-1]), self.dtype))
        u += self._folded_bias()
        return u

    def _folded_bias(self):
        return self._bias("bias_ih") + self._bias("bias_hh")

    def _hidden_part(self, states):
        return states

    def param_grads(self, xs, states, g_ih, g_hh, input_grads=True):
        """Sum over time and batch of the outer products giving dW and db; also dL/dx.

        g_ih, g_hh: (T, *lead, G n) gradients of the input- and hidden-side pre-activations.
        """
        h_prev = self._hidden_part(states[:-1])
        if self.ensemble is not None and xs.ndim == 3:
            xs = np.broadcast_to(xs[:, None], (xs.shape[0], self.ensemble) + xs.shape[1:])
        b_ih = _batch_sum(g_ih, self.ensemble)
        rows_ih = _rows(g_ih, self.ensemble)
        rows_hh = rows_ih if g_hh is g_ih else _rows(g_hh, self.ensemble)
        grads = {
            "weight_ih": _outer_sum(rows_ih, _rows(xs, self.ensemble)),
            "weight_hh": _outer_sum(rows_hh, _rows(h_prev, self.ensemble)),
            "bias_ih": b_ih,
            "bias_hh": b_ih.copy() if g_hh is g_ih else _batch_sum(g_hh, self.ensemble),
        }
        if not input_grads:
            return grads, None
        w = self._params["weight_ih"]
        return grads, np.matmul(g_ih, w, out=empty(g_ih.shape[:-1] + w.shape[-1:], self.dtype))


def _rows(a, ensemble):
    """``a`` (T, *lead, p) as the rows to sum over: (T B, p), or (E, T B, p) for an ensemble (a
    member-major copy in pooled memory, so a training step faults in no fresh pages for it)."""
    if ensemble is None:
        return a.reshape(-1, a.shape[-1])
    out = empty((ensemble, a.shape[0]) + a.shape[2:], a.dtype)
    np.copyto(out, np.moveaxis(a, 1, 0))
    return out.reshape(ensemble, -1, a.shape[-1])


def _outer_sum(rows_a, rows_b):
    """Sum over time and batch of a[..., i] b[..., j] from their :func:`_rows`: (p, q) or (E, p, q)."""
    return np.swapaxes(rows_a, -1, -2) @ rows_b


def _batch_sum(a, ensemble):
    return a.sum(axis=(0, 1)) if ensemble is None else a.sum(axis=(0, 2))
