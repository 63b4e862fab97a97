"""Pascanu's one-unit network: loss by hand, gradient against finite differences."""

import math

import numpy as np

from rnnanalysis.predict.one_unit import one_unit_loss


def test_one_unit_gradient_matches_finite_differences():
    w, b = np.array([6.0, 2.0, 5.0]), np.array([-2.0, 0.5, -2.6])
    loss, grad = one_unit_loss(w, b)
    h = 1e-6
    for k, (dw, db) in enumerate(((h, 0), (0, h))):
        fd = (one_unit_loss(w + dw, b + db)[0] - one_unit_loss(w - dw, b - db)[0]) / (2 * h)
        assert np.allclose(grad[:, k], fd, rtol=1e-5, atol=1e-10)
    # the recursion by hand: x_t = w sigma(x_{t-1}) + b, x_0 = 0.5
    x = 0.5
    for _ in range(50):
        x = w[0] / (1 + math.exp(-x)) + b[0]
    assert abs(loss[0] - (1 / (1 + math.exp(-x)) - 0.7) ** 2) < 1e-12
