import numpy as np
import pytest

from rnnanalysis import init


def test_orthogonal_is_orthogonal(rng):
    q = init.orthogonal((50, 50), rng, gain=1.3)
    np.testing.assert_allclose(q @ q.T, 1.69 * np.eye(50), atol=1e-12)
    r = init.orthogonal((20, 5), rng)
    np.testing.assert_allclose(r.T @ r, np.eye(5), atol=1e-12)


def test_scale_to_spectral_radius(rng):
    w = init.gaussian((64, 64), rng)
    np.testing.assert_allclose(init.spectral_radius(init.scale_to_spectral_radius(w, 0.95)), 0.95, rtol=1e-12)
    with pytest.raises(ValueError, match="spectral radius is 0"):
        init.scale_to_spectral_radius(np.triu(np.ones((3, 3)), 1), 1.0)
    with pytest.raises(ValueError, match="square"):
        init.spectral_radius(np.ones((2, 3)))


def test_variances_follow_their_formulas(rng):
    n = 400
    assert np.var(init.xavier_uniform((n, n), rng)) == pytest.approx(2.0 / (2 * n), rel=0.02)
    assert np.var(init.he_normal((n, n), rng)) == pytest.approx(2.0 / n, rel=0.02)
    k = 1 / np.sqrt(n)
    w = init.pytorch_default((n, n), rng, hidden=n)
    assert w.max() <= k and w.min() >= -k and np.var(w) == pytest.approx(k * k / 3, rel=0.02)


def test_sparse_has_fixed_nonzeros_per_row(rng):
    # Pascanu et al. (2013): 15 non-zeros per row ("smart tanh").
    w = init.sparse((40, 40), rng, nonzeros=15)
    assert set(np.count_nonzero(w, axis=1)) == {15}


def test_identity():
    np.testing.assert_array_equal(init.identity((3, 3), gain=2.0), 2 * np.eye(3))
