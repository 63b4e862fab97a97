"""The recurrent product of one time step, ``(rows x k)(k x p)``, as column blocks of small BLAS calls.

A time loop makes one such product a step with the same weight. OpenBLAS (0.3.x, AVX-512
kernels) runs a product of at most ~10^6 multiply-adds through its small-matrix kernels, which
read the weight in place; a larger one first packs the whole (k x p) weight, again at every step.
With few rows that packing costs as much as the arithmetic: the LSTM's backward product
(16 x 512)(512 x 128) took 28 us a call whole and 18 us as two blocks of 64 columns
(``scripts/benchmarks/train_step.py --parts``). So a product of at most :data:`SMALL_ROWS` rows
and more than :data:`SMALL_PRODUCT` multiply-adds runs as column blocks of at most that many
(no narrower than :data:`MIN_WIDTH`). The blocks are a fixed rule, not a measurement, so the
results do not depend on the machine; the NumPy loops and the compiled replay make the same calls.
"""

from __future__ import annotations

import numpy as np

from .._kernel import part

#: Most multiply-adds of one block of a per-step product.
SMALL_PRODUCT = 1 << 19
#: Products with more rows than this run whole (their packing is shared by enough rows).
SMALL_ROWS = 32
#: Narrowest column block.
MIN_WIDTH = 32


def column_blocks(rows: int, k: int, p: int) -> list:
    """Slices of the p output columns of a (rows x k)(k x p) product: one slice of all of them,
    or 2^j equal blocks of at most :data:`SMALL_PRODUCT` multiply-adds."""
    c = 1
    if rows <= SMALL_ROWS:
        while rows * k * p > SMALL_PRODUCT * c and p % (2 * c) == 0 and p // (2 * c) >= MIN_WIDTH:
            c *= 2
    w = p // c
    return [slice(i * w, (i + 1) * w) for i in range(c)]


def matmul(a, w, out=None):
    """``numpy.matmul(a, w, out=out)`` for a per-step product, in :func:`column_blocks`."""
    if out is None:
        out = np.empty(np.broadcast_shapes(a.shape[:-2], w.shape[:-2]) + (a.shape[-2], w.shape[-1]),
                       np.result_type(a, w))
    blocks = column_blocks(a.shape[-2], w.shape[-2], w.shape[-1])
    if len(blocks) == 1:
        return np.matmul(a, w, out=out)
    for sl in blocks:
        np.matmul(a, w[..., sl], out=out[..., sl])
    return out


def record(prog, a, w, out):
    """:func:`matmul` of :class:`rnnanalysis._kernel.Program` operands ``(array, bytes per step)``."""
    blocks = column_blocks(a[0].shape[-2], w[0].shape[-2], w[0].shape[-1])
    if len(blocks) == 1:
        prog.matmul(a, w, out)
        return
    for sl in blocks:
        prog.matmul(a, part(w, np.s_[..., sl]), part(out, np.s_[..., sl]))
