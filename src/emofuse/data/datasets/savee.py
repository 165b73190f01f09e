"""SAVEE (Surrey Audio-Visual Expressed Emotion): 4 male speakers, 7 emotions, 480 clips.

The release keeps audio as ``AudioData/<speaker>/<code><nn>.wav`` (``AudioData/DC/sa03.wav``);
a common flat copy names the same clips ``<speaker>_<code><nn>.wav`` (``DC_sa03.wav``).
Both are read; codes ``a d f h n sa su`` are anger, disgust, fear, happiness, neutral,
sadness, surprise.

>>> parse_savee_name("sa03.wav")
{'emotion_code': 'sa', 'emotion': 'sadness', 'number': 3}
>>> m = prepare_savee("SAVEE")                                   # doctest: +SKIP
>>> m.frame.loc[0, ["id", "audio", "label", "speaker"]].tolist()  # doctest: +SKIP
['DC_a01', 'AudioData/DC/a01.wav', 'anger', 'DC']
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...labels import to_canonical
from ..manifest import Manifest

CORPUS = "savee"
SPEAKERS = ("DC", "JE", "JK", "KL")  # all male
EMOTIONS: dict[str, str] = {
    "a": "anger",
    "d": "disgust",
    "f": "fear",
    "h": "happiness",
    "n": "neutral",
    "sa": "sadness",
    "su": "surprise",
}
_CLIP = re.compile(r"^([a-z]+)(\d\d)$")
_FLAT = re.compile(r"^([A-Z]{2})_([a-z]+\d\d)$")


def parse_savee_name(name: str | Path) -> dict[str, Any]:
    """Decode a clip name ``<code><nn>`` (``a01``, ``sa15``; path or bare name)."""
    stem = Path(name).stem
    match = _CLIP.match(stem)
    if not match:
        raise DataError(f"malformed SAVEE file name {Path(name).name!r}: expected e.g. sa01.wav")
    code, number = match.groups()
    if code not in EMOTIONS:
        raise DataError(
            f"unknown SAVEE emotion code {code!r} in {Path(name).name!r}; known: {list(EMOTIONS)}"
        )
    return {"emotion_code": code, "emotion": EMOTIONS[code], "number": int(number)}


def _clips(root: Path) -> list[tuple[str, str, Path]]:
    """``(speaker, clip stem, path)`` in the release layout, else in the flat one."""
    nested = root / "AudioData"
    if nested.is_dir():
        clips = []
        for folder in sorted(p for p in nested.iterdir() if p.is_dir()):
            if folder.name not in SPEAKERS:
                raise DataError(f"unknown SAVEE speaker folder {folder}; known: {SPEAKERS}")
            clips += [(folder.name, p.stem, p) for p in sorted(folder.glob("*.wav"))]
        return clips
    clips = []
    for path in sorted(root.glob("*.wav")):
        match = _FLAT.match(path.stem)
        if not match:
            raise DataError(f"malformed SAVEE file name {path}: expected e.g. DC_sa01.wav")
        if match.group(1) not in SPEAKERS:
            raise DataError(f"unknown SAVEE speaker {match.group(1)!r} in {path}")
        clips.append((match.group(1), match.group(2), path))
    return clips


def prepare_savee(root: str | Path) -> Manifest:
    """Manifest of every SAVEE clip under ``root`` (``AudioData/<speaker>/`` or flat).

    Columns: ``id`` (``DC_sa03``), ``audio``, ``label`` (English name of the code),
    ``label_canonical``, ``speaker``, ``gender`` (``male``); extras ``emotion_code``,
    ``number``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"SAVEE root not found: {root}")
    clips = _clips(root)
    if not clips:
        raise DataError(f"no SAVEE audio (AudioData/<speaker>/*.wav or <speaker>_*.wav) in {root}")
    records = []
    for speaker, stem, path in clips:
        try:
            info = parse_savee_name(stem)
        except DataError as e:
            raise DataError(f"{e} (file {path})") from None
        records.append(
            {
                "id": f"{speaker}_{stem}",
                "corpus": CORPUS,
                "audio": path.relative_to(root).as_posix(),
                "label": info["emotion"],
                "label_canonical": to_canonical(CORPUS, info["emotion"]),
                "speaker": speaker,
                "gender": "male",
                "emotion_code": info["emotion_code"],
                "number": info["number"],
            }
        )
    return Manifest.from_records(records, root=root)
