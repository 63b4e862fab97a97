"""One BLAS thread for small or matrix-vector-shaped linear algebra, through threadpoolctl.

Small LAPACK calls (QR, eigenvalues for n <= a few hundred) and the per-step products of a time
loop with few right-hand sides (``(k x S)(S x S)`` with small k) run faster on one OpenBLAS
thread: the second thread costs more in synchronisation than it saves, and on a busy machine its
spinning makes such loops 10-20x slower (measured: k = 1, n = 1024, T = 1500 Lyapunov run 1.7 s
on one thread, 21-39 s on two while other processes held the cores). The time loops and the
large products around them (:func:`loop_threads`, :func:`large_product_threads`) measure
instead of guessing: whether a second thread pays depends on the machine and on what else runs
on it. threadpoolctl is a dependency of the package; where it is missing all this is a no-op
(the default BLAS threads everywhere).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

#: Square matrices up to this size are factorised with one BLAS thread.
SINGLE_THREAD_MAX = 512
#: Loops whose per-step product has at most this many right-hand sides use one BLAS thread.
FEW_VECTORS = 64


#: Products below this many flops run on one BLAS thread without measuring: a second thread
#: never paid there (a step of n = 64, B = 32 has 2^18).
MEASURE_FLOPS = 1 << 20
#: Large products (an input projection, weight gradients) from this many flops on follow a
#: measured probe product of :data:`PROBE_SHAPE`.
LARGE_FLOPS = 1 << 24
PROBE_SHAPE = (128, 256, 256)
#: A measured choice is kept this many seconds: other jobs come and go.
RECHECK_SECONDS = 30.0


def single_blas_thread(enabled: bool = True):
    """A context manager limiting BLAS to one thread (if ``enabled`` and threadpoolctl is present)."""
    if not enabled:
        return contextlib.nullcontext()
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    return _pinned(controller)


_PINNED = [0]                 # single_blas_thread() contexts open (the limit is process-wide)
_PINNED_LOCK = threading.Lock()


@contextlib.contextmanager
def _pinned(controller):
    with controller.limit(limits=1, user_api="blas"):
        with _PINNED_LOCK:
            _PINNED[0] += 1
        try:
            yield
        finally:
            with _PINNED_LOCK:
                _PINNED[0] -= 1


def workers(tasks: int) -> int:
    """Threads worth starting for ``tasks`` independent pieces of work whose time goes to code
    that releases the GIL: the CPUs this process may run on, at most ``tasks``. Run them inside
    :func:`single_blas_thread`: the choices made inside the workers then only ever set the one
    thread again (threadpoolctl's limits are process-wide; a worker choosing two threads would
    race with the others)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(tasks, cpus))


_PREFIX = "rnnanalysis-worker"
_POOLS: dict = {}             # (threads, the CPUs the process may use) -> a kept ThreadPoolExecutor
_POOLS_LOCK = threading.Lock()


def on_threads(fn, items, threads: int) -> list:
    """``[fn(x) for x in items]`` on ``threads`` kept worker threads (started once: starting
    threads for every call cost ~0.1 ms on an idle machine and several ms a thread on a busy
    one). Inside one of these workers, and for one thread, in turn (a task waiting on the pool
    it runs in could wait for ever)."""
    if threads <= 1 or threading.current_thread().name.startswith(_PREFIX):
        return [fn(x) for x in items]
    key = (threads, _cpus())
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = _started(threads, key[1])
    return list(pool.map(fn, items))


def _cpus() -> tuple:
    """The CPUs this process may run on (empty where the platform does not say)."""
    return tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else ()


