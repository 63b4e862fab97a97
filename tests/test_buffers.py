"""The scratch-array pool: memory is reused only after every array using it is gone."""

import numpy as np

import rnnanalysis as ra
from rnnanalysis import _buffers


def _address(a):
    return a.__array_interface__["data"][0]


def test_a_released_block_is_reused_and_a_held_one_is_not():
    shape = (_buffers.MIN_BYTES // 8 + 7, 3)
    a = _buffers.empty(shape, np.float64)
    first = _address(a)
    view = a[1:]                                  # a view alone keeps the block in use
    del a
    b = _buffers.empty(shape, np.float64)
    assert _address(b) != first
    del view
    c = _buffers.empty(shape, np.float64)         # now free: the same memory comes back
    assert _address(c) == first
    assert c.shape == shape and c.dtype == np.float64 and c.flags.c_contiguous and c.flags.aligned
    del b, c


def test_small_and_huge_arrays_bypass_the_pool():
    small = _buffers.empty((4, 4), np.float32)
    huge_len = _buffers.KEEP_BYTES // 8            # more than half of what the pool keeps
    assert small.base is None and small.shape == (4, 4)
    assert _buffers.empty((huge_len,), np.float64).base is None


def test_results_a_caller_keeps_are_not_overwritten_by_later_calls():
    rng = np.random.default_rng(0)
    for cell in (ra.LSTM(64, 32, seed=0), ra.GRU(64, 32, seed=1), ra.Elman(64, 32, seed=2)):
        xs = rng.normal(size=(60, 16, 32))
        first = ra.simulate(cell, xs)
        grads = ra.bptt(cell, xs, rng.normal(size=(16, 64)), trajectory=first)
        kept = first.states.copy(), grads.adjoints.copy(), grads.grad_xs.copy()
        for _ in range(3):                        # same shapes, other values
            tr = ra.simulate(cell, -xs)
            ra.bptt(cell, -xs, rng.normal(size=(16, 64)), trajectory=tr)
        for now, then in zip((first.states, grads.adjoints, grads.grad_xs), kept, strict=True):
            assert np.array_equal(now, then)
