"""The JSON-lines store: round trip, every kind of damaged line reported and skipped, and a store
that only its own sweep may append to (header, regular files only, one driver at a time)."""

import json
import os
import threading

import pytest

from rnnanalysis.experiments import Store, StoreWarning
from rnnanalysis.experiments.store import FORMAT, checksum

OWNER = ("m:f", 0, ["i"])                          # fn, root seed, axes of the sweep writing here


def _record(i, fn="m:f"):
    return {"fn": fn, "key": f'{{"i":{i}}}', "root_seed": 0, "seed": 1000 + i, "params": {"i": i},
            "result": {"x": 0.1 * i, "v": [1.0 / 3, -2.5e-300, "inf"]}, "elapsed_s": 0.5}


def _write(st, records, owner=OWNER):
    with st.writer(*owner) as w:
        return [w.append(r) for r in records]


def test_round_trip_is_exact(tmp_path):
    st = Store(tmp_path / "sub" / "s.jsonl")
    written = _write(st, [_record(i) for i in range(3)])
    got = st.read()
    assert got.problems == () and list(got.records) == written
    assert got.header["format"] == FORMAT and got.header["fn"] == "m:f" and got.header["axes"] == ["i"]
    assert [r["result"] for r in got.records] == [_record(i)["result"] for i in range(3)]
    assert all(r["sha256"] == checksum(r) for r in got.records)
    assert json.loads(st.path.read_text().splitlines()[0])["format"] == FORMAT


def test_missing_store_is_empty(tmp_path):
    got = Store(tmp_path / "none.jsonl").read()
    assert got.records == () and got.problems == () and got.header is None


def _nested(b):
    return b"[" * 100_000 + b"]" * 100_000


def _resigned(b, **change):
    rec = {k: v for k, v in json.loads(b).items() if k != "sha256"}
    rec.update(change)
    rec = {k: v for k, v in rec.items() if v is not None}
    return json.dumps({**rec, "sha256": checksum(rec)}).encode()


