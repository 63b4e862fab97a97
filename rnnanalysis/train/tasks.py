"""The classic long-range tasks as exact, seeded batch generators with their chance baselines.

Every task draws a :class:`Batch` of ``B`` sequences of length ``T`` (time-major ``xs (T, B, m)``)
from a ``numpy.random.Generator``; the same seed gives bit-identical batches. Each task knows
its loss (``"mse"`` or ``"ce"``), where the loss applies (``"last"`` step or ``"every"`` step),
its chance-level ``baseline`` (the loss of the best input-blind predictor) and when an
evaluation counts as solved.

References:
    Hochreiter & Schmidhuber (1997), "Long short-term memory", Exps. 4-6 (adding,
    multiplication, temporal order); Martens & Sutskever (2011) and Pascanu, Mikolov & Bengio
    (2013), sec. 4 (the same suite, random permutation); Le, Jaitly & Hinton (2015) and
    Arjovsky, Shah & Bengio (2016) (adding with one marker per half; copy memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import positive_int, rng_from

__all__ = ["Batch", "Task", "TASKS", "get_task"]


@dataclass(frozen=True)
class Batch:
    """xs: (T, B, m) inputs; targets: (B, k) floats (mse), (B,) ints (ce, last) or (T, B) ints
    (ce, every); mask: (T, B) bool, the steps an "every" task scores for its error rate (the
    loss averages over all steps), else None."""

    xs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class Task:
    """A task: ``sample(length, batch, seed)`` -> :class:`Batch`.

    inputs m, outputs k (classes for ce); ``loss`` "mse"/"ce"; ``at`` "last"/"every";
    ``baseline(length)`` the chance-level loss (nats for ce); ``tolerance``: a regression
    answer is wrong if ``|error| >= tolerance``; ``solved_error_rate``: solved when the error
    rate on fresh sequences is below it; ``solved_mse``: or (if set) when the MSE is below it.
    ``jitter``: the length of each batch is drawn from ``[T, T + floor(jitter*T)]``.
    """

    name: str
    inputs: int
    outputs: int
    loss: str
    at: str
    draw: object
    baseline_fn: object
    reference: str
    tolerance: float = 0.04
    solved_error_rate: float = 0.01
    solved_mse: float | None = None
    jitter: float = 0.0

    def baseline(self, length: int) -> float:
        return float(self.baseline_fn(_length(length)))

    def sample(self, length: int, batch: int, seed=None) -> Batch:
        """``batch`` sequences of length ``length`` (plus jitter) drawn with ``seed``."""
        T, B = _length(length), positive_int("batch", batch)
        rng = rng_from(seed)
        if self.jitter:
            T += int(rng.integers(0, int(self.jitter * T) + 1))
        return self.draw(T, B, rng)


def _length(length):
    T = positive_int("length", length)
    if T < 2:
        raise ValueError(f"length: expected a sequence length >= 2, got {T}")
    return T


def _two_markers(rng, B, first, second):
    """Marker positions: one uniform in [first[0], first[1]), one in [second[0], second[1])."""
    return (rng.integers(first[0], max(first[1], first[0] + 1), B),
            rng.integers(second[0], max(second[1], second[0] + 1), B))


def _marked_pairs(T, B, rng, low, pos1, pos2):
    values = rng.uniform(low, 1.0, (T, B))
    marks = np.zeros((T, B))
    cols = np.arange(B)
    marks[pos1, cols] = 1.0
    marks[pos2, cols] = 1.0
    return np.stack([values, marks], axis=-1), values[pos1, cols], values[pos2, cols]


def _adding_hs(T, B, rng):
    """H&S 1997 Exp. 4: values U[-1,1]; X1 among the first 10, X2 among the first T/2 - 1."""
    p1, p2 = rng.integers(0, min(10, T), B), rng.integers(0, max(T // 2 - 1, 1), B)
    p2 = np.where(p2 == p1, (p2 + 1) % max(T // 2 - 1, 2), p2)     # two distinct positions
    xs, x1, x2 = _marked_pairs(T, B, rng, -1.0, p1, p2)
    x1 = np.where(p1 == 0, 0.0, x1)                                 # H&S: X1 = 0 if first pair
    xs[0, p1 == 0, 0] = 0.0
    return Batch(xs, (0.5 + (x1 + x2) / 4.0)[:, None])


def _adding_sum(T, B, rng):
    """Le 2015 / Arjovsky 2016: U[0,1]; one marker uniform in each half; target the sum."""
    p1, p2 = _two_markers(rng, B, (0, T // 2), (T // 2, T))
    xs, x1, x2 = _marked_pairs(T, B, rng, 0.0, p1, p2)
    return Batch(xs, (x1 + x2)[:, None])


def _multiplication(T, B, rng):
    """H&S 1997 Exp. 5 / Pascanu 2013: U[0,1]; markers in [0, 0.1T) and [0.1T, 0.5T); product."""
    p1, p2 = _two_markers(rng, B, (0, max(T // 10, 1)), (max(T // 10, 1), max(T // 2, 2)))
    xs, x1, x2 = _marked_pairs(T, B, rng, 0.0, p1, p2)
    return Batch(xs, (x1 * x2)[:, None])


def _temporal_order(bits):
    windows = {2: ((0.1, 0.2), (0.5, 0.6)), 3: ((0.1, 0.2), (0.3, 0.4), (0.6, 0.7))}[bits]

    def draw(T, B, rng):
        """Pascanu 2013 / H&S Exp. 6: 6 one-hot symbols (A, B, 4 distractors); class = the order."""
        sym = rng.integers(2, 6, (T, B))
        label = np.zeros(B, dtype=np.int64)
        cols = np.arange(B)
        for lo, hi in windows:
            a, b = int(lo * T), max(int(hi * T), int(lo * T) + 1)
            pos = rng.integers(a, b, B)
            bit = rng.integers(0, 2, B)
            sym[pos, cols] = bit
            label = 2 * label + bit
        return Batch(np.eye(6)[sym], label)

    return draw


def _copy_memory(T, B, rng):
    """Arjovsky 2016: 10 symbols a0..a7, T-1 blanks (8), delimiter (9), 10 blanks; recall the 10."""
    L = T + 20
    seq = np.full((L, B), 8, dtype=np.int64)
    seq[:10] = rng.integers(0, 8, (10, B))
    seq[T + 9] = 9
    targets = np.full((L, B), 8, dtype=np.int64)
    targets[T + 10:] = seq[:10]
    mask = np.zeros((L, B), dtype=bool)
    mask[T + 10:] = True
    return Batch(np.eye(10)[seq], targets, mask)


def _random_permutation(T, B, rng):
    """Martens & Sutskever 2011: 100 one-hot symbols; the first is 0 or 1, the rest 2..99;
    predict the first at the last step."""
    seq = rng.integers(2, 100, (T, B))
    seq[0] = rng.integers(0, 2, B)
    return Batch(np.eye(100)[seq], seq[0].copy())


TASKS = {
    "adding_hs": Task("adding_hs", 2, 1, "mse", "last", _adding_hs,
                      lambda T: (2.0 - 1.0 / min(10, T)) / 48.0,
                      "Hochreiter & Schmidhuber 1997, Exp. 4 (baseline: predict 0.5; MSE "
                      "(2 - 1/10)/48 = 0.0396, as X1 = 0 when the first pair is marked)",
                      jitter=0.1),
    "adding": Task("adding", 2, 1, "mse", "last", _adding_sum, lambda T: 1.0 / 6.0,
                   "Le et al. 2015; Arjovsky et al. 2016 (baseline: predict 1, MSE 1/6)",
                   solved_mse=0.01),
    "multiplication": Task("multiplication", 2, 1, "mse", "last", _multiplication,
                           lambda T: 7.0 / 144.0,
                           "H&S 1997 Exp. 5; Pascanu et al. 2013 (baseline: predict 1/4, MSE 7/144)",
                           jitter=0.1),
    "temporal_order": Task("temporal_order", 6, 4, "ce", "last", _temporal_order(2),
                           lambda T: math.log(4), "Pascanu et al. 2013; H&S 1997 Exp. 6a (chance ln 4)",
                           jitter=0.1),
    "temporal_order_3bit": Task("temporal_order_3bit", 6, 8, "ce", "last", _temporal_order(3),
                                lambda T: math.log(8),
                                "Pascanu et al. 2013; H&S 1997 Exp. 6b (chance ln 8)", jitter=0.1),
    "copy": Task("copy", 10, 10, "ce", "every", _copy_memory, lambda T: 10 * math.log(8) / (T + 20),
                 "Arjovsky et al. 2016 (memoryless baseline 10 ln 8 / (T + 20))"),
    "random_permutation": Task("random_permutation", 100, 100, "ce", "last", _random_permutation,
                               lambda T: math.log(2),
                               "Martens & Sutskever 2011; Pascanu et al. 2013 (chance ln 2)", jitter=0.1),
}


def get_task(task) -> Task:
    """The :class:`Task` named ``task`` (one of :data:`TASKS`), or ``task`` itself."""
    if isinstance(task, Task):
        return task
    if isinstance(task, str) and task in TASKS:
        return TASKS[task]
    raise ValueError(f"task: unknown task {task!r}; expected one of {sorted(TASKS)}")
