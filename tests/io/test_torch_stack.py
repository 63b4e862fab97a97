"""Saved 2-layer PyTorch LSTM/GRU models (prefix + readout head): per-lag gradient norms agree with
autograd to 1e-10 in log10 over T = 500, and the CLI reads the files. Skipped without torch."""

import numpy as np
import pytest

from rnnanalysis.cli import main

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("scripts/check_against_torch.py")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradient_norms_agree_with_autograd_over_500_steps(script, kind):
    for fmt, (diff, _rel, lowest) in script.agreement(kind, T=500, B=3).items():
        assert diff < 1e-10, (fmt, diff)
        assert lowest < -30                      # the profile really spans many decades


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cli_reads_the_saved_models(script, kind, tmp_path, capsys):
    from safetensors.numpy import save_file

    sd = {k: v.detach().numpy() for k, v in script.build_model(kind).state_dict().items()}
    np.savez(tmp_path / "m.npz", **sd)
    save_file(sd, str(tmp_path / "m.safetensors"))
    for name in ("m.npz", "m.safetensors"):
        path = str(tmp_path / name)
        for argv in (["predict", path, "--prefix", "encoder.rnn"],
                     ["profile", path, "--T", "50", "--prefix", "encoder.rnn."],
                     ["check", path, "--T", "60"]):
            code = main(argv)
            out, err = capsys.readouterr()
            assert code == 0, (argv, err)
            assert f"{kind} x 2 layer(s) from 8 keys (prefix 'encoder.rnn.'" in out
            assert "ignored 2 other key(s): head.bias, head.weight" in out
        assert "Stack([" in out and "lyapunov_lambda1" in out
