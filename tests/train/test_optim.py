"""Optimisers step for step against torch.optim (same gradients fed to both)."""

import numpy as np
import pytest

from rnnanalysis.train import SGD, Adam, RMSprop, apply_updates, make_optimizer

CASES = [
    (SGD(lr=0.1), "SGD", {"lr": 0.1}),
    (SGD(lr=0.1, momentum=0.9), "SGD", {"lr": 0.1, "momentum": 0.9}),
    (SGD(lr=0.1, momentum=0.9, nesterov=True), "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (RMSprop(lr=0.01), "RMSprop", {"lr": 0.01}),
    (Adam(lr=0.01), "Adam", {"lr": 0.01}),
]


@pytest.mark.parametrize("ours,name,kw", CASES, ids=[c[1] + str(i) for i, c in enumerate(CASES)])
def test_matches_torch(ours, name, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=3)}
    tp = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in params.items()}
    topt = getattr(torch.optim, name)(list(tp.values()), **kw)
    state = ours.init(params)
    for _ in range(6):
        grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
        before = {k: v.copy() for k, v in grads.items()}
        updates, new_state = ours.update(grads, state, params)
        assert all(np.array_equal(before[k], grads[k]) for k in grads)        # pure: inputs untouched
        params, state = apply_updates(params, updates), new_state
        for k, p in tp.items():
            p.grad = torch.tensor(grads[k])
        topt.step()
    for k in params:
        np.testing.assert_allclose(params[k], tp[k].detach().numpy(), rtol=1e-13, atol=1e-15)


def test_analytic_sgd_and_bad_input():
    opt = SGD(lr=0.5)
    u, st = opt.update({"w": np.array([2.0])}, opt.init({"w": np.array([1.0])}))
    assert apply_updates({"w": np.array([1.0])}, u)["w"][0] == 0.0 and st.count == 1
    with pytest.raises(ValueError, match="lr"):
        Adam(lr=-1)
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.0)
    with pytest.raises(ValueError, match="nesterov"):
        SGD(nesterov=True)
    with pytest.raises(ValueError, match="unknown optimiser"):
        make_optimizer("adagrad")
