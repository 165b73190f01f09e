"""IEMOCAP (5 sessions of dyadic dialogues) in the ``IEMOCAP_full_release`` layout.

Per session ``SessionN/``: ``dialog/EmoEvaluation/<dialog>.txt`` (consensus label and
``[V, A, D]`` of each turn), ``dialog/transcriptions/<dialog>.txt`` (the words),
``sentences/wav/<dialog>/<utterance>.wav`` (one clip per turn) and
``dialog/avi/DivX/<dialog>.avi`` (the whole dialogue; ``start``/``end`` locate the turn).

>>> parse_evaluation_line("[6.2901 - 8.2357]\\tSes01F_impro01_F000\\tneu\\t[2.5, 2.5, 2.5]")
('Ses01F_impro01_F000', 6.2901, 8.2357, 'neu', (2.5, 2.5, 2.5))
>>> parse_utterance_id("Ses01F_impro01_M013")
{'session': 'Ses01', 'dialogue': 'Ses01F_impro01', 'gender': 'male', 'speaker': 'Ses01_M'}
>>> m = prepare_iemocap("IEMOCAP_full_release")               # doctest: +SKIP
>>> len(m), m.frame["label_canonical"].value_counts().to_dict()  # doctest: +SKIP
(5531, {'happiness': 1636, 'neutral': 1708, 'anger': 1103, 'sadness': 1084})
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import DataError, UsageError
from ...labels import MAPPINGS, to_canonical
from ..manifest import Manifest

CORPUS = "iemocap"
SESSIONS = (1, 2, 3, 4, 5)
# label_set -> the MAPPINGS entry used; "4class" keeps only neu, ang, sad, hap+exc.
LABEL_SETS = {"4class": "iemocap_4class", "full": "iemocap"}

_NUM = r"(\d+(?:\.\d+)?)"
_EVALUATION = re.compile(
    rf"^\[\s*{_NUM}\s*-\s*{_NUM}\s*\]\s+(\S+)\s+(\S+)\s+"
    rf"\[\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\]\s*$"
)
# Per-evaluator lines under each turn: C-E1: (categorical), A-E3: (attributes), C-F1:/A-M1:
# (self-evaluation by the female/male actor).
_EVALUATOR = re.compile(r"^[CA]-[A-Z]+\d*:")
_TRANSCRIPT = re.compile(rf"^(Ses\S+)\s+\[\s*{_NUM}\s*-\s*{_NUM}\s*\]:\s?(.*)$")
# Transcript lines for vocalisations outside any turn carry no id: "M: [BREATHING]".
_UNNAMED_TURN = re.compile(r"^[MF]:")
_UTTERANCE = re.compile(r"^(Ses0[1-5])([FM])_(.+)_([FM])[A-Z]*\d+$")
_GENDERS = {"F": "female", "M": "male"}


def parse_evaluation_line(line: str) -> tuple[str, float, float, str, tuple[float, ...]] | None:
    """A turn line of ``EmoEvaluation/*.txt`` -> ``(id, start, end, label, (V, A, D))``.

    Returns ``None`` for lines that are not a turn (``%`` header, blank, ``C-E1:``-style
    evaluator lines); raises :class:`DataError` for anything else.
    """
    line = line.rstrip("\r\n")
    if not line.strip() or line.startswith("%") or _EVALUATOR.match(line):
        return None
    match = _EVALUATION.match(line)
    if not match:
        raise DataError(f"not an IEMOCAP evaluation line: {line!r}")
    start, end, utt, label, v, a, d = match.groups()
    return utt, float(start), float(end), label, (float(v), float(a), float(d))


def parse_utterance_id(utt: str) -> dict[str, str]:
    """``Ses01F_impro01_F000`` -> session, dialogue, gender and speaker of the turn."""
    match = _UTTERANCE.match(utt)
    if not match:
        raise DataError(f"malformed IEMOCAP utterance id {utt!r}")
    session, first, middle, who = match.groups()
    return {
        "session": session,
        "dialogue": f"{session}{first}_{middle}",
        "gender": _GENDERS[who],
        "speaker": f"{session}_{who}",
    }


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as f:
        yield from enumerate(f, start=1)


def read_evaluation(path: str | Path) -> list[dict[str, Any]]:
    """Turns of one ``EmoEvaluation/<dialog>.txt``, in file order."""
    path = Path(path)
    turns = []
    for lineno, line in _lines(path):
        try:
            parsed = parse_evaluation_line(line)
            if parsed is None:
                continue
            utt, start, end, label, (v, a, d) = parsed
            info = parse_utterance_id(utt)
        except DataError as e:
            raise DataError(f"malformed line {path}:{lineno}: {e}") from None
        if info["dialogue"] != path.stem:
            raise DataError(f"malformed line {path}:{lineno}: {utt} is not in {path.stem}")
        turns.append(
            {
                "id": utt,
                "start": start,
                "end": end,
                "label": label,
                "valence": v,
                "arousal": a,
                "dominance": d,
                **info,
            }
        )
    return turns


def read_transcription(path: str | Path) -> dict[str, str]:
    """``transcriptions/<dialog>.txt`` -> utterance id -> words (id-less turns skipped)."""
    path = Path(path)
    texts = {}
    for lineno, line in _lines(path):
        line = line.rstrip("\r\n")
        if not line.strip() or _UNNAMED_TURN.match(line):
            continue
        match = _TRANSCRIPT.match(line)
        if not match:
            raise DataError(f"malformed line {path}:{lineno}: {line!r}")
        texts[match.group(1)] = match.group(4).strip()
    return texts


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"IEMOCAP {'folder' if not path.suffix else 'file'} not found: {path}")
    return path


def prepare_iemocap(
    root: str | Path, label_set: str = "4class", sessions: Iterable[int] = SESSIONS
) -> Manifest:
    """Manifest of IEMOCAP turns under ``root`` (``IEMOCAP_full_release``).

    ``label_set="4class"`` keeps the standard four classes (neu, ang, sad, hap with exc
    merged: 5,531 turns on the full corpus) and leaves every other turn out;
    ``"full"`` keeps every turn, with ``label_canonical`` ``None`` for fru, oth, xxx.
    Columns: ``audio`` (the turn's wav), ``video`` (the dialogue's avi) with ``start`` and
    ``end``, ``text``, ``label`` (native code), ``valence, arousal, dominance`` (1-5),
    ``speaker`` (``Ses01_F``), ``gender``, ``session`` (``Ses01``), ``dialogue``; extra
    ``improvised`` (True for ``impro`` dialogues). Media are not checked: see
    ``Manifest.missing_media()``.
    """
    if label_set not in LABEL_SETS:
        raise UsageError(f"unknown IEMOCAP label_set {label_set!r}; use one of {list(LABEL_SETS)}")
    mapping = LABEL_SETS[label_set]
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"IEMOCAP root not found: {root}")
    records = []
    for n in sessions:
        session = _require(root / f"Session{n}")
        evaluations = _require(session / "dialog" / "EmoEvaluation")
        transcripts = _require(session / "dialog" / "transcriptions")
        files = sorted(p for p in evaluations.glob("*.txt") if not p.name.startswith("._"))
        if not files:
            raise DataError(f"no IEMOCAP evaluations (*.txt) in {evaluations}")
        for path in files:
            texts = read_transcription(_require(transcripts / path.name))
            for turn in read_evaluation(path):
                if turn["label"] not in MAPPINGS["iemocap"]:
                    raise DataError(
                        f"unknown IEMOCAP label {turn['label']!r} for {turn['id']} in {path}; "
                        f"known: {sorted(MAPPINGS['iemocap'])}"
                    )
                canonical = to_canonical(mapping, turn["label"])
                if label_set == "4class" and canonical is None:
                    continue  # outside the 4-class protocol, by definition of the setting
                dialog = turn["dialogue"]
                records.append(
                    {
                        **turn,
                        "corpus": CORPUS,
                        "audio": f"Session{n}/sentences/wav/{dialog}/{turn['id']}.wav",
                        "video": f"Session{n}/dialog/avi/DivX/{dialog}.avi",
                        "text": texts.get(turn["id"]),
                        "label_canonical": canonical,
                        "improvised": "_impro" in dialog,
                    }
                )
    if not records:
        raise DataError(f"no IEMOCAP turns with a {label_set} label under {root}")
    return Manifest.from_records(records, root=root)
