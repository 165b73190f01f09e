"""Berlin EmoDB: 10 actors, 10 German sentences, 7 emotions, ``wav/03a01Fa.wav`` names.

A name is speaker (2 digits), sentence code (``a01``...``b10``), emotion letter (German
initial: W Ärger/anger, L Langeweile/boredom, E Ekel/disgust, A Angst/fear, F
Freude/happiness, T Trauer/sadness, N neutral) and version letter.

>>> parse_emodb_name("03a01Fa.wav")["emotion"], SPEAKERS["03"]
('happiness', ('male', 31))
>>> m = prepare_emodb("emodb")                                   # doctest: +SKIP
>>> m.frame.loc[0, ["id", "label", "speaker", "gender", "age_group"]].tolist()  # doctest: +SKIP
['03a01Fa', 'happiness', '03', 'male', '30-39']
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...labels import to_canonical
from ..manifest import Manifest
from .cremad import age_group

CORPUS = "emodb"
# Speaker code -> (gender, age at recording), from the corpus documentation.
SPEAKERS: dict[str, tuple[str, int]] = {
    "03": ("male", 31),
    "08": ("female", 34),
    "09": ("female", 21),
    "10": ("male", 32),
    "11": ("male", 26),
    "12": ("male", 30),
    "13": ("female", 32),
    "14": ("female", 35),
    "15": ("male", 25),
    "16": ("female", 31),
}
EMOTIONS: dict[str, str] = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
SENTENCES: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
_NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")


def parse_emodb_name(name: str | Path) -> dict[str, Any]:
    """Decode ``<speaker><sentence><emotion><version>`` (path or bare name)."""
    name = Path(name).name
    match = _NAME.match(Path(name).stem)
    if not match:
        raise DataError(f"malformed EmoDB file name {name!r}: expected e.g. 03a01Fa.wav")
    speaker, sentence, letter, version = match.groups()
    if speaker not in SPEAKERS:
        raise DataError(f"unknown EmoDB speaker {speaker!r} in {name!r}; known: {list(SPEAKERS)}")
    if sentence not in SENTENCES:
        raise DataError(f"unknown EmoDB sentence {sentence!r} in {name!r}")
    if letter not in EMOTIONS:
        raise DataError(f"unknown EmoDB emotion letter {letter!r} in {name!r}")
    return {
        "speaker": speaker,
        "sentence": sentence,
        "emotion_code": letter,
        "emotion": EMOTIONS[letter],
        "version": version,
    }


def prepare_emodb(root: str | Path) -> Manifest:
    """Manifest of every ``root/wav/*.wav`` clip of EmoDB.

    Columns: ``audio``, ``text`` (the German sentence), ``label`` (English name; boredom
    has no canonical counterpart and maps to ``None``), ``speaker``, ``gender``,
    ``age_group``; extras ``sentence``, ``emotion_code``, ``version``, ``age``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"EmoDB root not found: {root}")
    wav = root / "wav"
    if not wav.is_dir():
        raise DataError(f"EmoDB folder not found: {wav}")
    records = []
    for path in sorted(wav.glob("*.wav")):
        info = parse_emodb_name(path.name)
        gender, age = SPEAKERS[info["speaker"]]
        records.append(
            {
                "id": path.stem,
                "corpus": CORPUS,
                "audio": path.relative_to(root).as_posix(),
                "text": SENTENCES[info["sentence"]],
                "label": info["emotion"],
                "label_canonical": to_canonical(CORPUS, info["emotion"]),
                "speaker": info["speaker"],
                "gender": gender,
                "age_group": age_group(age),
                "sentence": info["sentence"],
                "emotion_code": info["emotion_code"],
                "version": info["version"],
                "age": age,
            }
        )
    if not records:
        raise DataError(f"no EmoDB audio (wav/*.wav) under {root}")
    return Manifest.from_records(records, root=root)