def _started(threads, cpus):
    """A ThreadPoolExecutor with all its threads running: it starts threads lazily, only while
    none is idle, and its count of idle threads drifts up with every finished task, so one left
    to itself may run every later call on a single thread.

    When the workers are as many as the CPUs the process may use, each keeps a CPU of its own.
    Left to the scheduler, two workers handing the interpreter's lock to each other were often
    woken on the same CPU and shared it for milliseconds while the other stayed idle: the
    float32 LSTM training step of ``scripts/benchmarks/train_step.py`` (its two batch halves on
    the two workers, after the pauses between timed rounds) took 15.5-16.5 ms unpinned and
    11.3-11.4 ms pinned on the 2-core machine. With more CPUs than workers the scheduler keeps
    its choice."""
    pool = ThreadPoolExecutor(threads, thread_name_prefix=_PREFIX)
    meet = threading.Barrier(threads)
    own = len(cpus) == threads

    def start(k):                         # every task waits for the others: one per thread
        meet.wait()
        if own:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {cpus[k]})     # this thread only

    for f in [pool.submit(start, k) for k in range(threads)]:
        f.result()
    return pool


def _forget_in_child():
    """A forked child has the pools but not their threads, and a lock another thread held."""
    global _POOLS_LOCK, _PINNED_LOCK
    _POOLS.clear()
    _POOLS_LOCK, _PINNED_LOCK = threading.Lock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _controller():
    """threadpoolctl's view of the loaded BLAS libraries, found once (a fresh look costs ~2 ms,
    a limit through the kept controller ~10 us); None without threadpoolctl."""
    global _CONTROLLER
    if _CONTROLLER is False:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER = None
        else:
            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


_CONTROLLER = False


def loop_threads(rows: int, k: int, p: int, dtype):
    """BLAS threads for a time loop whose per-step product is (rows x k)(k x p): one thread,
    unless timing that product (with the elementwise pass that follows it in a step) shows the
    default threads faster on this machine now (see :func:`_measure_one_thread`). A second
    thread helps big steps on an idle machine and is several times slower on one whose cores are
    busy (compare the README's busy and idle runs of scripts/benchmarks/bptt.py)."""
    return single_blas_thread(_one_thread(rows, k, p, dtype))


def large_product_threads(flops: float, dtype):
    """BLAS threads for one large product (input projection, weight gradients over time): the
    default threads when the product is large and a probe product (:data:`PROBE_SHAPE`) runs
    faster on them now, else one thread."""
    return single_blas_thread(flops < LARGE_FLOPS or _one_thread(*PROBE_SHAPE, dtype))


_CHOICES: dict = {}      # (rows, k, p, dtype) -> (when measured, one thread is the choice)


def _one_thread(rows, k, p, dtype) -> bool:
    """Whether one BLAS thread is the better choice for a (rows x k)(k x p) product now. Inside
    :func:`single_blas_thread` (e.g. on :func:`on_threads`'s workers) one thread, unmeasured: a
    timing there would compare one thread with itself, and keep that choice for everyone."""
    if 2 * rows * k * p < MEASURE_FLOPS or _controller() is None or _PINNED[0]:
        return True
    key = (rows, k, p, str(dtype))
    now = time.monotonic()
    hit = _CHOICES.get(key)
    if hit is None or now - hit[0] > RECHECK_SECONDS:
        hit = _CHOICES[key] = (now, _measure_one_thread(rows, k, p, dtype))
    return hit[1]


def _measure_one_thread(rows, k, p, dtype) -> bool:
    """Time the product followed by a tanh of its result on one thread and on the default
    threads, in turn, 3 rounds of ~2 ms each: False (use the default) only if the default was at
    least 20% faster in every round. One lucky round on a busy machine would otherwise pick two
    threads for loops that then run several times slower."""
    import numpy as np

    a, w = np.full((rows, k), 0.5, dtype), np.full((k, p), 1.0 / k, dtype)
    out = np.empty((rows, p), dtype)
    reps = int(min(200, max(3, 4e7 / (2 * rows * k * p))))
    for _ in range(3):
        took = {}
        for one in (True, False):
            with single_blas_thread(one):
                t0 = time.perf_counter()
                for _ in range(reps):
                    np.matmul(a, w, out=out)
                    np.tanh(out, out=out)
                took[one] = time.perf_counter() - t0
        if took[False] * 1.2 > took[True]:
            return True
    return False
