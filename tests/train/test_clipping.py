"""Clipping transforms against PyTorch and against their definitions."""

import numpy as np
import pytest

from rnnanalysis.train import clip_adaptive, clip_by_global_norm, clip_by_value, global_norm


def _grads(scale, seed=0):
    rng = np.random.default_rng(seed)
    return {"weight_hh": scale * rng.normal(size=(4, 4)), "bias": scale * rng.normal(size=4),
            "readout_weight": scale * rng.normal(size=(2, 4))}


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_global_norm_matches_torch(scale):
    torch = pytest.importorskip("torch")
    g = _grads(scale)
    ps = [torch.nn.Parameter(torch.zeros(v.shape, dtype=torch.float64)) for v in g.values()]
    for p, v in zip(ps, g.values(), strict=True):
        p.grad = torch.tensor(v)
    norm = torch.nn.utils.clip_grad_norm_(ps, 1.0)
    out = clip_by_global_norm(g, 1.0)
    assert out.norm == pytest.approx(float(norm), rel=1e-14)
    for p, v in zip(ps, out.grads.values(), strict=True):
        np.testing.assert_allclose(v, p.grad.numpy(), rtol=1e-14, atol=0)
    assert out.clipped == (float(norm) > 1.0)


def test_value_matches_torch():
    torch = pytest.importorskip("torch")
    g = _grads(1.0)
    ps = [torch.nn.Parameter(torch.zeros(v.shape, dtype=torch.float64)) for v in g.values()]
    for p, v in zip(ps, g.values(), strict=True):
        p.grad = torch.tensor(v)
    torch.nn.utils.clip_grad_value_(ps, 0.5)
    out = clip_by_value(g, 0.5)
    for p, v in zip(ps, out.grads.values(), strict=True):
        np.testing.assert_array_equal(v, p.grad.numpy())


def test_global_norm_definition_and_no_mutation():
    g = _grads(10.0)
    before = {k: v.copy() for k, v in g.items()}
    out = clip_by_global_norm(g, 2.0)
    assert global_norm(out.grads) == pytest.approx(2.0, rel=1e-6)
    assert out.norm == pytest.approx(np.sqrt(sum((v ** 2).sum() for v in before.values())))
    for k in g:
        np.testing.assert_array_equal(g[k], before[k])
        assert np.allclose(out.grads[k] / before[k], out.grads["bias"][0] / before["bias"][0])


def test_pascanu_fallback():
    g = _grads(1.0)
    g["bias"][0] = np.nan
    params = {"weight_hh": np.eye(4), "bias": np.ones(4), "readout_weight": np.ones((2, 4))}
    out = clip_by_global_norm(g, 1.0, params=params, fallback=True)
    assert out.fallback and out.clipped and np.isnan(out.norm)
    np.testing.assert_array_equal(out.grads["weight_hh"], 0.02 * np.eye(4))
    assert not out.grads["bias"].any() and not out.grads["readout_weight"].any()
    with pytest.raises(ValueError, match="params"):
        clip_by_global_norm(g, 1.0, fallback=True)


def test_adaptive_unitwise():
    rng = np.random.default_rng(1)
    params = {"w": rng.normal(size=(5, 3)), "b": np.array([0.0, 2.0, -1.0])}
    grads = {"w": rng.normal(size=(5, 3)) * np.array([[0.001], [1], [0.001], [5], [0.0]]),
             "b": np.array([1.0, 0.001, -0.5])}
    lam = 0.05
    out = clip_adaptive(grads, params, lam)
    for i in range(5):                               # one unit per row, checked one by one
        wn, gn = max(np.linalg.norm(params["w"][i]), 1e-3), np.linalg.norm(grads["w"][i])
        want = grads["w"][i] * (lam * wn / gn) if gn > lam * wn else grads["w"][i]
        np.testing.assert_allclose(out.grads["w"][i], want, rtol=1e-13)
    np.testing.assert_allclose(out.grads["b"], [5e-5, 0.001, -0.05], rtol=1e-12)
    assert out.clipped


def test_bad_thresholds():
    for fn, args in [(clip_by_global_norm, ({}, -1.0)), (clip_by_value, ({}, -0.1)),
                     (clip_adaptive, ({}, {}, float("nan")))]:
        with pytest.raises(ValueError, match="expected a finite number >= 0"):
            fn(*args)
