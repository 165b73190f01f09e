"""Canonical emotion labels and each corpus's mapping onto them.

The canonical set is Ekman's six basic emotions plus neutral. Labels with no
counterpart are mapped explicitly here (RAVDESS *calm* -> neutral) or excluded by
mapping them to ``None``; nothing is dropped silently.

>>> to_canonical("fer2013", "happy")
'happiness'
>>> to_canonical("ravdess", "calm")
'neutral'
"""

from __future__ import annotations

from .errors import DataError

CANONICAL: tuple[str, ...] = (
    "neutral",
    "happiness",
    "sadness",
    "anger",
    "fear",
    "disgust",
    "surprise",
)

_IDENTITY = {label: label for label in CANONICAL}

MAPPINGS: dict[str, dict[str, str | None]] = {
    "canonical": _IDENTITY,
    "fer2013": {
        "angry": "anger",
        "disgust": "disgust",
        "fear": "fear",
        "happy": "happiness",
        "neutral": "neutral",
        "sad": "sadness",
        "surprise": "surprise",
    },
    "ravdess": {
        "neutral": "neutral",
        "calm": "neutral",
        "happy": "happiness",
        "sad": "sadness",
        "angry": "anger",
        "fearful": "fear",
        "disgust": "disgust",
        "surprised": "surprise",
    },
    "meld": {
        "neutral": "neutral",
        "joy": "happiness",
        "sadness": "sadness",
        "anger": "anger",
        "fear": "fear",
        "disgust": "disgust",
        "surprise": "surprise",
    },
    "goemotions_ekman": {
        "neutral": "neutral",
        "joy": "happiness",
        "sadness": "sadness",
        "anger": "anger",
        "fear": "fear",
        "disgust": "disgust",
        "surprise": "surprise",
    },
}


def to_canonical(corpus: str, label: str) -> str | None:
    """Map a corpus's native ``label`` to a canonical one (``None``: excluded on purpose)."""
    try:
        mapping = MAPPINGS[corpus]
    except KeyError:
        raise DataError(
            f"no label mapping for corpus {corpus!r}; known: {sorted(MAPPINGS)}"
        ) from None
    try:
        return mapping[label]
    except KeyError:
        raise DataError(f"unknown {corpus} label {label!r}; known: {sorted(mapping)}") from None


def index(label: str) -> int:
    """Position of a canonical label in :data:`CANONICAL`."""
    return CANONICAL.index(label)
