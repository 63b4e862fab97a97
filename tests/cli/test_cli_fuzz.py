"""CLI fuzzing: random argument lists and broken weight files never give a traceback.

Every run must end with status 0, or with status 2 and exactly one line
``rnnanalysis: error: ...`` on stderr (status 1 would be an internal error: a bug).
"""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npformat

import rnnanalysis as ra
from rnnanalysis.cli import main


def _npy_bytes(arr, **kw):
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def _header_only(shape):
    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 64


def _npz_bytes(compress=False, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def _zip_of_text():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("W.npy", "this is not an array")
    return buf.getvalue()


_W = np.random.default_rng(0).standard_normal((4, 4))
_SD = {k + "_l0": v for k, v in ra.Elman(4, 2, seed=0).params.items()}

BAD_FILES = {
    "truncated.npy": _npy_bytes(_W)[:150],
    "truncated_header.npy": _npy_bytes(_W)[:30],
    "int.npy": _npy_bytes(np.arange(16).reshape(4, 4)),
    "complex.npy": _npy_bytes(_W + 1j),
    "bool.npy": _npy_bytes(_W > 0),
    "strings.npy": _npy_bytes(np.array([["a", "b"], ["c", "d"]])),
    "structured.npy": _npy_bytes(np.zeros((2, 2), dtype=[("a", "f8")])),
    "float16.npy": _npy_bytes(_W.astype(np.float16)),
    "object.npy": _npy_bytes(np.array([[1.0, None], [None, 2.0]], dtype=object), allow_pickle=True),
    "nan.npy": _npy_bytes(np.full((3, 3), np.nan)),
    "inf.npy": _npy_bytes(np.where(np.eye(3) > 0, np.inf, 0.0)),
    "empty_0x0.npy": _npy_bytes(np.zeros((0, 0))),
    "vector.npy": _npy_bytes(np.ones(4)),
    "scalar.npy": _npy_bytes(np.float64(2.0)),
    "cube.npy": _npy_bytes(np.ones((2, 2, 2))),
    "rectangular.npy": _npy_bytes(np.ones((3, 4))),
    "huge_header.npy": _header_only((100000, 100000)),
    "absurd_header.npy": _header_only((10 ** 12, 10 ** 12)),
    "empty_file.npy": b"",
    "text.npy": b"W = [[1, 2], [3, 4]]\n",
    "pickle.npy": pickle.dumps(_W),
    "random.npz": np.random.default_rng(1).bytes(300),
    "truncated.npz": _npz_bytes(True, W=_W)[:-40],
    "corrupt.npz": _npz_bytes(True, W=_W)[:50] + b"\x00" * 40 + _npz_bytes(True, W=_W)[90:],
    "zip_of_text.npz": _zip_of_text(),
    "object.npz": _npz_bytes(W=np.array([None, 1], dtype=object)),
    "two_matrices.npz": _npz_bytes(A=_W, B=_W),
    "no_arrays.npz": _npz_bytes(),
    "sd_missing.npz": _npz_bytes(**{k: v for k, v in _SD.items() if k != "bias_hh_l0"}),
    "sd_extra.npz": _npz_bytes(**_SD, weight_hh_l1=_W),
    "sd_shapes.npz": _npz_bytes(**{**_SD, "bias_ih_l0": np.zeros(5)}),
    "sd_nan.npz": _npz_bytes(**{**_SD, "weight_hh_l0": np.full((4, 4), np.nan)}),
    "sd_int.npz": _npz_bytes(**{**_SD, "weight_ih_l0": np.ones((4, 2), dtype=int)}),
    "sd_0x0.npz": _npz_bytes(**{**_SD, "weight_hh_l0": np.zeros((0, 0))}),
    "sd_not_a_cell.npz": _npz_bytes(**{**_SD, "weight_hh_l0": np.zeros((8, 3))}),
}
BAD_CONFIGS = {
    "config_not_json.json": b"{oops",
    "config_list.json": b"[]",
    "config_bad_fn.json": json.dumps({"function": "os.system", "grid": {}}).encode(),
    "config_bad_axis.json": json.dumps({"function": "gradient_decay", "grid": {"gain": [[1]]}}).encode(),
    "config_binary.json": b"\xff\xfe\x00",
}


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    for name, data in {**BAD_FILES, **BAD_CONFIGS}.items():
        (d / name).write_bytes(data)
    (d / "a_directory.npy").mkdir()
    return d


def _check(code, err):
    assert "Traceback" not in err
    if code == 0:
        return
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("rnnanalysis: error: "), err


@pytest.mark.parametrize("name", sorted(BAD_FILES) + ["a_directory.npy", "missing.npy"])
@pytest.mark.parametrize("command", ["profile", "predict", "check"])
def test_bad_weight_files_give_one_line_and_status_2(bad_dir, capsys, name, command):
    code = main([command, str(bad_dir / name), "--T", "5"] if command != "predict" else
                [command, str(bad_dir / name)])
    _, err = capsys.readouterr()
    _check(code, err)
    assert code == 2
    if command == "profile":                      # always loads: the message names the file
        assert name in err


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS) + ["a_directory.npy", "missing.json"])
def test_bad_sweep_configs_give_one_line_and_status_2(bad_dir, capsys, name):
    code = main(["sweep", str(bad_dir / name), "--quiet"])
    _check(code, capsys.readouterr().err)
    assert code == 2


