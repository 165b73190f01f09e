"""EmoBank: English sentences rated for valence, arousal and dominance (1-5 scale).

``emobank.csv`` has the columns ``id, split, V, A, D, text``; there is no categorical
label, so ``label`` and ``label_canonical`` stay ``None`` and the item is a regression
target (``valence, arousal, dominance``). Texts are kept verbatim (a sentence reading
``NA`` stays a string).

>>> m = prepare_emobank("../shared/data/emobank")               # doctest: +SKIP
>>> m.frame["split"].value_counts().to_dict()                    # doctest: +SKIP
{'train': 8062, 'dev': 1000}
"""

from __future__ import annotations

import csv
from pathlib import Path

from ...errors import DataError
from ..manifest import Manifest

CORPUS = "emobank"
FILE = "emobank.csv"
FIELDS = ("id", "split", "V", "A", "D", "text")
SCALE = (1.0, 5.0)


def prepare_emobank(root: str | Path) -> Manifest:
    """Manifest of every ``root/emobank.csv`` row, in file order.

    Columns: ``id``, ``text``, ``valence``/``arousal``/``dominance`` (from ``V, A, D``),
    ``split`` (as written in the file). A missing file, a missing column, a rating that
    is not a number in 1-5 or a repeated id raises :class:`DataError` (with file and line).
    """
    root = Path(root)
    path = root / FILE
    if not path.is_file():
        raise DataError(f"EmoBank file not found: {path}")
    records, seen = [], set()
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in FIELDS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"malformed {path}: missing columns {missing}")
        start = reader.line_num + 1
        for row in reader:
            where = f"{path}:{start}"
            start = reader.line_num + 1
            if None in row or any(row[c] is None for c in FIELDS):
                raise DataError(f"malformed line {where}: expected {len(reader.fieldnames)} fields")
            try:
                v, a, d = (float(row[c]) for c in ("V", "A", "D"))
            except ValueError:
                raise DataError(f"malformed line {where}: V, A, D must be numbers") from None
            if not all(SCALE[0] <= x <= SCALE[1] for x in (v, a, d)):
                raise DataError(f"malformed line {where}: V, A, D outside {SCALE}")
            if not row["id"] or not row["split"]:
                raise DataError(f"malformed line {where}: empty id or split")
            if row["id"] in seen:
                raise DataError(f"malformed line {where}: id {row['id']!r} repeated")
            seen.add(row["id"])
            records.append(
                {
                    "id": row["id"],
                    "corpus": CORPUS,
                    "text": row["text"],
                    "label": None,
                    "label_canonical": None,
                    "valence": v,
                    "arousal": a,
                    "dominance": d,
                    "split": row["split"],
                }
            )
    if not records:
        raise DataError(f"no EmoBank rows in {path}")
    return Manifest.from_records(records, root=root)
