"""BLAS threads for time loops and large products: measured, kept for a while, never for small ones."""

import importlib
import os
import sys

import numpy as np
import pytest

threads = importlib.import_module("rnnanalysis._threads")


def test_small_products_take_one_thread_without_measuring(monkeypatch):
    monkeypatch.setattr(threads, "_measure_one_thread", lambda *a: 1 / 0)
    assert threads._one_thread(32, 64, 64, np.float64)                 # 2^18 flops
    with threads.large_product_threads(threads.LARGE_FLOPS - 1, np.float64):
        pass


def test_a_measured_choice_is_kept_then_measured_again(monkeypatch):
    calls, clock = [], [1000.0]
    monkeypatch.setattr(threads, "_CHOICES", {})
    monkeypatch.setattr(threads, "_controller", lambda: object())     # as if threadpoolctl were present
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(threads, "_measure_one_thread", lambda *a: calls.append(a) or len(calls) % 2 == 1)
    assert threads._one_thread(64, 256, 256, np.float64) is True
    clock[0] += threads.RECHECK_SECONDS / 2
    assert threads._one_thread(64, 256, 256, np.float64) is True and len(calls) == 1
    clock[0] += threads.RECHECK_SECONDS
    assert threads._one_thread(64, 256, 256, np.float64) is False and len(calls) == 2


def test_inside_single_blas_thread_nothing_is_measured_or_kept(monkeypatch):
    monkeypatch.setattr(threads, "_CHOICES", {})
    monkeypatch.setattr(threads, "_measure_one_thread", lambda *a: 1 / 0)
    with threads.single_blas_thread():
        assert threads._one_thread(64, 256, 256, np.float64)
        inside = threads.on_threads(lambda x: threads._one_thread(64, 256, 256, np.float64), range(2), 2)
        assert inside == [True, True]
    assert threads._CHOICES == {} and threads._PINNED == [0]


def test_without_threadpoolctl_nothing_is_measured(monkeypatch):
    monkeypatch.setattr(threads, "_controller", lambda: None)
    monkeypatch.setattr(threads, "_measure_one_thread", lambda *a: 1 / 0)
    assert threads._one_thread(64, 256, 256, np.float64)


def test_the_measurement_runs_and_decides():
    assert threads._measure_one_thread(64, 128, 128, np.float64) in (True, False)



def test_workers_are_at_most_the_tasks_and_the_cpus():
    assert threads.workers(1) == 1
    assert 1 <= threads.workers(64) <= (os.cpu_count() or 1)


def test_on_threads_runs_on_kept_workers_in_order_and_in_turn_inside_them():
    import threading

    def name(x):
        return threading.current_thread().name

    seen = {n for _ in range(3) for n in threads.on_threads(name, range(4), 2)}
    assert len(seen) <= 2 and all(n.startswith("rnnanalysis-worker") for n in seen)   # the same two
    for _ in range(3):                  # both at once, every call: each task waits for the other
        meet = threading.Barrier(2)

        def both(x, meet=meet):
            meet.wait(timeout=10)
            return name(x)

        assert len(set(threads.on_threads(both, range(2), 2))) == 2
    assert threads.on_threads(lambda x: x * x, range(5), 2) == [0, 1, 4, 9, 16]
    # a task that itself asks for workers runs them in turn instead of waiting on its own pool
    nested = threads.on_threads(lambda x: threads.on_threads(lambda y: x + y, range(3), 2), range(4), 2)
    assert nested == [[x, x + 1, x + 2] for x in range(4)]
    assert threads.on_threads(name, [0], 1) == [threading.current_thread().name]


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_child_starts_its_own_workers():
    import multiprocessing

    threads.on_threads(abs, [-1, -2], 2)                  # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(threads.on_threads, (abs, [-1, -2, -3], 2)).get(timeout=20) == [1, 2, 3]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two CPUs and sched_getaffinity")
def test_workers_as_many_as_the_cpus_keep_one_cpu_each_and_others_keep_the_schedulers_choice(monkeypatch):
    import threading

    cpus = tuple(sorted(os.sched_getaffinity(0)))

    def affinities(available):
        monkeypatch.setattr(threads, "_cpus", lambda: available)
        monkeypatch.setattr(threads, "_POOLS", {})             # a new pool for this CPU set
        meet = threading.Barrier(2)

        def where(x):
            meet.wait(timeout=10)
            return frozenset(os.sched_getaffinity(0))

        return sorted(threads.on_threads(where, range(2), 2), key=sorted)

    assert affinities(cpus[:2]) == [frozenset({cpus[0]}), frozenset({cpus[1]})]
    assert affinities(cpus[:2] + (max(cpus) + 1,)) == [frozenset(cpus)] * 2    # 3 CPUs, 2 workers
