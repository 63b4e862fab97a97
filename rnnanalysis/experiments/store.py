"""An append-only, self-checking JSON-lines store: one header line, then one line per finished point.

The first line names the sweep the store belongs to — ``{"format": "rnnanalysis-sweep-store",
"version": 1, "fn": ..., "root_seed": ..., "axes": [...]}`` — and a store is only ever
appended to by a sweep of that function, root seed and axis names (the axes' values may grow).
A store written before headers existed (records only) is still read, and appended to when
every valid record in it belongs to the sweep; any other existing file is refused, never
appended to. Only regular files are opened (a FIFO or a device is refused without blocking).

Every line carries a ``sha256`` field, the SHA-256 of the canonical JSON (sorted keys, no
spaces) of the rest of the line. A line cut short by a crash, a torn write, an edit, an
absurd length or nesting fails that check (or does not parse) and is reported with a warning
and skipped — never fatal; the point is simply computed again. Records are written by one
process (the sweep's driver) holding an exclusive lock on the file (``flock``), each with
``flush`` + ``fsync`` as soon as its point finishes, so an interrupted sweep loses at most the
points still running, and a second driver on the same store is told so instead of redoing
the work.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:                                # Windows: no advisory locks
    fcntl = None

__all__ = ["Store", "StoreContents", "StoreWarning", "StoreWriter", "checksum", "FORMAT", "MAX_LINE_BYTES"]

FORMAT = "rnnanalysis-sweep-store"
VERSION = 1
MAX_LINE_BYTES = 1 << 28                           # 256 MiB: written records must fit too
REQUIRED = {"fn": str, "key": str, "root_seed": int, "seed": int, "params": dict, "result": object}
HEADER = {"format": str, "version": int, "fn": str, "root_seed": int, "axes": list}


#: Writers open in this process. A forked child (a worker of a fork-based process pool started
#: while a sweep runs) would otherwise share the lock's open file and keep the store locked after
#: the driver closes it; the child closes its copies at once (the driver's lock is unaffected).
_OPEN_WRITERS: weakref.WeakSet = weakref.WeakSet()


def _forget_locks_in_child():
    for writer in list(_OPEN_WRITERS):
        writer.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_in_child)


class StoreWarning(UserWarning):
    """A store line that was skipped: unparsable, truncated, or failing its checksum."""


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def checksum(record: dict) -> str:
    """SHA-256 hex digest of the canonical JSON of ``record`` without its ``sha256`` field."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def _with_checksum(record: dict) -> tuple[dict, bytes]:
    line = {k: v for k, v in record.items() if k != "sha256"}
    line["sha256"] = checksum(line)
    data = (_canonical(line) + "\n").encode("utf-8")
    if len(data) > MAX_LINE_BYTES:
        raise ValueError(f"store: a record of {len(data)} bytes exceeds the store's line limit "
                         f"of {MAX_LINE_BYTES} bytes")
    return line, data


def _fields(record, spec):
    for name, typ in spec.items():
        if name not in record:
            raise ValueError(f"no {name!r} field")
        value = record[name]
        if typ is not object and (not isinstance(value, typ) or isinstance(value, bool)):
            raise ValueError(f"field {name!r}: expected {typ.__name__}, got {value!r:.80}")


def _parse_line(raw: bytes) -> dict:
    """The checksummed JSON object of one line, or raise ValueError saying what is wrong with it."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"line of {len(raw)} bytes exceeds the limit of {MAX_LINE_BYTES}")
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON ({type(exc).__name__}: {exc}); truncated or corrupt") from None
    except RecursionError:
        raise ValueError("nested too deeply to be a store record") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "sha256" not in record:
        raise ValueError("no sha256 field")
    try:
        ok = record["sha256"] == checksum(record)
    except (ValueError, RecursionError):           # NaN/Infinity literals, deep nesting
        ok = False
    if not ok:
        raise ValueError("checksum mismatch; the record was altered or torn")
    return record


def header(fn: str, root_seed: int, axes) -> dict:
    """The first line of a store of the sweep of ``fn`` (``module:qualname``) over these axes."""
    return {"format": FORMAT, "version": VERSION, "fn": fn, "root_seed": int(root_seed),
            "axes": sorted(axes)}


@dataclass(frozen=True)
class StoreContents:
    """header: the header line (None for a store written before headers); records: the valid
    records in file order; problems: one message per skipped line."""

    header: dict | None
    records: tuple
    problems: tuple


def _open_regular(path: Path, flags: int) -> int:
    """``os.open`` of a regular file (or a new one); FIFOs, devices and sockets are refused
    before and after opening, and the open never blocks."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ValueError(f"store: {path} is not a regular file; expected a .jsonl file path")
    fd = os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0),
                 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):     # replaced between the stat and the open
        os.close(fd)
        raise ValueError(f"store: {path} is not a regular file; expected a .jsonl file path")
    return fd


