"""Large scratch arrays whose memory is reused once nothing refers to them any more.

A training step, a profile or a sweep allocates the same large arrays (trajectories, local
derivatives, adjoints, gate gradients) call after call. Fresh large arrays come from the
operating system as untouched pages (glibc maps allocations above its mmap threshold and
unmaps them on free), and first touching them costs page faults (what keeping memory is worth
to training: ``scripts/benchmarks/train_ensemble.py --allocator keep``).

:func:`empty` is ``numpy.empty`` for such arrays, served from blocks that earlier calls
released. A block is handed out again only when no array refers to it (its reference count is
back to the pool's own), so results a caller keeps are never overwritten. At most
:data:`KEEP_BYTES` are kept; smaller arrays come from ``numpy.empty`` directly.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

#: Most bytes of blocks the pool keeps (in use or free); arrays above half of it are not pooled.
KEEP_BYTES = 1 << 27
#: Arrays smaller than this come from numpy.empty (the allocator reuses those itself).
MIN_BYTES = 1 << 16
_PAGE = 4096

_lock = threading.Lock()
_blocks: list = []          # raw uint8 blocks, oldest first


def _count(blocks, i):
    return sys.getrefcount(blocks[i])


_FREE = _count([np.empty(1, np.uint8)], 0)   # the count of a block only the pool refers to


def empty(shape, dtype) -> np.ndarray:
    """An uninitialised array like ``numpy.empty(shape, dtype)`` (C order), from a released
    block of the pool when one of the same size is free."""
    shape = tuple(shape)
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES or 2 * nbytes > KEEP_BYTES:
        return np.empty(shape, dtype)
    size = -(-nbytes // _PAGE) * _PAGE
    with _lock:                              # a block is taken (a view made) before another look
        raw = next((_blocks[i] for i in range(len(_blocks))
                    if _blocks[i].size == size and _count(_blocks, i) == _FREE), None)
        if raw is None:
            raw = np.empty(size, np.uint8)
            held = size + sum(b.size for b in _blocks)
            while _blocks and held > KEEP_BYTES:   # forget the oldest; arrays using it keep it alive
                held -= _blocks.pop(0).size
            _blocks.append(raw)
        return raw[:nbytes].view(dtype).reshape(shape)