@pytest.mark.parametrize("damage, why", [
    (lambda b: b.replace(b'"x":0.1', b'"x":0.2'), "checksum mismatch"),
    (lambda b: b[: len(b) // 2], "not valid JSON"),
    (lambda b: b"[1, 2, 3]", "JSON object"),
    (lambda b: json.dumps({k: v for k, v in json.loads(b).items() if k != "sha256"}).encode(), "no sha256"),
    (lambda b: b"\xff\xfe garbage", "not valid JSON"),
    (_nested, "nested too deeply"),
    (lambda b: b'{"a": ' * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
    (lambda b: _resigned(b, result=None), "no 'result' field"),
    (lambda b: _resigned(b, seed="12"), "field 'seed'"),
    (lambda b: b.replace(b"0.1", b"NaN"), "checksum mismatch"),
])
def test_damaged_line_is_reported_and_skipped(tmp_path, damage, why):
    st = Store(tmp_path / "s.jsonl")
    _write(st, [_record(i) for i in range(3)])
    lines = st.path.read_bytes().split(b"\n")
    lines[2] = damage(lines[2])
    st.path.write_bytes(b"\n".join(lines))
    with pytest.warns(StoreWarning, match=f"s.jsonl:3: skipped a store record: .*{why}"):
        got = st.read()
    assert [r["params"]["i"] for r in got.records] == [0, 2]
    assert len(got.problems) == 1


def test_append_after_torn_last_line_starts_a_new_line(tmp_path):
    st = Store(tmp_path / "s.jsonl")
    _write(st, [_record(0), _record(1)])
    st.path.write_bytes(st.path.read_bytes()[:-25])    # a crash in the middle of writing record 1
    with pytest.warns(StoreWarning, match=":3:"):
        _write(st, [_record(2)])
    with pytest.warns(StoreWarning, match=":3:"):
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


@pytest.mark.parametrize("content", [b"my notes\n", b'{"a": 1}\n', b"\x00" * 10])
def test_never_appends_to_a_file_that_is_not_a_store(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a sweep store.*refusing to append"):
        _write(Store(path), [_record(0)])
    assert path.read_bytes() == content


def test_never_appends_to_a_store_of_another_sweep(tmp_path):
    st = Store(tmp_path / "s.jsonl")
    _write(st, [_record(0)])
    before = st.path.read_bytes()
    for owner in (("m:g", 0, ["i"]), ("m:f", 1, ["i"]), ("m:f", 0, ["i", "j"])):
        with pytest.raises(ValueError, match="holds another sweep"):
            _write(st, [_record(1)], owner)
    assert st.path.read_bytes() == before


def test_store_written_before_headers_is_read_and_resumed(tmp_path):
    """A headerless store (the format before headers) of this sweep is appended to; one with a
    record of another sweep is refused."""
    path = tmp_path / "old.jsonl"
    old = [{**_record(i), "sha256": checksum(_record(i))} for i in range(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    assert list(Store(path).read().records) == old
    _write(Store(path), [_record(2)])
    assert [r["params"]["i"] for r in Store(path).read().records] == [0, 1, 2]
    other = tmp_path / "mixed.jsonl"
    stranger = _record(3, "m:g")
    other.write_text(path.read_text() + json.dumps({**stranger, "sha256": checksum(stranger)}))
    with pytest.raises(ValueError, match="records of another sweep"):
        _write(Store(other), [_record(4)])


@pytest.mark.parametrize("make", ["fifo", "device", "symlink_to_device"])
def test_non_regular_files_are_refused_without_blocking(tmp_path, make):
    path = tmp_path / "s.jsonl"
    if make == "fifo":
        os.mkfifo(path)
    elif make == "device":
        path = "/dev/zero"
    else:
        os.symlink("/dev/zero", path)
    result = []

    def attempt():
        for op in (lambda: Store(path).read(), lambda: _write(Store(path), [_record(0)])):
            try:
                op()
                result.append("accepted")
            except ValueError as exc:
                result.append(str(exc))

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "blocked on a non-regular file"
    assert len(result) == 2 and all("not a regular file" in r for r in result)


def test_a_second_writer_is_told_another_driver_holds_the_store(tmp_path):
    st = Store(tmp_path / "s.jsonl")
    with st.writer(*OWNER) as w:
        w.append(_record(0))
        with pytest.raises(BlockingIOError, match="another sweep driver"):
            st.writer(*OWNER)
    _write(st, [_record(1)])                       # released on close
    assert len(st.read().records) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_worker_forked_while_the_store_is_open_does_not_keep_it_locked(tmp_path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    st = Store(tmp_path / "s.jsonl")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as ex:
        with st.writer(*OWNER) as w:
            assert ex.submit(os.getpid).result() != os.getpid()   # the worker forks under the lock
            w.append(_record(0))
        _write(st, [_record(1)])                   # the live worker does not hold the lock
    assert len(st.read().records) == 2


def test_a_record_without_its_fields_is_not_written(tmp_path):
    st = Store(tmp_path / "s.jsonl")
    with st.writer(*OWNER) as w, pytest.raises(ValueError, match="result"):
        w.append({k: v for k, v in _record(0).items() if k != "result"})


def test_a_read_only_store_resumes_but_refuses_new_points(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from rnnanalysis.experiments import Grid, sweep

    store = tmp_path / "s.jsonl"
    with ThreadPoolExecutor(1) as ex:
        first = sweep(_double, Grid({"x": [1, 2]}), ex, store=store)
        before = store.read_bytes()
        real_open = os.open

        def read_only(path, flags, *args):             # as if the file or its disk were read-only
            if flags & (os.O_WRONLY | os.O_RDWR):
                raise PermissionError(13, "Permission denied")
            return real_open(path, flags, *args)

        monkeypatch.setattr(os, "open", read_only)
        again = sweep(_double, Grid({"x": [1, 2]}), ex, store=store)
        assert again.computed == 0 and again.results == first.results == [2, 4]
        with pytest.raises(PermissionError, match="read-only"):
            sweep(_double, Grid({"x": [1, 2, 3]}), ex, store=store)
    assert store.read_bytes() == before


def _double(x, seed):
    return 2 * x
