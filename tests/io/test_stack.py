"""ra.Stack: stacked layers as one cell, against finite differences and the layers run one by one."""

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.testing import check_jacobian, check_vjp

STACKS = {
    "lstm+gru": lambda: ra.Stack([ra.LSTM(3, 2, seed=0), ra.GRU(4, 3, seed=1)]),
    "relu+lstm+elman": lambda: ra.Stack([ra.Elman(3, 2, "relu", seed=2), ra.LSTM(2, 3, seed=3),
                                         ra.Elman(3, 2, seed=4)]),
}


@pytest.fixture(params=sorted(STACKS))
def stack(request):
    return STACKS[request.param]()


def test_forward_is_the_layers_run_one_after_another(stack, rng):
    xs = rng.normal(size=(9, 4, stack.inputs))
    h0 = rng.normal(size=(4, stack.state_size))
    states = ra.simulate(stack, xs, h0)
    inputs = xs
    for cell, blk in zip(stack.layers, stack.state_blocks, strict=True):
        tr = ra.simulate(cell, inputs, h0[:, blk])
        inputs = tr.states[1:]
    np.testing.assert_array_equal(states.states, tr.states)        # the output is the top layer's h
    assert stack.state_size == sum(c.state_size for c in stack.layers)


def test_one_step_vjp_against_finite_differences(stack, rng):
    s = 0.5 * rng.normal(size=(2, stack.state_size))
    x = rng.normal(size=(2, stack.inputs))
    check_jacobian(stack, s, x, rtol=1e-7)                          # g_state row by row
    assert set(check_vjp(stack, s, x, rtol=1e-7)) == {"state", "x", *stack.params}


def test_profile_and_its_layer_blocks_match_plain_bptt(stack, rng):
    T, B = 30, 3
    xs = rng.normal(size=(T, B, stack.inputs))
    prof = ra.gradient_profile(stack, xs)
    v = np.ones((B, stack.hidden)) / np.sqrt(stack.hidden)
    adj = ra.bptt(stack, xs, v).adjoints                           # (T+1, B, S), no renormalisation
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(prof.log10_norms, np.log10(np.linalg.norm(adj, axis=-1)), atol=1e-12)
        blocks = np.stack([np.log10(np.linalg.norm(adj[..., b], axis=-1)) for b in stack.state_blocks], -1)
    np.testing.assert_allclose(prof.layer_log10_norms[:-1], blocks[:-1], atol=1e-12)
    assert abs(prof.layer_log10_norms[-1, 0, -1]) < 1e-15          # v on the top layer's h only
    assert np.all(prof.layer_log10_norms[-1, :, :-1] == -np.inf)


def test_predictions_accept_a_stack(rng):
    stack = STACKS["lstm+gru"]()
    xs = rng.normal(size=(60, 2, stack.inputs))
    # the stacked step Jacobian is block lower-triangular: its spectrum is the layers' spectra
    radii = [ra.predict(c, reference=(np.zeros(c.state_size), np.zeros(c.inputs))).spectral_radius
             for c in stack.layers]       # a Stack is analysed at s = 0, x = 0 (no mean field for it yet)
    assert ra.predict(stack).spectral_radius == pytest.approx(max(radii), rel=1e-10)
    table = ra.check_predictions(stack, xs)
    assert table.measured_regime == "vanishing"
    ly = ra.lyapunov_spectrum(stack, xs, k=stack.state_size)
    assert ly.exponents.shape == (2, stack.state_size)
    assert ra.jacobian_products(stack, xs[:5]).log10_singular_values.shape == (6, 2, stack.state_size)


def test_round_trip_through_a_state_dict():
    stack = STACKS["lstm+gru"]()
    with pytest.raises(ValueError, match="layers: expected a list of two or more cells"):
        ra.Stack([stack.layers[0]])
    sd = stack.state_dict()
    assert sorted(sd) == sorted(f"{k}_l{i}" for i in range(2) for k in ra.cells.PARAM_NAMES)
    same = ra.Stack([ra.LSTM(3, 2, seed=0), ra.LSTM(3, 3, seed=1)])
    back = ra.from_state_dict("lstm", {f"rnn.{k}": v for k, v in same.state_dict().items()})
    assert isinstance(back, ra.Stack) and [type(c) for c in back.layers] == [ra.LSTM, ra.LSTM]
    for k, v in same.params.items():
        np.testing.assert_array_equal(back.params[k], v)
    assert back.astype(np.float32).dtype == np.float32


def test_bad_stacks_are_refused_by_name():
    with pytest.raises(ValueError, match=r"layers\[1\]: expected inputs = layer 0's hidden size 3, got 2"):
        ra.Stack([ra.GRU(3, 2), ra.GRU(3, 2)])
    with pytest.raises(TypeError, match=r"layers\[0\]: expected an Elman, LSTM or GRU cell, got LayerNorm"):
        ra.Stack([ra.LayerNormLSTM(3, 2), ra.GRU(3, 3)])
    with pytest.raises(ValueError, match="ensemble"):
        ra.Stack([ra.GRU(3, 2, ensemble=2), ra.GRU(3, 3, ensemble=2)])
    with pytest.raises(ValueError, match="layer numbers .* should run 0, 1, ..., got \\[0, 2\\]"):
        sd = ra.GRU(3, 2).state_dict()
        ra.from_state_dict("gru", {**sd, **{k.replace("_l0", "_l2"): v for k, v in sd.items()}})


def test_cli_profile_reports_each_layer(tmp_path, capsys):
    import json

    from rnnanalysis.cli import main

    mixed = STACKS["lstm+gru"]()                   # PyTorch stacks one kind: a GRU layer 1 is refused
    np.savez(tmp_path / "m.npz", **{f"rnn.{k}": v for k, v in mixed.state_dict().items()})
    assert main(["profile", str(tmp_path / "m.npz"), "--T", "40"]) == 2
    assert "layer 1 (rnn.…_l1): weight_hh: expected shape (16, 4)" in capsys.readouterr().err
    stack = ra.Stack([ra.Elman(3, 2, seed=0), ra.Elman(4, 3, seed=1)])
    np.savez(tmp_path / "m.npz", **{f"rnn.{k}": v for k, v in stack.state_dict().items()})
    assert main(["profile", str(tmp_path / "m.npz"), "--T", "40", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    xs = np.random.default_rng(0).standard_normal((40, 8, 2))      # the CLI's inputs: --seed 0, --batch 8
    want = ra.gradient_profile(stack, xs).layer_log10_norms[0].mean(axis=0)
    np.testing.assert_allclose(data["layer_log10_norm_mean"][-1], want, rtol=1e-12)
    assert main(["profile", str(tmp_path / "m.npz"), "--T", "40"]) == 0
    text = capsys.readouterr().out
    assert "each layer's block at lag 40 (log10 norm, mean over the batch): layer 1 " in text
