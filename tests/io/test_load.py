"""Loading what people save: whole state dicts, prefixes, file formats, and the messages on bad files."""

import io
import logging
import struct
import sys
import zipfile

import numpy as np
import pytest

import rnnanalysis as ra
from rnnanalysis.cli import main
from rnnanalysis.io import load_arrays, read_layout


def _model_dict(cell, prefix="rnn."):
    """A model's state dict: the recurrent layer under ``prefix`` and a readout head."""
    sd = {f"{prefix}{k}": v for k, v in cell.state_dict().items()}
    sd.update({"fc.weight": np.ones((2, cell.hidden)), "fc.bias": np.zeros(2)})
    return sd


def _cli(*argv):
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("prefix", ["rnn.", "encoder.lstm.", ""])
def test_prefix_and_readout_keys(prefix, caplog):
    cell = ra.LSTM(3, 2, seed=1)
    sd = _model_dict(cell, prefix)
    with caplog.at_level(logging.INFO, logger="rnnanalysis.io"):
        back = ra.from_state_dict("lstm", sd)
    for k in cell.params:
        np.testing.assert_array_equal(back.params[k], cell.params[k])
    layout = read_layout(sd)
    assert (layout.prefix, layout.kind, layout.layers) == (prefix, "lstm", 1)
    assert set(layout.used_keys) == {prefix + k for k in cell.state_dict()}
    assert layout.ignored_keys == ("fc.bias", "fc.weight")
    assert "ignored 2 other key(s): fc.bias, fc.weight" in caplog.text


def test_several_recurrent_layers_need_a_prefix():
    sd = {**_model_dict(ra.LSTM(3, 2, seed=1), "encoder.lstm."),
          **_model_dict(ra.GRU(4, 3, seed=2), "decoder.")}
    with pytest.raises(ValueError, match=r"2 recurrent layers; choose one with prefix=, one of "
                                         r"\['decoder.', 'encoder.lstm.'\]"):
        ra.from_state_dict(None, sd)
    assert isinstance(ra.from_state_dict(None, sd, prefix="decoder"), ra.GRU)       # dot optional
    assert isinstance(ra.from_state_dict(None, sd, prefix="encoder.lstm."), ra.LSTM)
    with pytest.raises(ValueError, match=r"prefix: no recurrent layer under 'dec'; found"):
        ra.from_state_dict(None, sd, prefix="dec")


def test_bidirectional_and_projections_are_refused_by_name():
    sd = ra.GRU(3, 2, seed=0).state_dict()
    with pytest.raises(ValueError, match="bidirectional"):
        ra.from_state_dict("gru", {**sd, **{k + "_reverse": v for k, v in sd.items()}})
    sd = ra.LSTM(3, 2, seed=0).state_dict()
    with pytest.raises(ValueError, match="proj_size"):
        ra.from_state_dict("lstm", {**sd, "weight_hr_l0": np.ones((2, 3))})


def test_layers_without_biases_get_zero_biases():
    cell = ra.Elman(3, 2, seed=0)
    sd = {k: v for k, v in cell.state_dict().items() if k.startswith("weight")}
    back = ra.from_state_dict("elman", sd)
    np.testing.assert_array_equal(back.params["bias_hh"], np.zeros(3))
    np.testing.assert_array_equal(back.params["weight_hh"], cell.params["weight_hh"])


def test_npz_and_safetensors_files_give_the_same_cell(tmp_path):
    save_file = pytest.importorskip("safetensors.numpy").save_file

    cell = ra.GRU(4, 3, seed=3)
    sd = _model_dict(cell)
    np.savez(tmp_path / "m.npz", **sd)
    save_file(sd, str(tmp_path / "m.safetensors"))
    for name in ("m.npz", "m.safetensors"):
        arrays = load_arrays(tmp_path / name)
        back = ra.from_state_dict(None, arrays)
        for k in cell.params:
            np.testing.assert_array_equal(back.params[k], cell.params[k])


