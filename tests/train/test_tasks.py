"""Task generators: shapes, seeds, the rules of each task, and chance baselines by Monte Carlo."""

import math

import numpy as np
import pytest

from rnnanalysis.train import TASKS, get_task
from rnnanalysis.train.losses import cross_entropy, mse


@pytest.mark.parametrize("name", sorted(TASKS))
def test_shapes_and_seeds(name):
    task = get_task(name)
    a, b = task.sample(40, 7, seed=3), task.sample(40, 7, seed=3)
    assert np.array_equal(a.xs, b.xs) and np.array_equal(a.targets, b.targets)
    T = a.xs.shape[0]
    expected_T = 40 + 20 if name == "copy" else 40
    assert expected_T <= T <= expected_T + int(task.jitter * 40)
    assert a.xs.shape[1:] == (7, task.inputs)
    c = task.sample(40, 7, seed=4)
    assert not np.array_equal(a.xs, c.xs)


def _positions(batch):
    return [np.flatnonzero(batch.xs[:, b, 1]) for b in range(batch.xs.shape[1])]


def test_adding_sum_rules():
    b = get_task("adding").sample(30, 200, seed=0)
    for j, pos in enumerate(_positions(b)):
        assert len(pos) == 2 and pos[0] < 15 <= pos[1]
        assert b.targets[j, 0] == pytest.approx(b.xs[pos, j, 0].sum())
    assert b.xs[:, :, 0].min() >= 0


def test_adding_hs_rules():
    b = get_task("adding_hs").sample(100, 300, seed=1)
    for j, pos in enumerate(_positions(b)):
        assert len(pos) == 2 and pos[0] < 10
        assert pos.max() < b.xs.shape[0] // 2 - 1
        assert b.targets[j, 0] == pytest.approx(0.5 + b.xs[pos, j, 0].sum() / 4)
    assert b.xs[:, :, 0].min() < -0.9


@pytest.mark.parametrize("name,bits", [("temporal_order", 2), ("temporal_order_3bit", 3)])
def test_temporal_order_rules(name, bits):
    b = get_task(name).sample(50, 100, seed=2)
    sym = b.xs.argmax(-1)
    for j in range(100):
        rel = np.flatnonzero(sym[:, j] < 2)
        assert len(rel) == bits
        label = 0
        for p in rel:
            label = 2 * label + sym[p, j]
        assert label == b.targets[j]
    assert set(np.unique(b.targets)) == set(range(2 ** bits))


def test_copy_rules():
    T = 12
    b = get_task("copy").sample(T, 5, seed=0)
    seq = b.xs.argmax(-1)
    assert np.all(seq[T + 9] == 9) and np.all(seq[10:T + 9] == 8) and np.all(seq[:10] < 8)
    assert np.array_equal(b.targets[T + 10:], seq[:10]) and np.all(b.targets[:T + 10] == 8)
    assert b.mask.sum() == 50


def test_random_permutation_rules():
    b = get_task("random_permutation").sample(20, 50, seed=0)
    seq = b.xs.argmax(-1)
    assert np.array_equal(seq[0], b.targets) and np.all(seq[1:] >= 2)


@pytest.mark.parametrize("name,constant", [("adding", 1.0), ("adding_hs", 0.5), ("multiplication", 0.25)])
def test_regression_baselines_monte_carlo(name, constant):
    task = get_task(name)
    b = task.sample(20, 200_000, seed=5)
    value, _ = mse(np.full_like(b.targets, constant), b.targets)
    assert value == pytest.approx(task.baseline(20), rel=0.02)


def test_classification_baselines_exact():
    for name, k in [("temporal_order", 4), ("temporal_order_3bit", 8)]:
        value, _ = cross_entropy(np.zeros((10, k)), np.arange(10) % k)
        assert value == pytest.approx(get_task(name).baseline(50))
    assert get_task("random_permutation").baseline(50) == pytest.approx(math.log(2))
    # copy: predict blank with certainty until the recall, then uniform over the 8 symbols
    T = 100
    b = get_task("copy").sample(T, 4, seed=0)
    logits = np.full((T + 20, 4, 10), -1e9)
    logits[: T + 10, :, 8] = 0.0
    logits[T + 10:, :, :8] = 0.0
    value, _ = cross_entropy(logits, b.targets)
    assert value == pytest.approx(get_task("copy").baseline(T)) and round(value, 4) == 0.1733


def test_bad_input():
    with pytest.raises(ValueError, match="length"):
        get_task("adding").sample(1, 4)
    with pytest.raises(ValueError, match="batch"):
        get_task("adding").sample(10, 0)
    with pytest.raises(ValueError, match="unknown task"):
        get_task("addition")
