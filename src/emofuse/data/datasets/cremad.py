"""CREMA-D (91 actors, 12 sentences, 6 emotions) in its original release layout.

``AudioWAV/1001_DFA_ANG_XX.wav`` names actor, sentence, emotion and level; video clips
``VideoFlash/<stem>.flv`` (or converted ``<stem>.mp4``) are matched by stem;
``VideoDemographics.csv`` gives each actor's age and sex; the crowd-sourced votes of
``processedResults/summaryTable.csv`` become extra columns where that file is present.

>>> parse_cremad_name("AudioWAV/1001_DFA_ANG_XX.wav")
{'actor': 1001, 'sentence': 'DFA', 'emotion': 'ANG', 'level': 'XX'}
>>> SENTENCES["DFA"]
"Don't forget a jacket"
>>> age_group(51)
'50-59'
>>> m = prepare_cremad("CREMA-D")                              # doctest: +SKIP
>>> m.frame.loc[0, ["id", "label", "speaker", "age_group"]].tolist()  # doctest: +SKIP
['1001_DFA_ANG_XX', 'ANG', '1001', '50-59']
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...labels import to_canonical
from ..manifest import Manifest

CORPUS = "cremad"
# The 12 sentences, by the code used in file names.
SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
LEVELS: dict[str, str] = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
VIDEO_SUFFIXES = (".mp4", ".flv")  # a converted .mp4 wins over the original .flv
DEMOGRAPHICS = "VideoDemographics.csv"
DEMOGRAPHIC_FIELDS = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
SUMMARY = "processedResults/summaryTable.csv"
# summaryTable.csv column -> manifest column ("A:F"-style ties are kept as written).
VOTE_COLUMNS: dict[str, str] = {
    "VoiceVote": "voice_vote",
    "VoiceLevel": "voice_level",
    "FaceVote": "face_vote",
    "FaceLevel": "face_level",
    "MultiModalVote": "multimodal_vote",
    "MultiModalLevel": "multimodal_level",
}

_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def parse_cremad_name(name: str | Path) -> dict[str, Any]:
    """Decode ``ActorID_Sentence_Emotion_Level`` (path or bare name, any extension)."""
    stem = Path(name).stem
    match = _NAME.match(stem)
    if not match:
        raise DataError(
            f"malformed CREMA-D file name {Path(name).name!r}: "
            "expected ActorID_Sentence_Emotion_Level, e.g. 1001_DFA_ANG_XX"
        )
    actor, sentence, emotion, level = match.groups()
    for value, known, what in (
        (sentence, SENTENCES, "sentence"),
        (emotion, EMOTIONS, "emotion"),
        (level, LEVELS, "level"),
    ):
        if value not in known:
            raise DataError(
                f"malformed CREMA-D file name {Path(name).name!r}: unknown {what} {value!r}"
            )
    return {"actor": int(actor), "sentence": sentence, "emotion": emotion, "level": level}


def age_group(age: int) -> str:
    """Decade bucket of an age: ``20-29``, ``30-39``, ..."""
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(1-based line, fields)`` of a CSV file; blank lines skipped."""
    if not path.is_file():
        raise DataError(f"CREMA-D file not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataError(f"empty CREMA-D file: {path}")
        rows = [(reader.line_num, fields) for fields in reader if any(fields)]
    return [h.strip() for h in header], rows


def read_demographics(path: str | Path) -> dict[int, dict[str, Any]]:
    """``VideoDemographics.csv`` -> actor id -> ``gender, age, age_group, race, ethnicity``."""
    path = Path(path)
    header, rows = _rows(path)
    if tuple(header) != DEMOGRAPHIC_FIELDS:
        raise DataError(f"malformed {path} header {header}: expected {list(DEMOGRAPHIC_FIELDS)}")
    actors: dict[int, dict[str, Any]] = {}
    for line, fields in rows:
        where = f"{path}:{line}"
        if len(fields) != len(header):
            raise DataError(f"malformed line {where}: expected {len(header)} fields")
        actor, age, sex, race, ethnicity = (v.strip() for v in fields)
        if not (actor.isdigit() and age.isdigit()):
            raise DataError(f"malformed line {where}: ActorID and Age must be integers")
        if sex not in ("Male", "Female"):
            raise DataError(f"malformed line {where}: unknown Sex {sex!r}")
        if int(actor) in actors:
            raise DataError(f"malformed line {where}: actor {actor} listed twice")
        actors[int(actor)] = {
            "gender": sex.lower(),
            "age": int(age),
            "age_group": age_group(int(age)),
            "race": race,
            "ethnicity": ethnicity,
        }
    return actors


def read_votes(path: str | Path) -> dict[str, dict[str, str]]:
    """``summaryTable.csv`` -> file stem -> ``voice_vote, voice_level, face_vote, ...``."""
    path = Path(path)
    header, rows = _rows(path)
    missing = [c for c in ("FileName", *VOTE_COLUMNS) if c not in header]
    if missing:
        raise DataError(f"malformed {path} header: missing columns {missing}")
    at = {c: header.index(c) for c in ("FileName", *VOTE_COLUMNS)}
    votes: dict[str, dict[str, str]] = {}
    for line, fields in rows:
        if len(fields) != len(header):
            raise DataError(f"malformed line {path}:{line}: expected {len(header)} fields")
        stem = fields[at["FileName"]].strip()
        try:
            parse_cremad_name(stem)
        except DataError as e:
            raise DataError(f"malformed line {path}:{line}: {e}") from None
        votes[stem] = {out: fields[at[col]].strip() for col, out in VOTE_COLUMNS.items()}
    return votes


def prepare_cremad(root: str | Path) -> Manifest:
    """Manifest of every CREMA-D clip under ``root`` (the release folder).

    An item is any stem seen in ``AudioWAV/*.wav``, ``VideoFlash/*.(flv|mp4)`` or the
    vote table; its ``audio`` is always ``AudioWAV/<stem>.wav`` and its ``video`` the file
    found (else ``VideoFlash/<stem>.flv`` when that folder exists), so absent files show in
    ``missing_media()``. Columns: ``text`` (the sentence), ``label`` (``ANG``...),
    ``speaker`` (actor id), ``gender``, ``age_group``; extras ``sentence, level, age, race,
    ethnicity`` and, with the vote table, ``voice_vote ... multimodal_level``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"CREMA-D root not found: {root}")
    audio_dir, video_dir = root / "AudioWAV", root / "VideoFlash"
    if not audio_dir.is_dir():
        raise DataError(f"CREMA-D folder not found: {audio_dir}")
    actors = read_demographics(root / DEMOGRAPHICS)
    summary = root / SUMMARY
    votes = read_votes(summary) if summary.is_file() else None

    stems = {p.stem for p in audio_dir.glob("*.wav")}
    videos: dict[str, str] = {}
    if video_dir.is_dir():
        for suffix in reversed(VIDEO_SUFFIXES):  # later suffixes overwrite earlier ones
            for p in video_dir.glob(f"*{suffix}"):
                videos[p.stem] = p.relative_to(root).as_posix()
    stems |= set(videos) | set(votes or ())
    if not stems:
        raise DataError(f"no CREMA-D clips (AudioWAV/*.wav) under {root}")

    records = []
    for stem in sorted(stems):
        info = parse_cremad_name(stem)
        person = actors.get(info["actor"])
        if person is None:
            raise DataError(f"CREMA-D actor {info['actor']} ({stem}) not in {DEMOGRAPHICS}")
        video = videos.get(stem) or (f"VideoFlash/{stem}.flv" if video_dir.is_dir() else None)
        record = {
            "id": stem,
            "corpus": CORPUS,
            "audio": f"AudioWAV/{stem}.wav",
            "video": video,
            "text": SENTENCES[info["sentence"]],
            "label": info["emotion"],
            "label_canonical": to_canonical(CORPUS, info["emotion"]),
            "speaker": str(info["actor"]),
            "gender": person["gender"],
            "age_group": person["age_group"],
            "sentence": info["sentence"],
            "level": LEVELS[info["level"]],
            "age": person["age"],
            "race": person["race"],
            "ethnicity": person["ethnicity"],
        }
        if votes is not None:
            record.update(votes.get(stem, dict.fromkeys(VOTE_COLUMNS.values())))
        records.append(record)
    return Manifest.from_records(records, root=root)
