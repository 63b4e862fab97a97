"""The compiled time loops (rnnanalysis._kernel) give the NumPy path's results bit for bit.

Both paths run in the same process: ``_kernel.ENABLED`` switches the compiled replay off. The
module is built by ``pip install -e .`` (or ``python setup.py build_ext --inplace``); without it
these tests skip, unless RNNANALYSIS_REQUIRE_KERNEL=1 (CI builds it and sets that).
"""

import os
import warnings

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis import _kernel

if _kernel._runner is None:
    if os.environ.get("RNNANALYSIS_REQUIRE_KERNEL") == "1":
        raise ImportError("rnnanalysis._kernel._runner is not built (RNNANALYSIS_REQUIRE_KERNEL=1)")
    pytest.skip("compiled kernel not built (pip install -e . or python setup.py build_ext --inplace)",
                allow_module_level=True)


def _both(monkeypatch, fn):
    """fn() with the compiled loops, then with the NumPy loops; counts the compiled runs."""
    runs = []
    real = _kernel.Program.run
    monkeypatch.setattr(_kernel.Program, "run", lambda self, T: (runs.append(T), real(self, T)))
    monkeypatch.setattr(_kernel, "ENABLED", True)
    fast = fn()
    monkeypatch.setattr(_kernel, "ENABLED", False)
    slow = fn()
    return fast, slow, len(runs)


def _results(cell, xs, rng):
    lead = (cell.ensemble,) if cell.ensemble else ()
    grad = rng.normal(size=lead + (xs.shape[1], cell.hidden))
    out = {"states": ra.simulate(cell, xs).states,
           "profile": ra.gradient_profile(cell, xs).log10_norms,
           "checkpointed": ra.gradient_profile(cell, xs, checkpoint=7).log10_norms}
    res = ra.bptt(cell, xs, grad)
    out.update({"adjoints": res.adjoints, "grad_xs": res.grad_xs, **res.grads})
    every = ra.bptt(cell, xs, rng.normal(size=(xs.shape[0],) + grad.shape), at="every", checkpoint=40)
    out.update({"every " + k: v for k, v in every.grads.items()}, every_adjoints=every.adjoints)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("kind", ["Elman", "LayerNormElman", "LSTM", "LayerNormLSTM", "GRU"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ensemble", [None, 3])
def test_compiled_loops_equal_the_numpy_loops_bit_for_bit(monkeypatch, kind, activation, dtype, ensemble):
    rng = np.random.default_rng(0)
    cell = getattr(ra, kind)(24, 5, activation, seed=1, dtype=dtype, ensemble=ensemble, gain=1.2,
                             init="orthogonal")
    xs = rng.normal(size=(150, 4, 5))
    fast, slow, runs = _both(monkeypatch, lambda: _results(cell, xs, np.random.default_rng(2)))
    assert runs > 0 or kind.startswith("LayerNorm")     # layer norm: its own loops, not replayed
    for key in slow:
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key)


def test_the_step_product_in_column_blocks_is_the_same_product(monkeypatch):
    """Small blocks forced at a test size: both paths still agree bit for bit, and with the
    whole product to rounding (float64)."""
    from rnnanalysis.cells import step_products

    assert step_products.column_blocks(16, 512, 128) == [slice(0, 64), slice(64, 128)]
    assert step_products.column_blocks(64, 512, 128) == [slice(0, 128)]       # many rows: whole
    assert step_products.column_blocks(16, 128, 128) == [slice(0, 128)]       # small already
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(60, 4, 5))
    for kind in ("Elman", "LSTM", "GRU"):
        cell = getattr(ra, kind)(24, 5, seed=1, gain=1.2, init="orthogonal")
        whole = _results(cell, xs, np.random.default_rng(2))
        with monkeypatch.context() as m:
            m.setattr(step_products, "SMALL_PRODUCT", 1 << 9)
            m.setattr(step_products, "MIN_WIDTH", 6)
            assert len(step_products.column_blocks(4, 24, 24)) == 4
            fast, slow, runs = _both(m, lambda c=cell: _results(c, xs, np.random.default_rng(2)))
        assert runs > 0
        for key in slow:
            np.testing.assert_array_equal(fast[key], slow[key], err_msg=key)
            np.testing.assert_allclose(fast[key], whole[key], rtol=1e-12, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_lstm_steps_replayed_op_by_op_without_the_fused_calls_give_the_same_bits(monkeypatch, dtype):
    """A build without ``_runner.fused`` replays the LSTM's elementwise calls one by one: the
    same results as the fused steps and the NumPy loop."""
    rng = np.random.default_rng(0)
    cell = ra.LSTM(24, 5, seed=1, dtype=dtype, gain=1.2, init="orthogonal")
    xs = rng.normal(size=(80, 4, 5))
    fused = _results(cell, xs, np.random.default_rng(2))
    monkeypatch.delattr(_kernel._runner, "fused")
    fast, slow, runs = _both(monkeypatch, lambda: _results(cell, xs, np.random.default_rng(2)))
    assert runs > 0
    for key in slow:
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key)
        np.testing.assert_array_equal(fused[key], slow[key], err_msg=key)


