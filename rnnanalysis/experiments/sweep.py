"""Run a function over a grid on any ``concurrent.futures.Executor``, resumably.

``sweep(fn, grid, executor=None, store=PATH)`` calls ``fn(**point.kwargs, seed=point.seed)``
(the point's parameters but ``replicate``) for every grid point (see
:class:`~rnnanalysis.experiments.grid.Grid` for the seeds), on a local process pool by
default or on any executor you pass, including a Dask cluster's. The driver appends each
finished point to the store at once (workers never touch it), so:

* an interrupted sweep (Ctrl-C, a killed driver, a lost worker) keeps every finished point,
  and running it again computes only the missing ones;
* a corrupt or torn store line is reported (:class:`~rnnanalysis.experiments.store.StoreWarning`)
  and that point recomputed;
* results are normalised through JSON in the worker, so a fresh result, a resumed one and
  one computed on another machine compare equal bit for bit (floats round-trip exactly).

A store belongs to one sweep: its header names the function's ``module:qualname``, the root
seed and the axis names, and another sweep is refused (the axes' values may grow). The driver
holds a lock on it, so a second driver on the same store is told so. After changing what a
function computes, start a new store.

On a Dask cluster
-----------------
One machine::

    from distributed import LocalCluster, Client
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        res = ra.sweep(fn, grid, executor=client.get_executor(), store="runs/gain.jsonl")

Several machines: start a scheduler on one (``dask scheduler`` prints its address,
``tcp://HOST:8786``), then on every machine that should compute, in an environment with
rnnanalysis installed (``pip install "rnnanalysis[distributed]"``)::

    dask worker tcp://HOST:8786 --nworkers 4 --nthreads 1

and from the driver (which holds the store)::

    from distributed import Client
    client = Client("tcp://HOST:8786")
    ra.sweep(fn, grid, executor=client.get_executor(), store="runs/gain.jsonl")

or ``rnnanalysis sweep CONFIG --scheduler tcp://HOST:8786``. ``fn`` must be importable on the
workers (a function of an installed package, such as the built-in ones in
:data:`SWEEP_FUNCTIONS`); the scheduler reruns the tasks of a worker that dies elsewhere.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import tempfile
import time
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from .._results import Result, jsonable
from .grid import Grid
from .pool import local_pool
from .store import Store

__all__ = ["SweepError", "SweepResult", "sweep", "function_name"]


IN_FLIGHT = 1024          # points submitted ahead to an executor passed in (a local pool: 2 per worker)
MAX_ATTEMPTS = 3          # a point lost with a dying local worker this often is a failure


class SweepError(RuntimeError):
    """Some points raised; the others finished (and are in the store, if one was given)."""


@dataclass(frozen=True)
class SweepResult(Result):
    """records: one dict per grid point in grid order (params, seed, result, elapsed_s, ...).

    computed: points run now; resumed: points read from the store; skipped_lines: store lines
    reported corrupt and ignored.
    """

    fn: str
    grid: dict
    records: tuple
    computed: int
    resumed: int
    skipped_lines: int

    @property
    def results(self) -> list:
        """The results in grid order (as JSON values: non-finite floats are "inf"/"-inf"/"nan")."""
        return [r["result"] for r in self.records]

    def array(self, field: str) -> np.ndarray:
        """``result[field]`` of every point as an array of the grid's shape (+ the field's own)."""
        shape = tuple(len(v) for v in self.grid["axes"].values())
        try:
            values = [r["result"][field] for r in self.records]
        except (KeyError, TypeError):
            raise ValueError(f"field: {field!r} is not a key of every result") from None
        arr = np.array(values, dtype=object)
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            pass
        return arr.reshape(shape + arr.shape[1:])


def function_name(fn) -> str:
    """``module:qualname`` of ``fn``, the name records are filed under."""
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"


def _check_signature(fn, name, params):
    """Fail fast, before any work is sent out, if fn cannot take the grid's parameters and seed."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):                # some builtins have no signature: let it run
        return
    try:
        sig.bind(**params, seed=0)
    except TypeError as exc:
        raise TypeError(f"grid: {name} cannot be called with the parameters {sorted(params)} and seed= "
                        f"({exc})") from None


