"""Time loops replayed from C: NumPy's own inner loops, called T times without the interpreter.

A step of a built-in cell is a fixed sequence of NumPy calls (a matmul, a few elementwise
ufuncs) on arrays that move by a fixed number of bytes from one step to the next. At small
sizes the interpreter and NumPy's per-call dispatch cost more than the arithmetic (about two
thirds of an n = 64 step on the development machine). A :class:`Program` records such a
sequence once, as the inner loop each call would run (NumPy's loop for that ufunc and dtype,
found through :func:`rnnanalysis._kernel._runner.loop`), with the operands' pointers at step 0 and
their per-step offsets; :meth:`Program.run` replays it T times from C (``rnnanalysis/_kernel/_runner.c``,
built at install when a C compiler is present). The arithmetic is NumPy's — the same loops,
the same BLAS, the same thread settings — so the results equal the NumPy path bit for bit
(``tests/test_kernel.py``), and nothing but the per-call overhead goes away.

Without the compiled module (no compiler at install), or with ``RNNANALYSIS_KERNEL=0`` in the
environment, :func:`has_compiled_loops` is False and the cells run their NumPy loops. Every inner loop
is checked against NumPy on sample data when first bound; one that differs is not used.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np

from ..activations import ACTIVATIONS

try:
    from . import _runner
except ImportError:                 # built without a C compiler: the NumPy loops run instead
    _runner = None

#: False disables the compiled loops (tests compare both paths; RNNANALYSIS_KERNEL=0 at start-up).
ENABLED = os.environ.get("RNNANALYSIS_KERNEL", "1") != "0"

_LOOPS: dict = {}                   # (ufunc, dtype) -> (function, data) addresses, or None


def has_compiled_loops() -> bool:
    """Whether the compiled time loops were built at install (``rnnanalysis/_kernel/_runner.c``)
    and are not switched off (``RNNANALYSIS_KERNEL=0``, :func:`compiled_loops`): whether time
    loops run through :class:`Program`."""
    return ENABLED and _runner is not None


@contextlib.contextmanager
def compiled_loops(enabled: bool):
    """Inside the block the time loops run compiled (``True``, when built) or as NumPy calls
    from Python (``False``): the same arithmetic, bit for bit, so only the time differs
    (``scripts/benchmarks/bptt.py`` compares the two). Process-wide: not for use from several
    threads at once.

    Example:
        >>> import numpy as np, rnnanalysis as ra
        >>> cell, xs = ra.Elman(4, 2, seed=0), np.ones((20, 3, 2))
        >>> with ra.compiled_loops(False):
        ...     slow = ra.gradient_profile(cell, xs).log10_norms
        >>> bool(np.array_equal(slow, ra.gradient_profile(cell, xs).log10_norms))
        True
    """
    global ENABLED
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled: expected True or False, got {enabled!r}")
    before, ENABLED = ENABLED, enabled
    try:
        yield
    finally:
        ENABLED = before


def _address(a) -> int:
    return a.__array_interface__["data"][0]


def _extent(a):
    """The bytes [lo, hi) an array view touches."""
    start = _address(a)
    if a.size == 0:
        return start, start
    low = sum(s * (d - 1) for s, d in zip(a.strides, a.shape, strict=True) if s < 0)
    high = sum(s * (d - 1) for s, d in zip(a.strides, a.shape, strict=True) if s > 0)
    return start + low, start + high + a.itemsize


def _loop(ufunc, dtype):
    """NumPy's inner loop of ``ufunc`` for ``dtype`` operands, checked on sample data; None if
    NumPy has none to hand out or it does not reproduce NumPy's own result."""
    key = (ufunc, dtype)
    if key not in _LOOPS:
        _LOOPS[key] = None
        found = _runner.loop(ufunc, bytes([dtype.num] * ufunc.nargs))
        if found is not None:
            _LOOPS[key] = found
            if not _reproduces(ufunc, dtype):
                _LOOPS[key] = None
    return _LOOPS[key]