TOKENS = ["predict", "profile", "check", "derive", "sweep", "elman", "lstm", "gru", "rnn",
          "--kind", "--activation", "--json", "--hidden", "--inputs", "--T", "--batch", "--gain",
          "--seed", "--init", "--tex", "--workers", "--quiet", "--scheduler", "--timeout",
          "tanh", "relu", "sigmoid", "linear", "gaussian", "identity", "orthogonal", "pytorch",
          "0", "1", "3", "-1", "2.5", "1e400", "nan", "-inf", "", " ", "--", "-", "=", "\x00",
          "--T=4", "--hidden=2", "--gain=0.5", "ü", "x" * 300]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12),
                          st.sampled_from(sorted(BAD_FILES) + sorted(BAD_CONFIGS))), max_size=8))
def test_random_argument_lists_never_give_a_traceback(bad_dir, capsys, monkeypatch, argv):
    monkeypatch.chdir(bad_dir)                    # relative names hit the bad files; output stays here
    code = main(argv)
    _check(code, capsys.readouterr().err)


VALUES = st.one_of(st.integers(-3, 40).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.sampled_from(["tanh", "relu", "sigmoid", "linear", "leaky_relu", "identity",
                                    "orthogonal", "sparse", "he", "lstm", "gru", "elman", ""]),
                   st.text(max_size=6))
OPTIONS = ["--kind", "--activation", "--hidden", "--inputs", "--init", "--gain", "--T", "--batch", "--seed"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["profile", "check", "predict"]),
       st.one_of(st.none(), st.sampled_from(sorted(BAD_FILES) + ["good.npy", "good_sd.npz"])),
       st.dictionaries(st.sampled_from(OPTIONS), VALUES, max_size=6), st.booleans())
def test_well_formed_commands_with_random_values(bad_dir, capsys, monkeypatch, command, weights, options,
                                                 as_json):
    """Deeper than random tokens: parsable commands whose values are random."""
    monkeypatch.chdir(bad_dir)
    np.save(bad_dir / "good.npy", _W)
    np.savez(bad_dir / "good_sd.npz", **_SD)
    argv = [command] + ([weights] if weights else []) + [x for kv in options.items() for x in kv]
    code = main(argv + (["--json"] if as_json else []))
    out, err = capsys.readouterr()
    _check(code, err)
    if code == 0 and as_json:
        json.loads(out)
