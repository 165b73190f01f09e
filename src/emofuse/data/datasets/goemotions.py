"""GoEmotions (Reddit comments): ``{ekman|original}/{split}.tsv`` -> one row per comment.

Each line is ``text<TAB>comma-separated label ids<TAB>comment id`` (no header); the ids
index ``labels.txt``. About 16% of comments carry several labels: ``labels`` keeps them
all, ``label`` is the first. ``label_canonical`` is filled for the Ekman set only (the
27 original emotions have no mapping in :mod:`emofuse.labels`)::

    >>> m = prepare_goemotions("../shared/data/goemotions")       # doctest: +SKIP
    >>> m.frame.loc[0, ["label", "label_canonical", "n_labels", "split"]].tolist()  # doctest: +SKIP
    ['neutral', 'neutral', 1, 'train']
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import DataError, UsageError
from ...labels import MAPPINGS
from ...media.text import normalize_text
from ..manifest import Manifest

SPLITS = ("train", "dev", "test")
LABEL_SETS = ("ekman", "original")
COLUMNS = ("id", "corpus", "text", "labels", "label", "label_canonical", "n_labels", "split")


def prepare_goemotions(root: str | Path, label_set: str = "ekman") -> Manifest:
    """Read every ``{split}.tsv`` present in ``root/label_set`` (at least one).

    Filled: ``id, corpus, text, label, label_canonical, split``; extra columns ``labels``
    (all native labels) and ``n_labels``. Authors are unknown (``speaker`` is ``None``).
    """
    if label_set not in LABEL_SETS:
        raise UsageError(f"unknown GoEmotions label set {label_set!r}; known: {list(LABEL_SETS)}")
    folder = Path(root) / label_set
    names = _read_labels(folder / "labels.txt")
    mapping = MAPPINGS["goemotions_ekman"] if label_set == "ekman" else None
    if mapping is not None and set(names) - set(mapping):
        raise DataError(f"unknown Ekman labels {sorted(set(names) - set(mapping))} in {folder}")
    rows = [
        row
        for split in SPLITS
        if (folder / f"{split}.tsv").is_file()
        for row in _read_split(folder / f"{split}.tsv", split, names, mapping)
    ]
    if not any((folder / f"{s}.tsv").is_file() for s in SPLITS):
        raise DataError(
            f"no GoEmotions files ({', '.join(f'{s}.tsv' for s in SPLITS)}) in {folder}"
        )
    return Manifest(pd.DataFrame(rows, columns=list(COLUMNS)), root)


def _read_labels(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"GoEmotions label list not found: {path}")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise DataError(f"empty GoEmotions label list: {path}")
    return names


def _read_split(
    path: Path, split: str, names: list[str], mapping: dict[str, str | None] | None
) -> list[tuple]:
    rows = []
    try:
        lines = path.read_bytes().decode("utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise DataError(f"malformed GoEmotions file {path}: not UTF-8 ({e})") from None
    for lineno, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            if len(fields) != 3:
                raise ValueError(f"expected 3 tab-separated fields, got {len(fields)}")
            text, ids, comment = fields
            labels = [names[_index(i, len(names))] for i in ids.split(",")]
            if not comment.strip():
                raise ValueError("empty comment id")
        except (ValueError, IndexError) as e:
            raise DataError(f"malformed GoEmotions line {path}:{lineno}: {e}") from None
        labels = list(dict.fromkeys(labels))  # dedupe, keep order
        canonical = mapping[labels[0]] if mapping is not None else None
        rows.append(
            (
                f"goemotions-{split}-{comment.strip()}",
                "goemotions",
                normalize_text(text),
                labels,
                labels[0],
                canonical,
                len(labels),
                split,
            )
        )
    return rows


def _index(token: str, n: int) -> int:
    i = int(token)
    if not 0 <= i < n:
        raise ValueError(f"label id {i} out of range 0..{n - 1}")
    return i
