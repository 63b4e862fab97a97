"""The JSON-lines store: round trip, and every kind of damaged line reported and skipped."""

import json

import pytest

from rnnanalysis.experiments import Store, StoreWarning
from rnnanalysis.experiments.store import checksum


def _record(i):
    return {"fn": "m:f", "key": f'{{"i":{i}}}', "root_seed": 0, "seed": 1000 + i, "params": {"i": i},
            "result": {"x": 0.1 * i, "v": [1.0 / 3, -2.5e-300, "inf"]}, "elapsed_s": 0.5}


def test_round_trip_is_exact(tmp_path):
    st = Store(tmp_path / "sub" / "s.jsonl")
    written = [st.append(_record(i)) for i in range(3)]
    got = st.read()
    assert got.problems == () and list(got.records) == written
    assert [r["result"] for r in got.records] == [_record(i)["result"] for i in range(3)]
    assert all(r["sha256"] == checksum(r) for r in got.records)


def test_missing_store_is_empty(tmp_path):
    got = Store(tmp_path / "none.jsonl").read()
    assert got.records == () and got.problems == ()


@pytest.mark.parametrize("damage, why", [
    (lambda b: b.replace(b'"x":0.1', b'"x":0.2'), "checksum mismatch"),
    (lambda b: b[: len(b) // 2], "not valid JSON"),
    (lambda b: b"[1, 2, 3]", "JSON object"),
    (lambda b: json.dumps({k: v for k, v in json.loads(b).items() if k != "sha256"}).encode(), "no sha256"),
    (lambda b: b"\xff\xfe garbage", "not valid JSON"),
])
def test_damaged_line_is_reported_and_skipped(tmp_path, damage, why):
    st = Store(tmp_path / "s.jsonl")
    for i in range(3):
        st.append(_record(i))
    lines = st.path.read_bytes().split(b"\n")
    lines[1] = damage(lines[1])
    st.path.write_bytes(b"\n".join(lines))
    with pytest.warns(StoreWarning, match=f"s.jsonl:2: skipped a store record: .*{why}"):
        got = st.read()
    assert [r["params"]["i"] for r in got.records] == [0, 2]
    assert len(got.problems) == 1


def test_wrong_field_type_is_reported(tmp_path):
    st = Store(tmp_path / "s.jsonl")
    st.append({**_record(0), "seed": "12"})
    with pytest.warns(StoreWarning, match="field 'seed'"):
        assert st.read().records == ()


def test_append_after_torn_last_line_starts_a_new_line(tmp_path):
    st = Store(tmp_path / "s.jsonl")
    st.append(_record(0))
    st.append(_record(1))
    data = st.path.read_bytes()
    st.path.write_bytes(data[:-25])                # a crash in the middle of writing record 1
    st.append(_record(2))
    with pytest.warns(StoreWarning, match=":2:"):
        got = st.read()
    assert [r["params"]["i"] for r in got.records] == [0, 2]


def test_read_without_warnings_still_lists_problems(tmp_path):
    st = Store(tmp_path / "s.jsonl")
    st.path.write_text("not json\n\n\n")
    got = st.read(warn=False)
    assert got.records == () and len(got.problems) == 1


def test_bad_paths(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        Store(tmp_path)
    with pytest.raises(TypeError, match="file path"):
        Store(3)
