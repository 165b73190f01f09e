"""MELD (Friends dialogues): ``{train,dev,test}_sent_emo.csv`` -> one row per utterance.

Text is normalised (cp1252 control characters and UTF-8-read-as-cp1252 mojibake
repaired, typographic quotes made ASCII). Audio/video are not needed here, but each
row names its clip in the original release layout::

    >>> m = prepare_meld("../shared/data/meld")           # doctest: +SKIP
    >>> m.frame.loc[0, ["id", "label", "label_canonical", "video"]].tolist()  # doctest: +SKIP
    ['meld-train-dia0_utt0', 'neutral', 'neutral', 'train_splits/dia0_utt0.mp4']
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import DataError
from ...labels import MAPPINGS
from ...media.text import normalize_text
from ..manifest import Manifest

SPLITS = ("train", "dev", "test")
# Folder of each split's clips in the original MELD.Raw release.
VIDEO_FOLDERS = {
    "train": "train_splits",
    "dev": "dev_splits_complete",
    "test": "output_repeated_splits_test",
}
COLUMNS = (
    "id",
    "corpus",
    "text",
    "label",
    "label_canonical",
    "speaker",
    "dialogue",
    "utterance",
    "sentiment",
    "split",
    "video",
)
_REQUIRED = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")


def prepare_meld(root: str | Path) -> Manifest:
    """Read every ``{split}_sent_emo.csv`` present under ``root`` (at least one).

    Filled: ``id, corpus, text, label, label_canonical, speaker, dialogue, split, video``
    (the clip's path in the original release, relative to ``root``; usually absent);
    extra columns ``utterance, sentiment``.
    """
    root = Path(root)
    frames = [
        _read_split(root / f"{s}_sent_emo.csv", s)
        for s in SPLITS
        if (root / f"{s}_sent_emo.csv").is_file()
    ]
    if not frames:
        raise DataError(
            f"no MELD files ({', '.join(f'{s}_sent_emo.csv' for s in SPLITS)}) in {root}"
        )
    return Manifest(pd.concat(frames, ignore_index=True), root)


def _read_split(path: Path, split: str) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, encoding="utf-8", keep_default_na=False, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"malformed MELD file {path}: {e}") from None
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise DataError(f"malformed MELD file {path}: missing columns {missing}")
    try:
        dia = raw["Dialogue_ID"].astype(int)
        utt = raw["Utterance_ID"].astype(int)
    except ValueError as e:
        raise DataError(
            f"malformed MELD file {path}: non-integer dialogue/utterance id ({e})"
        ) from None
    native = raw["Emotion"].str.strip().str.lower()
    unknown = sorted(set(native) - set(MAPPINGS["meld"]))
    if unknown:
        raise DataError(f"malformed MELD file {path}: unknown emotions {unknown}")
    stem = "dia" + dia.astype(str) + "_utt" + utt.astype(str)
    return pd.DataFrame(
        {
            "id": f"meld-{split}-" + stem,
            "corpus": "meld",
            "text": raw["Utterance"].map(normalize_text),
            "label": native,
            "label_canonical": native.map(MAPPINGS["meld"]),
            "speaker": raw["Speaker"].map(normalize_text),
            "dialogue": dia,
            "utterance": utt,
            "sentiment": raw["Sentiment"].str.strip().str.lower(),
            "split": split,
            "video": VIDEO_FOLDERS[split] + "/" + stem + ".mp4",
        },
        columns=list(COLUMNS),
    )
