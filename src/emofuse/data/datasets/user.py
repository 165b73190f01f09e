"""A user's own manifest (``.csv`` or ``.jsonl``) with the schema's columns.

Required: ``id``; at least one of ``audio, video, image, text``; and ``label`` or
``valence``. ``label`` is mapped like a label folder (canonical names and synonyms) unless
``label_canonical`` is given. Media paths are relative to the manifest's folder.

>>> m = prepare_user_manifest("clips.csv")                      # doctest: +SKIP
>>> m.frame.loc[0, ["id", "audio", "label", "label_canonical"]].tolist()  # doctest: +SKIP
['c1', 'clips/c1.wav', 'happy', 'happiness']
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ...errors import DataError, UsageError
from ...labels import CANONICAL, MAPPINGS
from ..manifest import NUMERIC_COLUMNS, Manifest

CONTENT = ("audio", "video", "image", "text")


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Columns and ``(1-based line, row)`` pairs of a CSV or JSONL file."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            rows, start = [], reader.line_num + 1
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise DataError(f"malformed line {path}:{start}: wrong number of fields")
                rows.append((start, {k: (v if v != "" else None) for k, v in row.items()}))
                start = reader.line_num + 1
            return list(reader.fieldnames or []), rows
    rows, columns = [], {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"malformed line {path}:{lineno}: {e.msg}") from None
            if not isinstance(row, dict):
                raise DataError(f"malformed line {path}:{lineno}: expected a JSON object")
            columns.update(dict.fromkeys(row))
            rows.append((lineno, row))
    return list(columns), rows


def prepare_user_manifest(path: str | Path, root: str | Path | None = None) -> Manifest:
    """Read and check a user's manifest; ``root`` defaults to the file's folder."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".jsonl"):
        raise UsageError(f"unsupported manifest format {path}: use .csv or .jsonl")
    if not path.is_file():
        raise DataError(f"manifest not found: {path}")
    columns, rows = _read(path)
    missing = [c for c in ("id",) if c not in columns]
    if not any(c in columns for c in CONTENT):
        missing.append(" or ".join(CONTENT))
    if "label" not in columns and "valence" not in columns:
        missing.append("label or valence")
    if missing:
        raise DataError(f"manifest {path} lacks required columns: {missing}")
    records, seen = [], set()
    for line, row in rows:
        where = f"{path}:{line}"
        if not row.get("id"):
            raise DataError(f"malformed line {where}: empty id")
        if row["id"] in seen:
            raise DataError(f"malformed line {where}: id {row['id']!r} repeated")
        seen.add(row["id"])
        if not any(row.get(c) for c in CONTENT):
            raise DataError(f"malformed line {where}: none of {list(CONTENT)} is given")
        for c in NUMERIC_COLUMNS:
            if row.get(c) is not None:
                try:
                    row[c] = float(row[c])
                except (TypeError, ValueError):
                    raise DataError(
                        f"malformed line {where}: {c} {row[c]!r} is not a number"
                    ) from None
        label, canonical = row.get("label"), row.get("label_canonical")
        if canonical is None and label is not None:
            canonical = MAPPINGS["folder"].get(str(label).lower())
            if canonical is None:
                raise DataError(
                    f"unknown label {label!r} at {where}; use a canonical label "
                    f"{list(CANONICAL)} or give label_canonical"
                )
        if canonical is not None and canonical not in CANONICAL:
            raise DataError(f"malformed line {where}: label_canonical {canonical!r} unknown")
        extra = row.pop("extra", None)
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else None
        row.update(extra or {})
        records.append({**row, "corpus": row.get("corpus") or path.stem,
                        "label_canonical": canonical})  # fmt: skip
    if not records:
        raise DataError(f"manifest {path} has no rows")
    return Manifest.from_records(records, root=Path(root) if root else path.parent)
