"""Same parameters, same inputs: our forward pass and gradients equal PyTorch autograd's."""

import numpy as np
import pytest

import rnnanalysis as ra

torch = pytest.importorskip("torch")

MODULES = {"elman": lambda n, m, act: torch.nn.RNN(m, n, nonlinearity=act),
           "lstm": lambda n, m, act: torch.nn.LSTM(m, n), "gru": lambda n, m, act: torch.nn.GRU(m, n)}


@pytest.mark.parametrize("kind,act", [("elman", "tanh"), ("elman", "relu"), ("lstm", "tanh"),
                                      ("gru", "tanh")])
def test_forward_and_gradients_equal_pytorch(kind, act, rng):
    n, m, T, B = 6, 3, 40, 4
    torch.manual_seed(0)
    mod = MODULES[kind](n, m, act).double()
    cell = ra.from_state_dict(kind, {k: v.detach().numpy() for k, v in mod.state_dict().items()}, act)
    xs = rng.normal(size=(T, B, m))
    w = rng.normal(size=(T, B, n))
    x_t = torch.tensor(xs, requires_grad=True)
    out, _ = mod(x_t)
    loss = (out * torch.tensor(w)).sum()
    loss.backward()
    ours = ra.bptt(cell, xs, w, at="every")
    np.testing.assert_allclose(ra.simulate(cell, xs).states[1:], out.detach().numpy(), rtol=1e-12, atol=1e-13)
    for name, p in mod.named_parameters():
        got, want = ours.grads[name[:-3]], p.grad.numpy()
        assert np.linalg.norm(got - want) <= 1e-12 * np.linalg.norm(want), name
    np.testing.assert_allclose(ours.grad_xs, x_t.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_profile_stays_finite_where_pytorch_underflows(rng):
    # A contracting tanh RNN over 2000 steps: autograd's gradient of h_T w.r.t. h_0 underflows to
    # exactly 0 in float64, while the log-space profile keeps the exact decay rate.
    n, T = 8, 2000
    cell = ra.Elman(n, 1, init="orthogonal", gain=0.5, seed=0, activation="tanh")
    xs = np.zeros((T, 1, 1))
    h0 = torch.zeros(1, n, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(cell.params["weight_hh"])
    h = h0
    for _ in range(T):
        h = torch.tanh(h @ w.T)
    h.sum().backward()
    assert float(h0.grad.abs().max()) == 0.0
    prof = ra.gradient_profile(cell, xs)
    assert np.isfinite(prof.log10_norms[0, 0])
    np.testing.assert_allclose(prof.log10_norms[0, 0], T * np.log10(0.5), rtol=1e-12)
