"""The sweep's local process pool, whose workers never outlive the driver.

A worker left behind by a killed driver keeps running, reparented, blocked on its pipe and
holding the caller's stdout (so a caller waiting for that output hangs). Each worker therefore
arranges to die with the driver: on Linux through ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; on
every system through a watchdog thread that exits the worker once its parent process id changes
(the driver died and the worker was reparented).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from .._threads import single_blas_thread

__all__ = ["local_pool", "one_blas_thread"]

PR_SET_PDEATHSIG = 1                               # <linux/prctl.h>
WATCHDOG_PERIOD_S = 0.5


def _exit_now():
    os.kill(os.getpid(), signal.SIGKILL)          # no cleanup: the driver that wanted it is gone


def _watch_parent(parent: int):
    while os.getppid() == parent:
        time.sleep(WATCHDOG_PERIOD_S)
    _exit_now()


def _die_with_parent(parent: int):
    """Worker initializer: exit when the process ``parent`` (the driver) exits."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):          # no libc prctl: the watchdog still works
            pass
    if os.getppid() != parent:                     # the driver died before we got here
        _exit_now()
    threading.Thread(target=_watch_parent, args=(parent,), name="die-with-driver", daemon=True).start()


def local_pool(max_workers=None) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor of ``max_workers`` processes that exit when this process dies."""
    return ProcessPoolExecutor(max_workers=max_workers, initializer=_die_with_parent,
                               initargs=(os.getpid(),))


def one_blas_thread():
    """Pool initializer: one BLAS thread per worker process (small GEMMs; two threads per worker
    on two cores oversubscribe the machine and make each step several times slower)."""
    single_blas_thread().__enter__()
