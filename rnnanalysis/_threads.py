"""One BLAS thread for small or matrix-vector-shaped linear algebra, when threadpoolctl is installed.

Small LAPACK calls (QR, eigenvalues for n <= a few hundred) and the per-step products of a time
loop with few right-hand sides (``(k x S)(S x S)`` with small k) run faster on one OpenBLAS
thread: the second thread costs more in synchronisation than it saves, and on a busy machine its
spinning makes such loops 10-20x slower (measured: k = 1, n = 1024, T = 1500 Lyapunov run 1.7 s
on one thread, 21-39 s on two while other processes held the cores). threadpoolctl is optional:
without it this is a no-op.
"""

from __future__ import annotations

import contextlib

#: Square matrices up to this size are factorised with one BLAS thread.
SINGLE_THREAD_MAX = 512
#: Loops whose per-step product has at most this many right-hand sides use one BLAS thread.
FEW_VECTORS = 64


#: Time loops whose per-step GEMM has at most this many flops run on one BLAS thread (the
#: benchmark sizes of scripts/benchmarks/bptt.py, up to n = 256 with batch 16, and LSTM
#: n = 128 with batch 32): measured 5-28x faster than two threads on a busy 2-core machine.
SMALL_STEP_FLOPS = 1 << 23


def single_blas_thread(enabled: bool = True):
    """A context manager limiting BLAS to one thread (if ``enabled`` and threadpoolctl is present)."""
    if not enabled:
        return contextlib.nullcontext()
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


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