def test_a_custom_activation_runs_the_numpy_loop(monkeypatch):
    act = ra.custom_activation(lambda a: a / (1 + np.abs(a)), lambda a: 1 / (1 + np.abs(a)) ** 2,
                               gamma=1.0, name="softsign")
    cell = ra.Elman(8, 3, act, seed=0)
    xs = np.random.default_rng(0).normal(size=(40, 2, 3))
    fast, slow, _ = _both(monkeypatch, lambda: ra.simulate(cell, xs).states)
    np.testing.assert_array_equal(fast, slow)
    assert not _kernel.replay(cell.dtype, 5, lambda prog: _kernel.activation(prog, act, (xs, 0), (xs, 0)))


def test_the_runner_refuses_malformed_programs_and_non_ufuncs():
    with pytest.raises(ValueError, match="program"):
        _kernel._runner.run(np.array([1, 0, 0, 2], np.int64), 3)
    with pytest.raises(ValueError, match="program"):
        _kernel._runner.run(np.array([0, 5], np.int64), 3)
    with pytest.raises(TypeError, match="ufunc"):
        _kernel._runner.loop(np.add.reduce, b"\x0c\x0c\x0c")
    assert _kernel._runner.loop(np.tanh, bytes([99, 99])) is None


def test_a_program_of_mismatched_operands_is_refused_before_it_runs():
    prog = _kernel.Program(np.float64)
    with pytest.raises(_kernel.KernelUnavailable, match="shapes"):
        prog.ufunc(np.add, (np.zeros(3), 0), (np.zeros(4), 0), (np.zeros(3), 0))
    with pytest.raises(_kernel.KernelUnavailable, match="dtype"):       # NumPy's loop casts instead
        prog.ufunc(np.add, (np.zeros(3, np.float32), 0), 1.0, (np.zeros(3), 0))
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(_kernel.KernelUnavailable, match="read-only"):
        prog.ufunc(np.add, (np.zeros(3), 0), 1.0, (frozen, 0))
    with pytest.raises(_kernel.KernelUnavailable, match="shapes"):
        prog.matmul((np.zeros((2, 3)), 0), (np.zeros((4, 2)), 0), (np.zeros((2, 2)), 0))


def test_an_ensemble_swept_in_two_groups_on_threads_equals_its_members(monkeypatch):
    import importlib

    simulate = importlib.import_module("rnnanalysis.simulate")     # (ra.simulate is the function)
    pools, on_threads = [], simulate.on_threads
    monkeypatch.setattr(simulate, "SPLIT_FLOPS", 0)
    monkeypatch.setattr(simulate, "workers", lambda tasks: min(tasks, 2))
    monkeypatch.setattr(simulate, "on_threads",
                        lambda fn, items, k: pools.append(k) or on_threads(fn, items, k))
    ens = ra.LSTM(8, 3, ensemble=5, seed=0)
    xs = np.random.default_rng(0).normal(size=(200, 2, 3))
    profile = ra.gradient_profile(ens, xs).log10_norms
    assert pools == [2]
    for e in range(5):
        member = ra.LSTM.from_params({k: v[e] for k, v in ens.params.items()})
        alone = ra.gradient_profile(member, xs).log10_norms
        np.testing.assert_allclose(profile[e], alone, rtol=1e-12, atol=1e-12)


