"""MELD (Friends dialogues): ``{train,dev,test}_sent_emo.csv`` -> one row per utterance.

Text is normalised (cp1252 control characters and UTF-8-read-as-cp1252 mojibake
repaired, typographic quotes made ASCII). Audio/video are not needed here, but each
row names its clip in the original release layout::

    >>> m = prepare_meld("../shared/data/meld")           # doctest: +SKIP
    >>> m.frame.loc[0, ["id", "label", "label_canonical", "video"]].tolist()  # doctest: +SKIP
    ['meld-train-dia0_utt0', 'neutral', 'neutral', 'train_splits/dia0_utt0.mp4']
    >>> normalize_text("I\\x92m fine \\u2026")
    "I'm fine ..."
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ...errors import DataError
from ...labels import MAPPINGS
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

# C1 control characters (U+0080-U+009F) are cp1252 bytes decoded as latin-1: restore them.
_C1 = {cp: bytes([cp]).decode("cp1252", errors="ignore") or None for cp in range(0x80, 0xA0)}
_ASCII = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2026": "...",
        "\u00a0": " ",
    }
)
# UTF-8 read as cp1252: a lead byte (Â-ß, à-ï) then 1 or 2 continuation bytes (0x80-0xBF).
_CONT = "".join(
    chr(b) if 0x80 <= b < 0xA0 and not c else c
    for b in range(0x80, 0xC0)
    for c in [bytes([b]).decode("cp1252", errors="ignore")]
)
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df][{re.escape(_CONT)}]|[\u00e0-\u00ef][{re.escape(_CONT)}]{{2}}"
)


def _fix_mojibake(match: re.Match[str]) -> str:
    try:
        return match.group(0).encode("cp1252").decode("utf-8")
    except UnicodeError:  # not mojibake after all (e.g. a real "â")
        return match.group(0)


def normalize_text(text: str) -> str:
    """Repair mis-encoded characters, make quotes/apostrophes ASCII, collapse whitespace."""
    text = _MOJIBAKE.sub(_fix_mojibake, text).translate(_C1).translate(_ASCII)
    return " ".join(text.split())


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
