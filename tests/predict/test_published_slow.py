"""Slow studies: published mean-field exponents of large tanh networks; a 20 000 x 20 000 sparse W."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import rnnanalysis as ra


@pytest.mark.slow
@pytest.mark.parametrize("g, lam", [(1.5, 0.065), (2.0, 0.155), (3.0, 0.310)])
def test_large_tanh_network_reaches_the_mean_field_exponent(g, lam):
    """published.md: h_{t+1} = W tanh(h_t), g > 1: lambda_max = 0.065, 0.155, 0.310 nats/step (mean field)."""
    n = 1024
    cell = ra.Elman(n, 1, init="gaussian", gain=g, seed=5)
    h0 = np.random.default_rng(0).normal(size=(1, n))
    ly = ra.lyapunov_spectrum(cell, np.zeros((1500, 1, 1)), h0=h0, k=1, warmup=300)
    assert ly.lambda_max[0] == pytest.approx(lam, abs=0.01)
    assert ra.mean_field("tanh", g).rate_nats_per_step == pytest.approx(lam, abs=5e-4)


@pytest.mark.slow
def test_sparse_twenty_thousand():
    n, g, per_row = 20_000, 1.0, 15
    rng = np.random.default_rng(3)
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, n, size=n * per_row)
    W = sp.csr_matrix((rng.normal(0, g / math.sqrt(per_row), n * per_row), (rows, cols)), shape=(n, n))
    p = ra.predict(W, horizon=3)
    assert not p.complete and p.n == n
    assert p.spectral_radius == pytest.approx(g, rel=0.05)           # circular law (sparse, same variance)
    # sigma_max against an independent route: the top eigenvalue of W^T W (Lanczos on the symmetric product)
    top = spla.eigsh(W.T @ W, k=1, which="LA", return_eigenvectors=False)[0]
    assert p.sigma_max == pytest.approx(math.sqrt(top), rel=1e-6)
    assert p.sigma_max == pytest.approx(2 * g, rel=0.15)             # near the Bai-Yin edge (sparse rows)
