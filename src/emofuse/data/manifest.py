"""Manifest: one table of corpus items (media paths, labels, people), saved as JSONL or CSV.

The frame always starts with :data:`COLUMNS` (missing ones are ``None``); corpus-specific
fields (RAVDESS ``intensity``, GoEmotions ``n_labels``) stay as extra real columns, are
folded into the ``extra`` mapping when written and unfolded again when read. Media paths
are relative to ``root`` (or absolute, e.g. in a paired manifest). The root is written as a
``root`` field on every row (absolute path) so a manifest read back can open its media::

    >>> m = Manifest.from_records(
    ...     [{"id": "a", "corpus": "x", "audio": "a.wav", "label": "happy", "take": 2}],
    ...     root="/data/x",
    ... )
    >>> m.frame.loc[0, ["id", "audio", "take"]].tolist()
    ['a', 'a.wav', 2]
    >>> m.media_path("a", "audio").as_posix()
    '/data/x/a.wav'
    >>> m.to_jsonl("m.jsonl"); Manifest.read("m.jsonl").root  # doctest: +SKIP
    PosixPath('/data/x')
"""

from __future__ import annotations

import csv
import json
import math
import numbers
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, UsageError
from ..labels import CANONICAL

COLUMNS: tuple[str, ...] = (
    "id",
    "corpus",
    "audio",
    "video",
    "image",
    "text",
    "start",
    "end",
    "label",
    "label_canonical",
    "valence",
    "arousal",
    "dominance",
    "speaker",
    "gender",
    "age_group",
    "session",
    "dialogue",
    "split",
    "extra",
)
MEDIA_COLUMNS: tuple[str, ...] = ("audio", "video", "image")
NUMERIC_COLUMNS: tuple[str, ...] = ("start", "end", "valence", "arousal", "dominance")
ROOT_FIELD = "root"  # written on every row; not a frame column
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars -> Python, NaN -> None."""
    if isinstance(value, (list, tuple, dict)):
        return value
    if _is_null(value):
        return None
    return value.item() if hasattr(value, "item") else value


@dataclass
class Manifest:
    """A table of items (``frame``) whose relative media paths resolve under ``root``."""

    frame: pd.DataFrame
    root: Path | None = None

    def __post_init__(self) -> None:
        self.frame = _normalize(self.frame)
        self.root = None if self.root is None else Path(self.root)

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], root: str | Path | None = None
    ) -> Manifest:
        """Build from dicts; unknown keys become extra columns."""
        return cls(_frame([dict(r) for r in records]), root)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, root: str | Path | None = None) -> Manifest:
        """Build from a DataFrame (copied); unknown columns become extra columns."""
        return cls(df.copy(), root)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def extra_columns(self) -> list[str]:
        """Columns beyond :data:`COLUMNS`, in order."""
        return [c for c in self.frame.columns if c not in COLUMNS]

    # ---- writing -----------------------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        """Rows as written: :data:`COLUMNS` with extra columns folded into ``extra``."""
        extras = self.extra_columns
        rows = []
        for row in self.frame.itertuples(index=False):
            values = dict(zip(self.frame.columns, row))
            extra = dict(values["extra"]) if isinstance(values["extra"], Mapping) else {}
            extra.update({k: _plain(values[k]) for k in extras if not _is_null(values[k])})
            out = {c: _plain(values[c]) for c in COLUMNS if c != "extra"}
            out["extra"] = extra or None
            if self.root is not None:
                out[ROOT_FIELD] = str(self.root.resolve())
            rows.append(out)
        return rows

    def to_jsonl(self, path: str | Path) -> Path:
        """Write one JSON object per line (atomically)."""
        from ..utils.io import write_atomic

        lines = [json.dumps(r, ensure_ascii=False, default=str) for r in self.records()]
        write_atomic(Path(path), ("\n".join(lines) + "\n" if lines else "").encode())
        return Path(path)

    def to_csv(self, path: str | Path) -> Path:
        """Write a CSV (atomically); ``extra`` is a JSON string column."""
        from ..utils.io import write_atomic

        rows = self.records()
        for r in rows:
            r["extra"] = None if r["extra"] is None else json.dumps(r["extra"], default=str)
        columns = [*COLUMNS, *([ROOT_FIELD] if self.root is not None else [])]
        text = pd.DataFrame(rows, columns=columns).to_csv(index=False)
        write_atomic(Path(path), text.encode())
        return Path(path)

    def write(self, path: str | Path) -> Path:
        """Write by extension: ``.jsonl`` or ``.csv``."""
        suffix = Path(path).suffix.lower()
        if suffix == ".jsonl":
            return self.to_jsonl(path)
        if suffix == ".csv":
            return self.to_csv(path)
        raise UsageError(f"unsupported manifest format {path}: use .jsonl or .csv")

    # ---- reading -----------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        """Read a ``.jsonl`` or ``.csv`` manifest; malformed rows raise :class:`DataError`."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise UsageError(f"unsupported manifest format {path}: use .jsonl or .csv")
        if not path.is_file():
            raise DataError(f"manifest not found: {path}")
        rows = _read_rows(path)
        roots = {r.pop(ROOT_FIELD, None) for r in rows}
        roots.discard(None)
        if len(roots) > 1:
            raise DataError(f"malformed manifest {path}: rows name {len(roots)} different roots")
        return cls(_frame(rows), roots.pop() if roots else None)

    # ---- queries -----------------------------------------------------------------------
    def filter(self, mask: Any) -> Manifest:
        """Rows where ``mask`` (booleans, aligned with the frame) is true."""
        keep = pd.Series(mask, index=self.frame.index).astype(bool)
        return Manifest(self.frame[keep.to_numpy()].reset_index(drop=True), self.root)

    def row(self, item_id: str) -> pd.Series:
        """The row with this ``id``."""
        hits = self.frame.index[self.frame["id"] == item_id]
        if len(hits) == 0:
            raise DataError(f"no item {item_id!r} in the manifest")
        return self.frame.loc[hits[0]]

    def media_path(self, row_or_id: str | Mapping[str, Any] | pd.Series, column: str) -> Path:
        """Path of one item's media in ``column``, resolved under ``root`` when relative."""
        row = self.row(row_or_id) if isinstance(row_or_id, str) else row_or_id
        value = row.get(column)
        if _is_null(value):
            raise DataError(f"item {row['id']!r} has no {column}")
        path = Path(str(value))
        return path if path.is_absolute() or self.root is None else self.root / path

    def missing_media(self) -> list[str]:
        """Ids of items whose referenced media files do not exist."""
        missing = []
        columns = [c for c in self.frame.columns if c in MEDIA_COLUMNS]
        for _, row in self.frame.iterrows():
            for c in columns:
                if not _is_null(row[c]) and not self.media_path(row, c).exists():
                    missing.append(row["id"])
                    break
        return missing

    def validate(self) -> Manifest:
        """Check ids (present, unique), corpus, a label or valence, canonical labels."""
        f = self.frame
        if f["id"].map(_is_null).any():
            raise DataError(f"{int(f['id'].map(_is_null).sum())} items have no id")
        dup = f["id"][f["id"].duplicated()].unique().tolist()
        if dup:
            raise DataError(f"duplicate ids ({len(dup)}): {dup[:5]}")
        no_corpus = f["id"][f["corpus"].map(_is_null)].tolist()
        if no_corpus:
            raise DataError(f"items without corpus ({len(no_corpus)}): {no_corpus[:5]}")
        unlabeled = f["id"][f["label"].map(_is_null) & f["valence"].map(_is_null)].tolist()
        if unlabeled:
            raise DataError(f"items with neither label nor valence: {unlabeled[:5]}")
        canon = f["label_canonical"]
        bad = sorted({str(v) for v in canon if not _is_null(v) and v not in CANONICAL})
        if bad:
            raise DataError(f"label_canonical values {bad} not in {list(CANONICAL)}")
        return self


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> frame of object columns: ints stay ints and gaps stay ``None``."""
    if not rows:
        return pd.DataFrame(columns=list(COLUMNS))
    keys = dict.fromkeys(k for r in rows for k in r)
    return pd.DataFrame({k: pd.Series([r.get(k) for r in rows], dtype=object) for k in keys})


def _normalize(df: pd.DataFrame) -> pd.DataFrame:
    """COLUMNS first (missing -> None), then extra columns; fresh RangeIndex; None for gaps."""
    df = df.reset_index(drop=True)
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]) and df[c].map(_is_null).any():
            values = df[c].astype(object)
            df[c] = values.where(~values.map(_is_null), None)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    for c in NUMERIC_COLUMNS:
        if df[c].map(lambda v: _is_null(v) or isinstance(v, numbers.Number)).all():
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df[[*COLUMNS, *[c for c in df.columns if c not in COLUMNS]]]


def _unfold(row: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(row.get(ROOT_FIELD, ""), (str, type(None))):  # a list would not even hash
        raise DataError(f"malformed manifest row {where}: '{ROOT_FIELD}' must be a folder path")
    extra = row.get("extra")
    if extra is None:
        return row
    if not isinstance(extra, dict):
        raise DataError(f"malformed manifest row {where}: 'extra' is not a mapping")
    clash = sorted(set(extra) & set(COLUMNS))
    if clash:
        raise DataError(f"malformed manifest row {where}: extra repeats columns {clash}")
    return {**row, "extra": None, **extra}


def scan_rows(path: str | Path) -> Iterator[tuple[str, dict[str, Any] | DataError]]:
    """``(where, row)`` per item of a ``.jsonl``/``.csv`` manifest, ``row`` a dict or the
    :class:`DataError` that makes it malformed (``where`` is ``file:line``): a reader that
    reports bad rows one by one, for batch jobs that carry on past them.
    :meth:`Manifest.read` stops at the first one instead."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise UsageError(f"unsupported manifest format {path}: use .jsonl or .csv")
    if not path.is_file():
        raise DataError(f"manifest not found: {path}")
    yield from (_scan_jsonl(path) if suffix == ".jsonl" else _scan_csv(path))


