"""BLAS threads for time loops and large products: measured, kept for a while, never for small ones."""

import importlib

import numpy as np

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


def test_without_threadpoolctl_nothing_is_measured(monkeypatch):
    monkeypatch.setattr(threads, "_controller", lambda: None)
    monkeypatch.setattr(threads, "_measure_one_thread", lambda *a: 1 / 0)
    assert threads._one_thread(64, 256, 256, np.float64)


def test_the_measurement_runs_and_decides():
    assert threads._measure_one_thread(64, 128, 128, np.float64) in (True, False)



def test_workers_are_at_most_the_tasks_and_the_cpus():
    import os

    assert threads.workers(1) == 1
    assert 1 <= threads.workers(64) <= (os.cpu_count() or 1)
