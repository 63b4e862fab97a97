"""PyTorch modules and .pt files (skipped without torch)."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.io import load_arrays

torch = pytest.importorskip("torch")


class Model(torch.nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        self.fc = torch.nn.Linear(rnn.hidden_size, 2)


def test_relu_rnn_stays_relu():
    torch.manual_seed(0)
    cell = ra.from_torch(Model(torch.nn.RNN(3, 5, nonlinearity="relu")).double())
    assert isinstance(cell, ra.Elman) and cell.activation.name == "relu"
    assert ra.from_torch(torch.nn.RNNCell(3, 5)).activation.name == "tanh"


def test_from_torch_matches_the_module_and_names_what_it_refuses(rng):
    torch.manual_seed(1)
    mod = torch.nn.GRU(3, 4, bias=False).double()
    cell = ra.from_torch(mod)
    xs = rng.normal(size=(7, 2, 3))
    out, _ = mod(torch.tensor(xs))
    np.testing.assert_allclose(ra.simulate(cell, xs).states[1:], out.detach().numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="bidirectional"):
        ra.from_torch(torch.nn.LSTM(3, 4, bidirectional=True))
    with pytest.raises(ValueError, match="proj_size"):
        ra.from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    two = torch.nn.ModuleDict({"a": torch.nn.GRU(3, 4), "b": torch.nn.LSTM(3, 4)})
    with pytest.raises(ValueError, match=r"choose one with prefix=, one of \['a', 'b'\]"):
        ra.from_torch(two)
    assert isinstance(ra.from_torch(two, prefix="b"), ra.LSTM)


def test_pt_checkpoints_load_through_weights_only(tmp_path):
    torch.manual_seed(2)
    model = Model(torch.nn.LSTM(3, 4)).double()
    torch.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    arrays = load_arrays(tmp_path / "ckpt.pt")
    assert set(arrays) == {f"model.{k}" for k in model.state_dict()}
    cell = ra.from_state_dict("lstm", arrays)
    np.testing.assert_array_equal(cell.params["weight_hh"], model.rnn.weight_hh_l0.detach().numpy())
    torch.save(model.state_dict(), tmp_path / "sd.npz")              # a torch zip under another name
    with pytest.raises(ValueError, match="pickled data, which rnnanalysis never loads"):
        load_arrays(tmp_path / "sd.npz")


@pytest.mark.parametrize("kind", ["lstm", "gru", "relu"])
def test_multi_layer_modules_equal_pytorch_autograd(kind, rng):
    n, m, T, B = 5, 3, 30, 4
    torch.manual_seed(3)
    mod = {"lstm": lambda: torch.nn.LSTM(m, n, num_layers=3),
           "gru": lambda: torch.nn.GRU(m, n, num_layers=2),
           "relu": lambda: torch.nn.RNN(m, n, num_layers=2, nonlinearity="relu")}[kind]().double()
    stack = ra.from_torch(mod)
    assert isinstance(stack, ra.Stack) and len(stack.layers) == mod.num_layers
    xs, w = rng.normal(size=(T, B, m)), rng.normal(size=(T, B, n))
    x_t = torch.tensor(xs, requires_grad=True)
    out, _ = mod(x_t)
    (out * torch.tensor(w)).sum().backward()
    ours = ra.bptt(stack, xs, w, at="every")
    np.testing.assert_allclose(ra.simulate(stack, xs).states[1:], out.detach().numpy(),
                               rtol=1e-12, atol=1e-13)
    for name, p in mod.named_parameters():
        want = p.grad.numpy()
        assert np.linalg.norm(ours.grads[name] - want) <= 1e-12 * np.linalg.norm(want), name
    np.testing.assert_allclose(ours.grad_xs, x_t.grad.numpy(), rtol=1e-10, atol=1e-13)
