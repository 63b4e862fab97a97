"""An append-only, self-checking JSON-lines store: one line per finished sweep point.

Each line is one JSON object carrying a ``sha256`` field, the SHA-256 of the canonical JSON
(sorted keys, no spaces) of the rest of the record. A line cut short by a crash, a torn
write or an edit fails that check (or does not parse) and is reported with a warning and
skipped — never fatal; the point is simply computed again. Records are written by one
process (the sweep's driver), each with ``flush`` + ``fsync`` as soon as its point finishes,
so an interrupted sweep loses at most the points still running.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Store", "StoreContents", "StoreWarning", "checksum"]

REQUIRED = {"fn": str, "key": str, "root_seed": int, "seed": int, "params": dict}


class StoreWarning(UserWarning):
    """A store line that was skipped: unparsable, truncated, or failing its checksum."""


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def checksum(record: dict) -> str:
    """SHA-256 hex digest of the canonical JSON of ``record`` without its ``sha256`` field."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


@dataclass(frozen=True)
class StoreContents:
    """records: the valid records in file order; problems: one message per skipped line."""

    records: tuple
    problems: tuple


class Store:
    """The store file at ``path`` (created on the first :meth:`append`; parents too)."""

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"store: expected a file path, got {type(path).__name__}")
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"store: {self.path} is a directory; expected a .jsonl file path")

    def __repr__(self):
        return f"Store({str(self.path)!r})"

    def _check_line(self, raw: bytes):
        """The record of one line, or raise ValueError saying what is wrong with it."""
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not valid JSON ({type(exc).__name__}: {exc}); truncated or corrupt") from None
        if not isinstance(record, dict):
            raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        if "sha256" not in record:
            raise ValueError("no sha256 field")
        if record["sha256"] != checksum(record):
            raise ValueError("checksum mismatch; the record was altered or torn")
        for name, typ in REQUIRED.items():
            if not isinstance(record.get(name), typ) or isinstance(record.get(name), bool):
                raise ValueError(f"field {name!r}: expected {typ.__name__}, got {record.get(name)!r}")
        return record

    def read(self, *, warn: bool = True) -> StoreContents:
        """All valid records; each skipped line is a :class:`StoreWarning` (if ``warn``) and a problem."""
        if not self.path.exists():
            return StoreContents((), ())
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise OSError(f"store {self.path}: cannot read ({exc.strerror or exc})") from None
        records, problems = [], []
        for lineno, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                records.append(self._check_line(raw))
            except ValueError as exc:
                msg = f"{self.path}:{lineno}: skipped a store record: {exc}"
                problems.append(msg)
                if warn:
                    warnings.warn(msg, StoreWarning, stacklevel=2)
        return StoreContents(tuple(records), tuple(problems))

    def append(self, record: dict) -> dict:
        """Add ``record`` (JSON-safe dict) with its checksum as one line; flush and fsync. Returns it."""
        line = {**{k: v for k, v in record.items() if k != "sha256"}}
        line["sha256"] = checksum(line)
        text = _canonical(line) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            if fh.tell() > 0:                      # a torn last line must not swallow this one
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    text = "\n" + text
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        return line
