"""One BLAS thread for small dense linear algebra, when threadpoolctl is installed (optional).

Small LAPACK calls (QR, eigenvalues of n <= a few hundred) run faster on one OpenBLAS thread:
the second thread costs more in synchronisation than it saves, and on a busy machine its spinning
can make a call 10-50x slower. Without threadpoolctl this is a no-op.
"""

from __future__ import annotations

import contextlib

#: Matrices up to this size are factorised with one BLAS thread.
SINGLE_THREAD_MAX = 512


def blas_threads_for(n: int):
    """A context manager limiting BLAS to one thread when ``n <= SINGLE_THREAD_MAX``."""
    if n > SINGLE_THREAD_MAX:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