def _reproduces(ufunc, dtype) -> bool:
    rng = np.random.default_rng(0)
    if ufunc is np.matmul:
        a, b = (rng.normal(size=s).astype(dtype) for s in ((3, 33, 40), (3, 40, 20)))
        want, got = np.matmul(a, b), np.empty((3, 33, 20), dtype)
        prog = Program(dtype)
        prog.matmul((a, 0), (b, 0), (got, 0))
    else:
        args = [(rng.normal(size=257) * 4).astype(dtype) for _ in range(ufunc.nin)]
        with np.errstate(all="ignore"):
            want = ufunc(*args)
        got = np.empty_like(want)
        prog = Program(dtype)
        prog.ufunc(ufunc, *[(x, 0) for x in args], (got, 0))
    prog.run(1)
    return bool(np.array_equal(want, got, equal_nan=True))


class KernelUnavailable(Exception):
    """A loop the program needs is not available (the caller runs its NumPy loop instead)."""


class Program:
    """A step as NumPy inner loops; operands are ``(array at step 0, bytes it moves per step)``
    (:func:`along`) or Python floats (constants). Operands must stay alive until :meth:`run`
    returns (the program keeps references)."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self._words: list = []
        self._count = 0
        self._keep: list = []
        self._moving: list = []             # (array operand, bytes per step): bounds-checked in run

    def _bound(self, ufunc):
        found = _loop(ufunc, self.dtype)
        if found is None:
            raise KernelUnavailable(f"no inner loop of {ufunc.__name__} for {self.dtype}")
        return found

    def _operand(self, x, output=False):
        if isinstance(x, tuple):
            a, per_step = x
            if a.dtype != self.dtype:           # NumPy's loop casts; a replayed one cannot
                raise KernelUnavailable(f"operand of dtype {a.dtype} in a {self.dtype} program")
            if output and not a.flags.writeable:     # (read-only memory: NumPy refuses, C would write)
                raise KernelUnavailable("output operand is read-only")
            self._keep.append(a)
            self._moving.append((a, per_step))
            return a, per_step
        a = np.array(x, self.dtype)          # a constant: a 0-d array with stride 0
        self._keep.append(a)
        return a, 0

    def ufunc(self, ufunc, *operands, ignore=()):
        """Append the elementwise ``ufunc(*inputs, out=output)`` (the last operand is the output);
        ``ignore``: floating-point exceptions of this call not reported (names as
        :func:`numpy.errstate`'s, for a call NumPy's path makes inside ``errstate(...='ignore')``)."""
        fn, data = self._bound(ufunc)
        ops = [self._operand(x, output=k == len(operands) - 1) for k, x in enumerate(operands)]
        shape = next((a.shape for a, _ in ops if a.ndim), None)
        if shape is None or any(a.ndim and a.shape != shape for a, _ in ops):
            raise KernelUnavailable(f"{ufunc.__name__}: operands of different shapes")
        size = self.dtype.itemsize
        if all(a.ndim == 0 or a.flags.c_contiguous for a, _ in ops):
            outer, dims = 1, [int(np.prod(shape))]
            per_outer = [0] * len(ops)
        else:                                 # rows of a contiguous last axis (e.g. h inside (h, c))
            outer, dims, per_outer = int(np.prod(shape[:-1])), [shape[-1]], []
            for a, _ in ops:
                if a.ndim == 0:
                    per_outer.append(0)
                    continue
                rows = a.strides[:-1]
                if a.strides[-1] != size or any(rows[i] != rows[i + 1] * shape[i + 1]
                                                for i in range(len(rows) - 1)):
                    raise KernelUnavailable(f"{ufunc.__name__}: operand not made of uniform rows")
                per_outer.append(rows[-1] if rows else 0)
        steps = [0 if a.ndim == 0 else size for a, _ in ops]
        self._append(fn, data, outer, dims, steps, ops, per_outer, ignore)

    def matmul(self, a, b, out):
        """Append ``numpy.matmul(a, b, out=out)`` for (G?, E?, m, k) @ (G?, E?, k, p) operands
        (missing leading axes broadcast)."""
        fn, data = self._bound(np.matmul)
        ops = [self._operand(a), self._operand(b), self._operand(out, output=True)]
        views = [v for v, _ in ops]
        lead = views[2].shape[:-2]
        if len(lead) > 2 or min(v.ndim for v in views) < 2:
            raise KernelUnavailable("matmul: operands of 2 to 4 dimensions only")
        (av, bv, ov) = views
        m, k, p = av.shape[-2], av.shape[-1], bv.shape[-1]
        if bv.shape[-2] != k or ov.shape[-2:] != (m, p):
            raise KernelUnavailable("matmul: operand shapes do not match")
        padded = []                           # each operand's strides over ov's leading axes
        for v in views:
            extra = v.ndim - 2
            if v.shape[:extra] != lead[len(lead) - extra:]:
                raise KernelUnavailable("matmul: operand shapes do not match")
            padded.append((0,) * (len(lead) - extra) + v.strides[:extra])
        if len(lead) < 2:                     # a run-time outer loop over the first leading axis
            lead, padded = (1,) * (2 - len(lead)) + lead, [(0,) * (2 - len(s)) + s for s in padded]
        core = [s for v in views for s in v.strides[-2:]]
        self._append(fn, data, lead[0], [lead[1], m, k, p], [s[1] for s in padded] + core, ops,
                     [s[0] for s in padded])

    def lstm_forward(self, u, tmp, s_prev, s_next, k_ifg, k_o, k_hc, f, work):
        """Append the elementwise work of one tanh LSTM step as one fused call
        (``_runner.c``'s lstm_forward: the calls of ``LSTM._gates_step`` in the same order, exp
        and tanh NumPy's own loops, so the same results bit for bit). Operands: u (*lead, 4n)
        in PyTorch's gate order, tmp (4, *lead, n) the recurrent product in the order i, f, o,
        g, s_prev / s_next (*lead, 2n), k_ifg (3, *lead, n), k_o, k_hc, f (*lead, n), work
        (7, *lead, n); all C-contiguous."""
        loops = [self._bound(np.exp), self._bound(np.tanh)]
        table = np.array([x for pair in loops for x in pair], np.uint64).view(np.int64)
        self._keep.append(table)
        self._fused("lstm_forward", (u, tmp, s_prev, s_next, k_ifg, k_o, k_hc, f, work),
                    ((4,), (4, 1), (2,), (2,), (3, 1), (1,), (1,), (1,), (7, 1)), 3, _address(table))

    def lstm_backward(self, x, k_hc, k_ifg, k_o, g_ct, g_a):
        """Append the elementwise work of one LSTM adjoint step before its product with W_hh
        as one fused call (``_runner.c``'s lstm_backward; the calls of ``LSTM._backward_program``
        in the same order): x (*lead, 2n) the adjoint (g_h, g_c), k_hc (*lead, n), k_ifg
        (3, *lead, n), k_o (*lead, n); into g_ct (*lead, n) and g_a (*lead, 4n)."""
        self._fused("lstm_backward", (x, k_hc, k_ifg, k_o, g_ct, g_a),
                    ((2,), (1,), (3, 1), (1,), (1,), (4,)), 4, 0)

    def _fused(self, name, operands, widths, first_output, data):
        """Append the fused step ``name`` of ``_runner.c`` on C-contiguous operands of R rows of
        n numbers: ``widths[k]`` is (w,) for rows of w n numbers, (b, 1) for b blocks of (R, n)."""
        fused = getattr(_runner, "fused", None)             # (absent from a build before it)
        fn = None if fused is None else fused(name, self.dtype.num)
        ops = [self._operand(x, output=k >= first_output) for k, x in enumerate(operands)]
        n = ops[-1][0].shape[-1] // widths[-1][0] if len(widths[-1]) == 1 else ops[-1][0].shape[-1]
        rows = ops[1][0].size // (n * widths[1][0])
        if fn is None or any(not a.flags.c_contiguous or a.size != rows * n * w[0]
                             or a.shape[-1] != (n * w[0] if len(w) == 1 else n)
                             for (a, _), w in zip(ops, widths, strict=True)):
            raise KernelUnavailable(f"{name}: operands not of the fused step's C-contiguous shapes")
        self._append(fn, data, 1, [rows, n], [0], ops, [0] * len(ops))

    def _append(self, fn, data, outer, dims, steps, ops, per_outer, ignore=()):
        bits = sum(1 << k for k, (name, _) in enumerate(_EXCEPTIONS) if name in ignore)
        self._words += [fn, data, len(ops), outer, len(dims), len(steps), bits, *dims, *steps,
                        *[_address(a) for a, _ in ops], *[s for _, s in ops], *per_outer]
        self._count += 1

    def run(self, T: int):
        """Replay the recorded step T times (t = 0 .. T-1, operands at base + t * per_step).
        Floating-point exceptions are reported as NumPy would (``numpy.errstate``). Every
        operand must stay inside the memory of the array it views for all T steps (checked
        first: the replay writes through raw pointers)."""
        for a, per_step in self._moving:
            lo, hi = _extent(a)
            lo, hi = lo + min(0, (T - 1) * per_step), hi + max(0, (T - 1) * per_step)
            root = a
            while isinstance(root.base, np.ndarray):
                root = root.base
            start = _address(root)
            if lo < start or hi > start + root.nbytes:
                raise ValueError(f"program: an operand of shape {a.shape} leaves its array within "
                                 f"T = {T} steps")
        raised = _runner.run(np.array([self._count] + self._words, dtype=np.int64), int(T))
        if any(raised):
            _report(raised)


_EXCEPTIONS = (("divide", "divide by zero"), ("over", "overflow"), ("under", "underflow"),
               ("invalid", "invalid value"))


def _report(raised):
    """Warn or raise for the floating-point exceptions of a replay, as :func:`numpy.errstate`
    says (NumPy's path reports the same exceptions of the same loops)."""
    modes = np.geterr()
    for (name, what), hit in zip(_EXCEPTIONS, raised, strict=True):
        if not hit or modes[name] == "ignore":
            continue
        message = f"{what} encountered in a compiled time loop"
        if modes[name] == "raise":
            raise FloatingPointError(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def replay(dtype, T: int, build) -> bool:
    """Record ``build(program)`` and run it T times from C; False (nothing run) when the
    compiled loops are unavailable or lack a loop the program needs."""
    if T <= 0 or not has_compiled_loops():
        return False
    prog = Program(dtype)
    try:
        build(prog)
    except KernelUnavailable:
        return False
    prog.run(T)
    return True


def along(a, i: int = 0, step: int = 1):
    """Operand ``a[i + step * t]`` at step t: ``(a[i], step * a.strides[0])`` (``step=-1``: a
    loop running backward in time)."""
    return a[i], step * a.strides[0]


def part(operand, index):
    """An operand's part ``operand[index]``, the same part at every step."""
    return operand[0][index], operand[1]


#: The built-in activations' f as ufunc calls, exactly as rnnanalysis.activations computes them.
def _tanh(prog, a, out):
    prog.ufunc(np.tanh, a, out)


def _sigmoid(prog, a, out):
    prog.ufunc(np.negative, a, out)
    prog.ufunc(np.exp, out, out, ignore=("over",))     # as activations._sigmoid
    prog.ufunc(np.add, out, 1.0, out)
    prog.ufunc(np.reciprocal, out, out)


def _relu(prog, a, out):
    prog.ufunc(np.maximum, a, 0.0, out)


_ACTIVATIONS = {"tanh": _tanh, "sigmoid": _sigmoid, "relu": _relu}


def sigmoid(prog, a, out):
    """Append :func:`rnnanalysis.activations.sigmoid` (a into out)."""
    _sigmoid(prog, a, out)


def _dtanh_y(prog, a, y, out):
    prog.ufunc(np.multiply, y, y, out)
    prog.ufunc(np.subtract, 1.0, out, out)


def _drelu(prog, a, y, out):
    prog.ufunc(np.heaviside, y, 0.0, out)     # relu's df_from_output: heaviside of y


_DERIVATIVES = {"tanh": _dtanh_y, "relu": _drelu}


def activation(prog, act, a, out):
    """Append ``act.f(a, out=out)`` for the built-in tanh, sigmoid and relu; KernelUnavailable
    for others (a custom activation is Python code the program cannot replay)."""
    _built_in(act, _ACTIVATIONS)(prog, a, out)


def _built_in(act, table):
    ops = table.get(act.name)
    if ops is None or ACTIVATIONS.get(act.name) is not act:
        raise KernelUnavailable(f"activation {act.name!r} has no compiled loop here")
    return ops


def derivative(prog, act, a, y, out):
    """Append :func:`rnnanalysis.activations.derivative` (phi'(a) given y = phi(a)) for the
    built-in tanh and relu; KernelUnavailable for others."""
    _built_in(act, _DERIVATIVES)(prog, a, y, out)
