"""Gradient transformations: pure, composable, and per member on an ensemble."""

import numpy as np
import pytest

from rnnanalysis.train import (
    SGD,
    AdaptiveClip,
    ClipByGlobalNorm,
    ClipByValue,
    OmegaPenalty,
    StepContext,
    apply_updates,
    chain,
    clip_adaptive,
    clip_by_global_norm,
)


def _grads(rng, scale=1.0):
    return {"weight_hh": scale * rng.normal(size=(3, 3)), "bias_hh": scale * rng.normal(size=3)}


def test_chain_clips_then_steps_and_touches_nothing():
    rng = np.random.default_rng(0)
    g, p = _grads(rng, 10.0), _grads(rng)
    g0, p0 = {k: v.copy() for k, v in g.items()}, {k: v.copy() for k, v in p.items()}
    tx = chain(ClipByGlobalNorm(1.0), SGD(lr=0.1))
    updates, state = tx.update(g, tx.init(p), p)
    clipped = clip_by_global_norm(g, 1.0)
    for k in g:
        np.testing.assert_array_equal(updates[k], -(0.1 * clipped.grads[k]))
        np.testing.assert_array_equal(g[k], g0[k])
        np.testing.assert_array_equal(p[k], p0[k])
    assert state[0].norm == clipped.norm > 1 and state[0].clipped and state[1].count == 1
    new = apply_updates(p, updates)
    assert new is not p and all(not np.shares_memory(new[k], p[k]) for k in p)


@pytest.mark.parametrize("make", [lambda: ClipByGlobalNorm(1.0), lambda: ClipByValue(0.5),
                                  lambda: AdaptiveClip(0.01)])
def test_ensemble_is_per_member(make):
    rng = np.random.default_rng(1)
    members = [_grads(rng, s) for s in (0.1, 10.0, 3.0)]
    params = [_grads(rng) for _ in members]
    stack = {k: np.stack([m[k] for m in members]) for k in members[0]}
    pstack = {k: np.stack([m[k] for m in params]) for k in params[0]}
    tx = make()
    out, st = tx.update(stack, tx.init(pstack), pstack, context=StepContext(ensemble=3))
    for e, (g, p) in enumerate(zip(members, params, strict=True)):
        alone, st1 = tx.update(g, tx.init(p), p)
        for k in g:
            np.testing.assert_array_equal(out[k][e], alone[k])
        assert st.norm[e] == st1.norm and st.clipped[e] == st1.clipped
    assert st.norm.shape == (3,)


def test_bad_transformations():
    with pytest.raises(TypeError, match="chain"):
        chain(SGD(0.1), lambda g: g)
    with pytest.raises(ValueError, match="context"):
        OmegaPenalty(2.0).update({"weight_hh": np.zeros((2, 2))}, OmegaPenalty(2.0).init({}))
    with pytest.raises(ValueError, match="max_norm"):
        ClipByGlobalNorm(-1.0)
    with pytest.raises(ValueError, match="params"):
        clip_adaptive({"w": np.ones(2)}, {})


def test_the_global_norm_does_not_depend_on_the_blas_threads():
    # a long dot product split over OpenBLAS threads sums in another order; the norm is taken on
    # one thread, so a training step's clipping is the same whichever thread count is set
    import math

    from threadpoolctl import threadpool_limits

    from rnnanalysis.train.transform import member_norms

    grads = {"w": np.random.default_rng(0).normal(size=(512, 257)), "b": np.arange(5.0)}
    exact = math.fsum(float(x) * float(x) for g in grads.values() for x in g.ravel()) ** 0.5
    with threadpool_limits(limits=1):
        one = member_norms(grads)
    with threadpool_limits(limits=2):
        two = member_norms(grads)
    assert one == two
    assert abs(one - exact) <= 1e-13 * exact