def test_cli_reads_prefixed_files_and_says_what_it_used(tmp_path):
    save_file = pytest.importorskip("safetensors.numpy").save_file

    cell = ra.LSTM(4, 2, seed=5)
    sd = {**_model_dict(cell, "encoder.lstm."), **_model_dict(ra.GRU(3, 2, seed=0), "decoder.")}
    save_file(sd, str(tmp_path / "m.safetensors"))
    code, _, err = _cli("profile", tmp_path / "m.safetensors", "--T", "5")
    assert code == 2 and "choose one with prefix=" in err
    code, out, err = _cli("profile", tmp_path / "m.safetensors", "--T", "5", "--prefix", "encoder.lstm")
    assert code == 0, err
    assert "lstm x 1 layer(s) from 4 keys (prefix 'encoder.lstm.'" in out
    assert "ignored 6 other key(s)" in out


def test_safetensors_files_need_the_package(tmp_path, monkeypatch):
    header = b'{"W":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}'
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # as if it were not installed
    with pytest.raises(ValueError, match=r"needs the safetensors package \(pip install "
                                         r"rnnanalysis\[safetensors\]\)"):
        load_arrays(tmp_path / "m.safetensors")


def test_pickled_data_is_never_loaded_from_other_names(tmp_path):
    import pickle

    (tmp_path / "w.npy").write_bytes(pickle.dumps({"weight_hh": np.eye(3)}))
    with pytest.raises(ValueError, match="pickled data, which rnnanalysis never loads"):
        load_arrays(tmp_path / "w.npy")


def test_pt_files_need_torch(tmp_path, monkeypatch):
    (tmp_path / "m.pt").write_bytes(b"\x80\x02}q\x00.")          # a legacy torch.save of {}
    monkeypatch.setitem(sys.modules, "torch", None)               # as if torch were not installed
    with pytest.raises(ValueError, match=r"m.pt: a PyTorch file \(.pt/.pth\) needs PyTorch"):
        load_arrays(tmp_path / "m.pt")


# ---- messages on bad files (issue 14, item 8) ---------------------------------------------------

def test_big_endian_npy_is_read(tmp_path):
    W = np.random.default_rng(0).standard_normal((5, 5))
    np.save(tmp_path / "w.npy", W.astype(">f8"))
    got = load_arrays(tmp_path / "w.npy")["W"]
    assert got.dtype == np.float64 and got.dtype.isnative
    np.testing.assert_array_equal(got, W)
    code, out, err = _cli("predict", tmp_path / "w.npy", "--json")
    assert code == 0, err


def test_text_npz_is_called_text_not_pickled(tmp_path):
    (tmp_path / "w.npz").write_text("weight_hh = [[1, 0], [0, 1]]\n")
    with pytest.raises(ValueError, match="it is a text file") as info:
        load_arrays(tmp_path / "w.npz")
    assert "pickle" not in str(info.value)


def test_many_member_npz_gives_a_short_message(tmp_path):
    np.savez(tmp_path / "many.npz", **{f"a{i}": np.zeros(1) for i in range(5000)})
    code, _, err = _cli("profile", tmp_path / "many.npz", "--T", "5")
    assert code == 2 and len(err) < 300 and "5000" in err, err


def _npz_claiming(size):
    """A small .npz whose zip directory says its member expands to ``size`` bytes."""
    buf = io.BytesIO()
    np.savez_compressed(buf, W=np.zeros((4, 4)))
    data = bytearray(buf.getvalue())
    cd = data.rindex(b"PK\x01\x02")                 # the central directory entry
    data[cd + 24: cd + 28] = struct.pack("<I", size)
    return bytes(data)


def test_expanding_npz_is_refused_before_reading(tmp_path):
    (tmp_path / "bomb.npz").write_bytes(_npz_claiming(1_800_000_000))
    with pytest.raises(ValueError, match=r"expand to 1716.6 MB, more than the limit of 1024 MB"):
        load_arrays(tmp_path / "bomb.npz")
    np.savez_compressed(tmp_path / "zeros.npz", W=np.zeros((500, 500)))   # 2 MB expanded, a few KB on disk
    with zipfile.ZipFile(tmp_path / "zeros.npz") as z:
        assert z.infolist()[0].file_size > 2_000_000 > 50 * (tmp_path / "zeros.npz").stat().st_size
    code, _, err = _cli("predict", tmp_path / "zeros.npz", "--max-bytes", "1000000")
    assert code == 2 and "more than the limit of 1 MB (raise it with max_bytes= / --max-bytes)" in err
    assert _cli("predict", tmp_path / "zeros.npz", "--max-bytes", "3000000", "--json")[0] == 0