def _read_fd(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


class Store:
    """The store file at ``path``: :meth:`read` it, or :meth:`writer` to resume and append."""

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"store: expected a file path, got {type(path).__name__}")
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"store: {self.path} is a directory; expected a .jsonl file path")

    def __repr__(self):
        return f"Store({str(self.path)!r})"

    def _parse(self, data: bytes, warn: bool) -> StoreContents:
        head, records, problems = None, [], []
        first = True
        for lineno, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                record = _parse_line(raw)
                if first and "format" in record:
                    _fields(record, HEADER)
                    if record["format"] != FORMAT or record["version"] != VERSION:
                        raise ValueError(f"header of an unknown format {record['format']!r} "
                                         f"version {record['version']!r}")
                    head = record
                else:
                    _fields(record, REQUIRED)
                    records.append(record)
            except ValueError as exc:
                msg = f"{self.path}:{lineno}: skipped a store record: {exc}"
                problems.append(msg)
                if warn:
                    warnings.warn(msg, StoreWarning, stacklevel=3)
            first = False
        return StoreContents(head, tuple(records), tuple(problems))

    def read(self, *, warn: bool = True) -> StoreContents:
        """All valid records; each skipped line is a :class:`StoreWarning` (if ``warn``) and a problem."""
        try:
            fd = _open_regular(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return StoreContents(None, (), ())
        except OSError as exc:
            raise OSError(f"store {self.path}: cannot read ({exc.strerror or exc})") from None
        try:
            return self._parse(_read_fd(fd), warn)
        finally:
            os.close(fd)

    def writer(self, fn: str, root_seed: int, axes, *, warn: bool = True) -> StoreWriter:
        """Lock the store (created with its header if new) for the sweep of ``fn`` at ``root_seed``
        over ``axes``; raises ValueError if the file is not a store of that sweep, and
        BlockingIOError if another driver holds it. Use as a context manager."""
        return StoreWriter(self, header(fn, root_seed, axes), warn)


class StoreWriter:
    """The locked, open store of one sweep: ``contents`` as read under the lock, and :meth:`append`."""

    def __init__(self, store: Store, head: dict, warn: bool):
        self.store, self.path = store, store.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd, self.writable = _open_regular(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND), True
        except PermissionError:                    # a read-only store still resumes (cannot grow)
            self._fd, self.writable = None, False
        except OSError as exc:
            raise OSError(f"store {self.path}: cannot open ({exc.strerror or exc})") from None
        if self._fd is None:
            try:
                self._fd = _open_regular(self.path, os.O_RDONLY)
            except OSError as exc:
                raise OSError(f"store {self.path}: cannot open ({exc.strerror or exc})") from None
        try:
            self._lock()
            data = _read_fd(self._fd)
            self.contents = store._parse(data, warn=False)
            self._check_owner(head, data)             # a refused file is not worth warnings
            for msg in self.contents.problems if warn else ():
                warnings.warn(msg, StoreWarning, stacklevel=3)
            self._newline = bool(data) and not data.endswith(b"\n")
            if not data.strip():
                self._write(_with_checksum(head)[1])
                self.contents = StoreContents(head, (), ())
        except BaseException:
            os.close(self._fd)
            raise
        _OPEN_WRITERS.add(self)

    def _lock(self):
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, (fcntl.LOCK_EX if self.writable else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BlockingIOError(f"store {self.path}: another sweep driver is writing to it; "
                                  f"wait for it to finish, or use another store") from None

    def _check_owner(self, head: dict, data: bytes):
        def refuse(what):
            raise ValueError(f"store: {self.path} {what}; refusing to append to it (use another store path)")

        got = self.contents.header
        mine = f"fn {head['fn']}, root seed {head['root_seed']}, axes {head['axes']}"
        if got is not None:
            if (got["fn"], got["root_seed"], got["axes"]) != (head["fn"], head["root_seed"], head["axes"]):
                refuse(f"holds another sweep (fn {got['fn']}, root seed {got['root_seed']}, axes "
                       f"{got['axes']}; this one: {mine})")
        elif data.strip():
            records = self.contents.records
            if not records:
                refuse("is not a sweep store (no header line and no valid record)")
            for rec in records:                    # written before headers: all of it must be ours
                if (rec["fn"], rec["root_seed"], sorted(rec["params"])) != \
                        (head["fn"], head["root_seed"], head["axes"]):
                    refuse(f"holds records of another sweep (fn {rec['fn']}, root seed {rec['root_seed']}, "
                           f"axes {sorted(rec['params'])}; this one: {mine})")

    def check_writable(self):
        """Raise PermissionError if the store was opened read-only (it resumes but cannot grow)."""
        if not self.writable:
            raise PermissionError(f"store {self.path}: read-only; cannot record finished points in it "
                                  f"(make it writable, or use another store)")

    def _write(self, data: bytes):
        self.check_writable()
        if self._newline:                          # a torn last line must not swallow this one
            data, self._newline = b"\n" + data, False
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)

    def append(self, record: dict) -> dict:
        """Add ``record`` (a JSON-safe dict with the fields of a record) as one line; fsync. Returns it."""
        _fields(record, REQUIRED)
        line, data = _with_checksum(record)
        self._write(data)
        return line

    def close(self):
        if self._fd is not None:
            os.close(self._fd)                     # releases the lock (once no forked copy holds it)
            self._fd = None
        _OPEN_WRITERS.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