def _run_point(fn, params, seed):
    """Worker side: call fn, time it, and return its result as plain JSON values."""
    start = time.perf_counter()
    value = fn(**params, seed=seed)
    elapsed = time.perf_counter() - start
    try:
        return json.loads(json.dumps(jsonable(value), allow_nan=False)), elapsed
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{function_name(fn)} returned a value that is not JSON-safe "
                        f"(numbers, strings, lists, dicts, arrays, Results): {exc}") from None


def _run_point_to_file(fn, params, seed, outdir):
    """Worker side of the local pool: the result goes into a new file in ``outdir`` and only its
    name back through the pool's pipe. A worker killed while it sends a large message through
    that pipe leaves it half written and the pool waiting forever (a CPython ProcessPoolExecutor
    limitation); a short message is written whole."""
    value, elapsed = _run_point(fn, params, seed)
    fd, path = tempfile.mkstemp(suffix=".json", dir=outdir)
    with os.fdopen(fd, "w") as fh:
        json.dump(value, fh, allow_nan=False)
    return path, elapsed


def _take(path) -> object:
    """The result a worker left in the file ``path`` (which is removed)."""
    with open(path) as fh:
        value = json.load(fh)
    os.unlink(path)
    return value


def _finished(contents, name, grid) -> dict:
    """Point key -> the first stored record of a point of ``grid``: same fn, root seed, key and seed."""
    done = {}
    for rec in contents.records if contents else ():
        if rec["fn"] != name or rec["root_seed"] != grid.seed or rec["key"] in done:
            continue
        try:
            point = grid.point(**json.loads(rec["key"]))
        except (ValueError, TypeError, RecursionError):    # not a point of this grid
            continue
        if point.key == rec["key"] and point.seed == rec["seed"]:
            done[rec["key"]] = rec
    return done


