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
    # CREMA-D: the emotion code of the file name (``1001_DFA_ANG_XX``); no surprise class.
    "cremad": {
        "NEU": "neutral",
        "HAP": "happiness",
        "SAD": "sadness",
        "ANG": "anger",
        "FEA": "fear",
        "DIS": "disgust",
    },
    # IEMOCAP consensus codes of ``EmoEvaluation/*.txt``, every class kept ("full" set).
    "iemocap": {
        "neu": "neutral",
        "hap": "happiness",
        "exc": "happiness",  # excited: merged into happiness, as in the 4-class protocol
        "sad": "sadness",
        "ang": "anger",
        "fea": "fear",
        "dis": "disgust",
        "sur": "surprise",
        "fru": None,  # frustration: no Ekman counterpart (not anger); excluded on purpose
        "oth": None,  # "other": no emotion named; excluded on purpose
        "xxx": None,  # no majority among annotators; excluded on purpose
    },
    # IEMOCAP 4-class protocol (neu, hap+exc, sad, ang: 5,531 utterances); the rest excluded.
    "iemocap_4class": {
        "neu": "neutral",
        "hap": "happiness",
        "exc": "happiness",  # excited merged into happiness (the standard 4-class setting)
        "sad": "sadness",
        "ang": "anger",
        "fea": None,  # fear, disgust, surprise: too rare; outside the 4-class protocol
        "dis": None,
        "sur": None,
        "fru": None,  # frustration, other, no majority: outside the 4-class protocol
        "oth": None,
        "xxx": None,
    },
    # SAVEE: English names of the file-name codes a d f h n sa su.
    "savee": {
        "neutral": "neutral",
        "happiness": "happiness",
        "sadness": "sadness",
        "anger": "anger",
        "fear": "fear",
        "disgust": "disgust",
        "surprise": "surprise",
    },
    # Berlin EmoDB: English names of the letters W L E A F T N.
    "emodb": {
        "neutral": "neutral",
        "happiness": "happiness",
        "sadness": "sadness",
        "anger": "anger",
        "fear": "fear",
        "disgust": "disgust",
        "boredom": None,  # Langeweile: low-arousal, not neutral and not sadness; excluded
    },
    # Folder names and user labels: canonical names plus common English synonyms.
    "folder": {
        **_IDENTITY,
        "happy": "happiness",
        "joy": "happiness",
        "sad": "sadness",
        "angry": "anger",
        "fearful": "fear",
        "afraid": "fear",
        "scared": "fear",
        "disgusted": "disgust",
        "surprised": "surprise",
        "neutrality": "neutral",
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