def test_floating_point_exceptions_are_reported_as_numpy_reports_them():
    cell = ra.Elman(4, 2, activation="relu", init="identity", gain=1e200, seed=0)
    xs = np.ones((5, 1, 2))
    for enabled in (True, False):
        with ra.compiled_loops(enabled):
            with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="overflow"):
                ra.simulate(cell, xs)
            with np.errstate(over="raise"), pytest.raises(FloatingPointError, match="overflow"):
                ra.simulate(cell, xs)
            with np.errstate(all="ignore"):
                assert not np.isfinite(ra.simulate(cell, xs).states).all()


def test_a_program_that_would_leave_its_arrays_is_refused():
    h = np.zeros((5, 2, 3))
    prog = _kernel.Program(np.float64)
    prog.ufunc(np.add, _kernel.along(h, 0), 1.0, _kernel.along(h, 1))
    prog.run(4)                                   # h[1..4] = h[0..3] + 1
    assert h[4, 0, 0] == 4.0
    with pytest.raises(ValueError, match="leaves its array"):
        prog.run(5)
    back = _kernel.Program(np.float64)
    back.ufunc(np.add, _kernel.along(h, 2, -1), 1.0, _kernel.along(h, 2, -1))
    with pytest.raises(ValueError, match="leaves its array"):
        back.run(4)


def test_a_float32_sweep_whose_step_input_is_rescaled_in_float64_runs_like_numpy():
    # renormalised_sweep multiplies a vanishing adjoint by 10**shift (float64): the replay
    # raised TypeError on the float64 operand instead of leaving the step to NumPy's loop
    cell = ra.Elman(1, 3, "relu", seed=36, dtype=np.float32)
    xs = np.random.default_rng(0).normal(size=(17, 2, 3))
    with ra.compiled_loops(False):
        slow = ra.gradient_profile(cell, xs).log10_norms
    np.testing.assert_array_equal(ra.gradient_profile(cell, xs).log10_norms, slow)


def test_read_only_memory_is_never_written_by_a_replay():
    cell = ra.Elman(4, 2, seed=0)
    u = cell.project(np.random.default_rng(0).normal(size=(6, 3, 2)))
    frozen = u.copy()
    frozen.flags.writeable = False       # (a read-only memmap here crashed the process)
    with pytest.raises(ValueError, match="read-only"):
        cell.forward(frozen, np.zeros((3, 4)))
    np.testing.assert_array_equal(frozen, u)


def test_backward_steps_refuses_a_negative_first_step():
    cell = ra.Elman(4, 2, seed=0)
    xs = np.random.default_rng(0).normal(size=(6, 3, 2))
    fc = cell.run(xs, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="^lo: "):     # the NumPy loop wrapped around to the end
        cell.backward_steps(fc.cache, -2, 6, np.ones((3, 4)), np.zeros((8, 3, 4)))


@pytest.mark.parametrize("kind", ["Elman", "LSTM", "GRU"])
def test_saturated_sigmoids_warn_in_neither_path(kind):
    # activations.sigmoid ignores exp's overflow (the result, 0, is right); the replay reported it
    cell = getattr(ra, kind)(4, 2, "sigmoid" if kind == "Elman" else "tanh", seed=0)
    xs = np.full((5, 3, 2), -1e4)
    for enabled in (True, False):
        with ra.compiled_loops(enabled), warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(over="raise"):
                states = ra.simulate(cell, xs).states
        assert np.isfinite(states).all()
