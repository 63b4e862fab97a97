"""The README's worked example (docs/examples/trained_lstm.py) runs: train, save, analyse. Needs torch."""

import numpy as np
import pytest

import rnnanalysis as ra

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")


def test_worked_example_trains_saves_and_analyses(tmp_path, capsys, load_script):
    example = load_script("docs/examples/trained_lstm.py")
    result = example.run(tmp_path, steps=20, T=80)
    out = capsys.readouterr().out
    for name in ("model.pt", "model.npz", "check.tex", "profile.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert out.count("lstm x 2 layer(s) from 8 keys (prefix 'rnn.'") == 3          # predict, profile, check
    assert "ignored 2 other key(s): head.bias, head.weight" in out
    assert "\\begin{document}" in (tmp_path / "check.tex").read_text()
    assert np.isfinite(result["mse"]) and np.isfinite(result["rate"])
    assert result["check"].measured_regime in ("vanishing", "critical", "exploding")
    # the .pt and .npz files hold the same network
    a = ra.from_state_dict(None, ra.load_arrays(tmp_path / "model.pt"))
    b = ra.from_state_dict(None, ra.load_arrays(tmp_path / "model.npz"))
    for k, v in a.params.items():
        np.testing.assert_array_equal(b.params[k], v)
