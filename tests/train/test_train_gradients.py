"""Exact gradients: finite differences for every cell x normalisation x loss, through the readout."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.cells import BatchNormRNN, LayerNormElman, LayerNormLSTM
from rnnanalysis.testing import check_jacobian, numeric_gradient
from rnnanalysis.train import loss_and_grads, make_network

CORES = {
    "elman": lambda m: ra.Elman(3, m, seed=0),
    "lstm": lambda m: ra.LSTM(3, m, seed=0, forget_bias=1.0),
    "gru": lambda m: ra.GRU(3, m, seed=0),
    "ln_elman": lambda m: LayerNormElman(3, m, seed=0),
    "ln_lstm": lambda m: LayerNormLSTM(3, m, seed=0, forget_bias=1.0),
    "bn_elman": lambda m: BatchNormRNN("elman", 3, m, seed=0, gamma=0.5),
    "bn_lstm": lambda m: BatchNormRNN("lstm", 3, m, seed=0, gamma=0.5),
}
LOSSES = [("mse", "last"), ("ce", "last"), ("ce", "every"), ("mse", "every")]


def _problem(loss, at, seed=0, T=5, B=6, m=2, k=3):
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(T, B, m))
    shape = (B,) if at == "last" else (T, B)
    targets = rng.normal(size=shape + (k,)) if loss == "mse" else rng.integers(0, k, shape)
    return xs, targets


def _perturbed(net, seed=1):
    rng = np.random.default_rng(seed)
    return net.with_params({k: v + 0.2 * rng.normal(size=np.shape(v)) for k, v in net.params.items()})


@pytest.mark.parametrize("loss,at", LOSSES)
@pytest.mark.parametrize("core", sorted(CORES))
def test_finite_differences(core, loss, at):
    xs, targets = _problem(loss, at)
    net = _perturbed(make_network(CORES[core](xs.shape[-1]), 3, seed=0))
    got = loss_and_grads(net, xs, targets, loss=loss, at=at).grads
    P = net.params

    def loss_at(name, value):
        return loss_and_grads(net.with_params({**P, name: value}), xs, targets, loss=loss, at=at).loss

    for name, value in P.items():
        num = numeric_gradient(lambda v, name=name: loss_at(name, v), value)
        err = np.linalg.norm(got[name] - num) / max(np.linalg.norm(num), 1e-8)
        assert err < 1e-6, f"{core} {loss}/{at}: {name} relative error {err:.2e}"


@pytest.mark.parametrize("cls", [LayerNormElman, LayerNormLSTM])
def test_layer_norm_cells_keep_the_cell_contract(cls):
    rng = np.random.default_rng(0)
    cell = cls(4, 3, seed=2, init="orthogonal")
    cell = cell.with_params({k: v + 0.3 * rng.normal(size=v.shape) for k, v in cell.params.items()})
    check_jacobian(cell, rng.normal(size=(2, cell.state_size)), rng.normal(size=(2, 3)), rtol=1e-6)
    ens = cls(4, 3, seed=2, ensemble=2)
    xs = rng.normal(size=(5, 2, 3))
    prof = ra.gradient_profile(ens, xs).log10_norms
    single = cls.from_params({k: v[1] for k, v in ens.params.items()})
    np.testing.assert_allclose(prof[1], ra.gradient_profile(single, xs).log10_norms, rtol=1e-12)


def test_layer_norm_forward_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cell = LayerNormElman(5, 3, seed=1)
    cell = cell.with_params({k: v + 0.3 * rng.normal(size=v.shape) for k, v in cell.params.items()})
    xs = rng.normal(size=(4, 2, 3))
    p = {k: torch.tensor(v) for k, v in cell.params.items()}
    h = torch.zeros(2, 5, dtype=torch.float64)
    for t in range(4):
        a = torch.tensor(xs[t]) @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
        h = torch.tanh(torch.nn.functional.layer_norm(a, (5,), p["ln_weight"], p["ln_bias"], eps=1e-5))
    np.testing.assert_allclose(ra.simulate(cell, xs).states[-1], h.numpy(), rtol=1e-12)


def test_layer_norm_extra_params_validated():
    cell = LayerNormElman(3, 2, seed=0)
    with pytest.raises(ValueError, match="ln_weight"):
        cell.with_params({**cell.params, "ln_weight": np.ones(4)})
    with pytest.raises(ValueError, match="missing keys"):
        LayerNormElman.from_params(dict(ra.Elman(3, 2, seed=0).params))


@pytest.mark.parametrize("core", ["elman", "lstm", "ln_lstm", "bn_lstm"])
def test_float32_matches_float64(core):
    xs, targets = _problem("ce", "last")
    net64 = _perturbed(make_network(CORES[core](xs.shape[-1]), 3, seed=0))
    net32 = type(net64)(net64.core.astype(np.float32), net64.readout_weight.astype(np.float32),
                        net64.readout_bias.astype(np.float32))
    g64 = loss_and_grads(net64, xs, targets, loss="ce", at="last").grads
    g32 = loss_and_grads(net32, xs, targets, loss="ce", at="last").grads
    for k in g64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], rtol=2e-4, atol=1e-6)
