"""The shared argument checks: the message names the argument, the expected range and the value."""

import math

import numpy as np
import pytest

from rnnanalysis._validate import finite_float


@pytest.mark.parametrize("value", [0.5, 0, np.float32(0.25), np.int64(0), np.array(0.75)])
def test_finite_float_accepts_real_numbers(value):
    assert finite_float("lr", value, at_least=0, below=1) == float(value)


@pytest.mark.parametrize("value", ["0.5", None, True, np.bool_(False), [0.5], 1 + 0j])
def test_finite_float_rejects_non_numbers(value):
    with pytest.raises(TypeError, match="^lr: expected a real number"):
        finite_float("lr", value)


@pytest.mark.parametrize("value, bounds, message", [
    (math.nan, {}, "lr: expected a finite number, got nan"),
    (math.inf, {"at_least": 0}, "lr: expected a finite number >= 0, got inf"),
    (-1e-9, {"at_least": 0}, "lr: expected a finite number >= 0, got -1e-09"),
    (0.0, {"above": 0}, "lr: expected a finite number > 0, got 0.0"),
    (1.0, {"at_least": 0, "below": 1}, "lr: expected a finite number >= 0 and < 1, got 1.0"),
    (-2, {"at_least": 0, "unit": "log10 per step"},
     "lr: expected a finite number >= 0 (log10 per step), got -2"),
])
def test_finite_float_names_the_range(value, bounds, message):
    with pytest.raises(ValueError) as err:
        finite_float("lr", value, **bounds)
    assert str(err.value) == message
