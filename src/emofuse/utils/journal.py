"""An append-only JSONL journal that lets a long job resume after ``kill -9``.

The first line is a header (what the job is: its inputs' fingerprint); each later line
is one finished record, appended and fsync'd before the job moves on. Reopened with the
same header, the journal gives back the records already done (a torn last line, from a
kill mid-write, is dropped); with another header it starts afresh, since those records
belong to another job::

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "job.partial.jsonl"
    >>> j = Journal(path, {"job": "v1"})
    >>> j.append([{"i": 0, "ok": True}]); len(Journal(path, {"job": "v1"}).records)
    1
    >>> len(Journal(path, {"job": "v2"}).records)
    0
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .io import write_atomic


class Journal:
    """Records of one job, durable line by line; see the module docstring."""

    def __init__(self, path: str | Path, header: dict[str, Any]):
        self.path = Path(path)
        self.header = {"journal": header}
        self.records: list[dict[str, Any]] = []
        if self.path.is_file() and self._read():
            return
        write_atomic(self.path, (json.dumps(self.header) + "\n").encode())

    def _read(self) -> bool:
        """Load the records if the header matches (True); False: start afresh."""
        with self.path.open("rb") as f:
            lines = f.read().split(b"\n")
        try:
            if json.loads(lines[0]) != self.header:
                return False
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False
        complete = lines[1:-1]  # the part after the last newline is torn (or empty)
        for line in complete:
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(record, dict):
                self.records.append(record)
        if lines[-1]:  # drop the torn tail so that appends start on a fresh line
            keep = b"\n".join(lines[:-1]) + b"\n"
            write_atomic(self.path, keep)
        return True

    def append(self, records: list[dict[str, Any]]) -> None:
        """Append ``records`` durably (one line each)."""
        if not records:
            return
        data = "".join(json.dumps(r) + "\n" for r in records).encode()
        with self.path.open("ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        self.records.extend(records)

    def remove(self) -> None:
        """Delete the journal (the job's output is written)."""
        self.path.unlink(missing_ok=True)
