"""RAVDESS speech (audio-only) corpus: file-name parsing and a manifest table.

File names encode everything: ``03-01-EE-II-SS-RR-AA.wav`` (modality, vocal channel,
emotion, intensity, statement, repetition, actor; odd actors are male).

>>> parse_ravdess_name("03-01-05-02-01-01-12.flac")["emotion"]
'angry'
>>> parse_ravdess_name("03-01-05-02-01-01-12.flac")["gender"]
'female'
>>> m = prepare_ravdess("../shared/data/ravdess")       # doctest: +SKIP
>>> m.frame[["speaker", "label", "label_canonical"]].iloc[0].tolist()   # doctest: +SKIP
['Actor_01', 'neutral', 'neutral']
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...labels import to_canonical
from ..manifest import Manifest

EMOTIONS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
MODALITIES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
VOCAL_CHANNELS = {"01": "speech", "02": "song"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
AUDIO_SUFFIXES = (".wav", ".flac")

_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def _field(table: dict[str, str], code: str, what: str, name: str) -> str:
    try:
        return table[code]
    except KeyError:
        raise DataError(f"malformed RAVDESS file name {name!r}: unknown {what} {code!r}") from None


def parse_ravdess_name(name: str | Path) -> dict[str, Any]:
    """Decode a RAVDESS file name (path or bare name; any extension) into its fields.

    Raises :class:`DataError` naming the file when the name does not follow the scheme.
    """
    name = Path(name).name
    match = _NAME.match(Path(name).stem)
    if not match:
        raise DataError(
            f"malformed RAVDESS file name {name!r}: expected 03-01-EE-II-SS-RR-AA.<ext>"
        )
    mod, chan, emo, inten, stmt, rep, actor = match.groups()
    actor_id = int(actor)
    if not 1 <= actor_id <= 24:
        raise DataError(f"malformed RAVDESS file name {name!r}: actor {actor!r} not in 01..24")
    if not 1 <= int(rep) <= 2:
        raise DataError(f"malformed RAVDESS file name {name!r}: repetition {rep!r} not 01/02")
    return {
        "modality": _field(MODALITIES, mod, "modality", name),
        "vocal_channel": _field(VOCAL_CHANNELS, chan, "vocal channel", name),
        "emotion_code": int(emo),
        "emotion": _field(EMOTIONS, emo, "emotion", name),
        "intensity": _field(INTENSITIES, inten, "intensity", name),
        "statement": int(_field({k: k for k in STATEMENTS}, stmt, "statement", name)),
        "repetition": int(rep),
        "actor": actor_id,
        "gender": "male" if actor_id % 2 else "female",
    }


def prepare_ravdess(root: str | Path) -> Manifest:
    """:class:`Manifest` (``root`` set) of every ``root/Actor_XX/*.(wav|flac)`` clip.

    Filled: ``id, corpus, audio`` (relative to ``root``), ``label`` (native),
    ``label_canonical``, ``speaker`` (``Actor_XX``), ``gender``; extra columns
    ``intensity, statement, repetition``. No official split (``split`` is ``None``): use
    :func:`emofuse.data.splits.speaker_split`. Rows are sorted by speaker, then ``id``.
    """
    import pandas as pd

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"RAVDESS root not found: {root}")
    rows = []
    for path in sorted(root.glob("Actor_*/*")):
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        info = parse_ravdess_name(path.name)
        speaker = f"Actor_{info['actor']:02d}"
        if path.parent.name != speaker:
            raise DataError(f"RAVDESS file {path} is in {path.parent.name}, expected {speaker}")
        rows.append(
            {
                "id": path.stem,
                "corpus": "ravdess",
                "audio": path.relative_to(root).as_posix(),
                "label": info["emotion"],
                "label_canonical": to_canonical("ravdess", info["emotion"]),
                "speaker": speaker,
                "gender": info["gender"],
                "intensity": info["intensity"],
                "statement": info["statement"],
                "repetition": info["repetition"],
            }
        )
    if not rows:
        raise DataError(f"no RAVDESS audio (Actor_XX/*.wav|flac) under {root}")
    columns = list(rows[0])
    df = pd.DataFrame(rows, columns=columns).sort_values("audio", ignore_index=True)
    return Manifest(df, root)
