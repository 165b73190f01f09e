"""The rows of a batch prediction, read the manifest way and checked one by one.

Two layouts are read (CSV or JSONL, through :func:`emofuse.data.manifest.scan_rows`):

- ``id, modality, input``: ``modality`` is ``text``, ``voice``, ``face`` or ``video``;
  ``input`` is the text itself or a media path relative to the manifest's folder;
- a :class:`~emofuse.data.manifest.Manifest`: ``text``, ``audio``, ``image`` and/or
  ``video`` columns (paths relative to the row's ``root``, else to the manifest's folder),
  and optionally ``start``/``end`` in seconds for audio and video. A row with several
  inputs is predicted from each and fused.

A malformed row, a bad segment or a media path that leaves the manifest's folder (``..``,
an absolute path, a ``root`` elsewhere, a symlink out) becomes that row's error; the
others go on. ``allow_outside=True`` accepts paths outside the folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.manifest import _is_null, scan_rows
from ..errors import DataError

LEGACY = ("id", "modality", "input")
#: what a row can hold -> the manifest column it comes from
KINDS: dict[str, str] = {"text": "text", "voice": "audio", "face": "image", "video": "video"}


@dataclass
class Item:
    """One row to predict: plain data (a worker receives it as a dict)."""

    i: int
    id: str
    inputs: dict[str, str] = field(default_factory=dict)  # kind -> the text or a path
    start: float | None = None
    end: float | None = None
    error: str = ""


def read_items(manifest: str | Path, allow_outside: bool = False) -> list[Item]:
    """Every row of ``manifest`` as an :class:`Item`; a bad row has its ``error`` set."""
    folder = Path(manifest).resolve().parent
    items = []
    for k, (_, row) in enumerate(scan_rows(manifest)):
        if isinstance(row, DataError):
            items.append(Item(k, "", error=str(row)))
            continue
        item = Item(k, "" if _is_null(row.get("id")) else str(row["id"]))
        try:
            _fill(item, row, folder, allow_outside)
        except DataError as e:
            item.inputs, item.error = {}, str(e)
        items.append(item)
    return items


def _fill(item: Item, row: dict[str, Any], folder: Path, allow_outside: bool) -> None:
    root = folder if _is_null(row.get("root")) else Path(str(row["root"]))
    if "modality" in row and "input" in row:  # id, modality, input
        kind = str(row["modality"] or "").strip().lower()
        if kind not in KINDS:
            raise DataError(f"unknown modality {kind!r}; choose from {', '.join(KINDS)}")
        values = {kind: "" if _is_null(row["input"]) else str(row["input"])}
        root = folder
    else:
        values = {k: str(row[c]) for k, c in KINDS.items() if not _is_null(row.get(c))}
        if not values:
            raise DataError("the row has no text, audio, image or video")
    for kind, value in values.items():
        if kind == "text":
            item.inputs[kind] = value
        else:
            item.inputs[kind] = _path(value, root, folder, allow_outside)
    item.start, item.end = _segment(row)


def _path(value: str, root: Path, folder: Path, allow_outside: bool) -> str:
    if not value.strip():
        raise DataError("empty media path")
    path = Path(value).expanduser()
    path = (path if path.is_absolute() else root / path).resolve()
    if not allow_outside and not path.is_relative_to(folder):
        raise DataError(
            f"{value!r} is outside the manifest's folder {folder}; "
            "pass --allow-outside (allow_outside=True) to read it"
        )
    return str(path)


def _segment(row: dict[str, Any]) -> tuple[float | None, float | None]:
    out = []
    for column in ("start", "end"):
        value = row.get(column)
        if _is_null(value) or value == "":
            out.append(None)
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise DataError(f"{column} {value!r} is not a number") from None
        if not math.isfinite(value):
            raise DataError(f"{column} is {value}")
        out.append(value)
    start, end = out
    if start is not None and start < 0:
        raise DataError(f"start {start} < 0")
    if end is not None and end <= (start or 0.0):
        raise DataError(f"end {end} <= start {start or 0.0}")
    return start, end