def sweep(fn, grid, executor: Executor | None = None, store=None, *, max_workers=None,
          progress=None) -> SweepResult:
    """Call ``fn(**point.kwargs, seed=point.seed)`` on every point of ``grid``.

    Args:
        fn: the function of one point; returns numbers, arrays, dicts of them, or a Result.
        grid: a :class:`Grid`, or a mapping of axes (root seed 0).
        executor: any ``concurrent.futures.Executor``; default a local process pool of
            ``max_workers`` processes (they exit if the driver dies), shut down at the end; if
            one of its workers dies, the pool is restarted and the lost points rerun (a point
            lost ``MAX_ATTEMPTS`` times is a failure).
        store: path of a JSON-lines store; finished points are appended at once and points
            already there (same ``fn``, root seed and parameters) are not recomputed.
        progress: ``progress(done, total, record)``, called once before any point runs
            (``record=None``) and after each finished point.

    Points are enumerated lazily and only a few are submitted ahead of the workers. Returns a
    :class:`SweepResult`; raises :class:`SweepError` after all points ran if some raised (the
    first error is its ``__cause__``).

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from rnnanalysis.experiments.functions import gradient_decay
        >>> with ThreadPoolExecutor(2) as ex:
        ...     res = sweep(gradient_decay, Grid({"gain": [0.5, 2.0], "T": 20, "hidden": 8,
        ...                                           "activation": "linear"}), ex)
        >>> res.array("rate_log10_per_step").ravel() < 0
        array([ True, False])
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    grid = grid if isinstance(grid, Grid) else Grid(grid)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor: expected a concurrent.futures.Executor, got {type(executor).__name__}")
    name = function_name(fn)
    _check_signature(fn, name, grid[0].kwargs)
    st = None if store is None else (store if isinstance(store, Store) else Store(store))
    total = len(grid)
    with ExitStack() as stack:
        writer = None if st is None else stack.enter_context(st.writer(name, grid.seed, grid.axes))
        contents = writer.contents if writer is not None else None
        done = _finished(contents, name, grid)
        resumed = len(done)
        if writer is not None and resumed < total:
            writer.check_writable()                # before any work, not after the first point
        if progress is not None:
            progress(resumed, total, None)
        own = executor is None and resumed < total
        if own:
            try:
                pickle.dumps(fn)
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise TypeError(f"fn: {name} cannot be sent to worker processes ({exc}); use a module-level "
                                f"function or pass executor=") from None

        def finish(p, value, elapsed):
            rec = {"fn": name, "key": p.key, "root_seed": grid.seed, "seed": p.seed,
                   "params": p.params, "result": value, "elapsed_s": elapsed}
            done[p.key] = writer.append(rec) if writer is not None else rec
            if progress is not None:
                progress(len(done), total, done[p.key])

        todo = (p for p in grid if p.key not in done)         # lazily: no list of the grid
        failures = _run(fn, todo, executor, finish, max_workers if own else None, own)
    if failures:
        p, exc = min(failures, key=lambda f: f[0].index)
        where = f" (finished points are in {st.path})" if st else ""
        raise SweepError(f"{len(failures)} of {total} points failed; first: {p.params}: "
                         f"{type(exc).__name__}: {exc}{where}") from exc
    records = tuple({**done[key], "params": params} for params, key in grid.keys())   # grid order
    return SweepResult(name, grid.to_dict(), records, total - resumed, resumed,
                       len(contents.problems) if contents else 0)


def _run(fn, todo, executor, finish, max_workers, own) -> list:
    """Run the points of the iterator ``todo``, a bounded number submitted at a time, calling
    ``finish(point, value, elapsed)`` in the driver for each; returns [(point, exception)].

    ``own``: ``executor`` is None and a local pool is made here. When one of its workers dies
    (BrokenProcessPool: every queued point is lost with it) the pool is replaced and the lost
    points go round again; a point lost ``MAX_ATTEMPTS - 1`` times then runs alone, and if its
    worker dies then too it is a failure (so a point that kills its worker cannot take the
    points queued beside it down with it).
    """
    failures, retry, alone, attempts = [], deque(), deque(), {}
    broken, solo = False, None
    if own:
        executor = local_pool(max_workers)
        window = 2 * (max_workers or os.cpu_count() or 1)
        outdir = tempfile.TemporaryDirectory(prefix="rnnanalysis-sweep-", ignore_cleanup_errors=True)
    else:
        window = IN_FLIGHT
    futures = {}

    def lose(p, exc):
        nonlocal broken
        broken = True
        attempts[p.key] = attempts.get(p.key, 0) + 1
        if p is solo:
            failures.append((p, BrokenProcessPool(f"its worker process died each of the {attempts[p.key]} "
                                                  f"times it ran, the last time alone ({exc})")))
        else:
            (alone if attempts[p.key] >= MAX_ATTEMPTS - 1 else retry).append(p)

    def submit(p):
        try:
            futures[executor.submit(_run_point_to_file, fn, p.kwargs, p.seed, outdir.name) if own
                    else executor.submit(_run_point, fn, p.kwargs, p.seed)] = p
        except BrokenProcessPool as exc:
            if not own:
                raise
            lose(p, exc)

    try:
        while True:
            if not broken and alone and not futures:
                solo = alone.popleft()
                submit(solo)
            while not broken and not alone and solo is None and len(futures) < window:
                p = retry.popleft() if retry else next(todo, None)
                if p is None:
                    break
                submit(p)
            if not futures:
                if not broken and not alone:
                    return failures
                if broken:
                    broken = False
                    warnings.warn(f"a worker process died; restarted the local pool to rerun "
                                  f"{len(retry) + len(alone)} unfinished points", RuntimeWarning,
                                  stacklevel=3)
                    executor.shutdown(wait=True, cancel_futures=True)
                    executor = local_pool(max_workers)
                continue
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: futures[f].index):
                p = futures.pop(fut)
                try:
                    value, elapsed = fut.result()
                    value = _take(value) if own else value
                except BrokenProcessPool as exc:
                    if own:
                        lose(p, exc)
                    else:
                        failures.append((p, exc))
                    continue
                except Exception as exc:  # a point's own error: keep going, report at the end
                    failures.append((p, exc))
                    continue
                finally:
                    solo = None if p is solo else solo
                finish(p, value, elapsed)
    finally:
        for fut in futures:
            fut.cancel()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
            outdir.cleanup()
