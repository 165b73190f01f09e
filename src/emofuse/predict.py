"""Batch prediction over a manifest of mixed inputs.

The manifest is a CSV with columns ``id, modality, input``: modality is ``text``,
``voice``, ``face`` or ``video``; input is the text itself or a file path relative to
the manifest. Each output row has ``id, label, confidence, p_<label>...`` and ``error``;
a bad row gets its error filled and the run carries on.

>>> df = predict_manifest(Recognizer.default(), "inputs.csv")    # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError, EmofuseError
from .recognizer import Progress, Recognizer
from .result import Prediction

REQUIRED = ("id", "modality", "input")
KINDS = ("text", "voice", "face", "video")


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read and check a prediction manifest."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"manifest not found: {path}")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise DataError(f"cannot read manifest {path}: {e}") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; need {list(REQUIRED)}")
    return df


def predict_row(rec: Recognizer, modality: str, value: str, base: Path) -> Prediction:
    """Predict one manifest row; raises :class:`EmofuseError` on bad input."""
    if modality == "text":
        return rec.predict_text([value])[0]
    if modality not in KINDS:
        raise DataError(f"unknown modality {modality!r}; choose from {', '.join(KINDS)}")
    path = base / value
    if modality == "voice":
        return rec.predict_voice(path)
    if modality == "face":
        return rec.predict_face(path)
    from .media.decode import probe

    result = rec.analyze(path, window=max(probe(path).duration, 0.1))  # one segment
    fused = result.segments[0].fused if result.segments else None
    if fused is None:
        raise DataError("no face, voice or text found in the video")
    return fused


def predict_manifest(
    rec: Recognizer, manifest: str | Path, progress: Progress | None = None
) -> pd.DataFrame:
    """Predict every row of ``manifest``; errors are reported per row, not raised."""
    df = read_manifest(manifest)
    base = Path(manifest).parent
    rows = []
    for item_id, modality, value in zip(
        df["id"], df["modality"].str.strip().str.lower(), df["input"]
    ):
        row: dict[str, object] = {"id": item_id, "label": None, "confidence": None}
        row.update({f"p_{lab}": None for lab in rec.labels})
        try:
            pred = predict_row(rec, modality, value, base)
            row.update(label=pred.label, confidence=round(pred.confidence, 4))
            row.update({f"p_{lab}": p for lab, p in pred.probabilities.items()})
            row["error"] = ""
        except EmofuseError as e:
            row["error"] = str(e)
        rows.append(row)
        if progress:
            progress("predict", 1, len(df))
    return pd.DataFrame(rows)