def _bad(where: str, why: str) -> DataError:
    return DataError(f"malformed manifest line {where}: {why}")


def _undecodable(values: Iterable[Any]) -> bool:
    """Text read with ``surrogateescape`` holds lone surrogates where bytes were not UTF-8."""
    return any(isinstance(v, str) and _SURROGATE.search(v) for v in values)


def _scan_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any] | DataError]]:
    with path.open(encoding="utf-8", errors="surrogateescape") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            if _undecodable([line]):
                yield where, _bad(where, "not valid UTF-8")
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield where, _bad(where, e.msg)
                continue
            if not isinstance(row, dict) or "id" not in row:
                yield where, _bad(where, "expected an object with 'id'")
                continue
            yield where, _checked(row, where)


def _scan_csv(path: Path) -> Iterator[tuple[str, dict[str, Any] | DataError]]:
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"malformed manifest {path}: the file is empty") from None
        except csv.Error as e:
            raise DataError(f"malformed manifest {path}: {e}") from None
        if "id" not in header:
            raise DataError(f"malformed manifest {path}: no 'id' column")
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as e:  # e.g. a field over the size limit: this row only
                yield f"{path}:{reader.line_num}", _bad(f"{path}:{reader.line_num}", str(e))
                continue
            where = f"{path}:{reader.line_num}"
            if not values:
                continue
            if len(values) > len(header):  # fewer: the missing ones are empty
                yield where, _bad(where, f"{len(values)} fields, the header has {len(header)}")
            elif _undecodable(values):
                yield where, _bad(where, "not valid UTF-8")
            else:
                row = {k: (None if v == "" else v) for k, v in zip(header, values)}
                yield where, _checked(row, where, from_csv=True)


def _checked(row: dict[str, Any], where: str, from_csv: bool = False) -> dict | DataError:
    """Numeric columns as floats and ``extra`` unfolded (CSV: parsed from JSON)."""
    try:
        if from_csv:
            for c in NUMERIC_COLUMNS:
                if row.get(c) is not None:
                    row[c] = float(row[c])
            if row.get("extra") is not None:
                row["extra"] = json.loads(row["extra"])
        return _unfold(row, where)
    except (ValueError, json.JSONDecodeError) as e:
        return _bad(where, str(e))
    except DataError as e:
        return e


def _read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for _, row in scan_rows(path):
        if isinstance(row, DataError):
            raise row
        rows.append(row)
    return rows
