"""IEMOCAP: a generated copy of the IEMOCAP_full_release layout and annotation syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.iemocap import (
    parse_evaluation_line,
    parse_utterance_id,
    prepare_iemocap,
)
from emofuse.errors import DataError, UsageError

HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
# Evaluator lines exactly as released: categorical (C-E*), attributes (A-E*), self (C-F1...).
EVALUATORS = (
    "C-E2:\tNeutral;\t()\n"
    "C-E3:\tNeutral;\t()\n"
    "C-F1:\tNeutral;\t(curious)\n"
    "A-E3:\tval 3; act 2; dom  2;\t()\n"
    "A-F1:\tval 3; act 2; dom  1;\t()\n"
)
# dialog -> turns (utterance suffix, start, end, label, V, A, D, words)
DIALOGS = {
    1: {
        "Ses01F_impro01": [
            ("F000", 6.2901, 8.2357, "neu", 2.5, 2.5, 2.5, "Excuse me."),
            ("M000", 7.5712, 10.475, "fru", 2.0, 3.5, 3.5, "Do you have your forms?"),
            ("F001", 10.01, 11.3925, "exc", 4.0, 4.0, 3.0, "Yeah."),
            ("M001", 14.8872, 18.0175, "xxx", 2.5, 3.0, 3.0, "Let me see them."),
        ],
        "Ses01M_script01_1": [
            ("M002", 20.5, 24.25, "ang", 1.5, 4.5, 4.0, "Why did you do that?"),
            ("F003", 25.0, 27.5, "sur", 3.0, 4.0, 2.5, "Oh!"),
        ],
    },
    2: {
        "Ses02F_impro03": [
            ("F000", 1.0, 2.5, "sad", 1.5, 2.0, 2.0, "I miss her."),
            ("M000", 3.0, 4.0, "hap", 4.0, 3.0, 3.0, "That's wonderful."),
            ("F001", 5.0, 6.0, "oth", 3.0, 3.0, 3.0, "Hmm."),
        ],
    },
}


def write_dialog(root: Path, n: int, dialog: str, turns) -> None:
    """One dialogue: EmoEvaluation, transcription, one wav per turn (first turn omitted)."""
    base = root / f"Session{n}"
    ev = base / "dialog" / "EmoEvaluation"
    tr = base / "dialog" / "transcriptions"
    for d in (ev / "Categorical", tr, base / "dialog" / "avi" / "DivX"):
        d.mkdir(parents=True, exist_ok=True)
    blocks, lines = [], ["M: [BREATHING]\n"]
    for suffix, start, end, label, v, a, d, words in turns:
        utt = f"{dialog}_{suffix}"
        blocks.append(f"[{start:.4f} - {end:.4f}]\t{utt}\t{label}\t[{v:.4f}, {a:.4f}, {d:.4f}]\n")
        blocks[-1] += EVALUATORS
        lines.append(f"{utt} [{start:08.4f}-{end:08.4f}]: {words}\n")
    (ev / f"{dialog}.txt").write_text(HEADER + "\n".join(blocks) + "\n")
    (ev / "Categorical" / f"{dialog}_e2_cat.txt").write_text(f"{dialog}_F000 :Neutral; ()\n")
    (tr / f"{dialog}.txt").write_text("".join(lines))
    wav = base / "sentences" / "wav" / dialog
    wav.mkdir(parents=True, exist_ok=True)
    for suffix, *_ in turns[1:]:
        (wav / f"{dialog}_{suffix}.wav").write_bytes(b"RIFF")
    (base / "dialog" / "avi" / "DivX" / f"{dialog}.avi").write_bytes(b"RIFF")


def write_iemocap(root: Path, dialogs=DIALOGS) -> Path:
    for n, per_session in dialogs.items():
        for dialog, turns in per_session.items():
            write_dialog(root, n, dialog, turns)
    return root


def test_line_parsers():
    line = "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
    assert parse_evaluation_line(line) == (
        "Ses01F_impro01_F000", 6.2901, 8.2357, "neu", (2.5, 2.5, 2.5))  # fmt: skip
    for skipped in (HEADER.splitlines()[0], "", "C-E1:\tAnger;\t()", "A-M1:\tval 3; act 2;"):
        assert parse_evaluation_line(skipped) is None
    with pytest.raises(DataError):
        parse_evaluation_line("[6.29 - 8.23]\tSes01F_impro01_F000\tneu")
    assert parse_utterance_id("Ses05M_script01_1b_F012") == {
        "session": "Ses05", "dialogue": "Ses05M_script01_1b",
        "gender": "female", "speaker": "Ses05_F"}  # fmt: skip


def test_four_class_setting(tmp_path):
    m = prepare_iemocap(write_iemocap(tmp_path), sessions=(1, 2))
    f = m.frame.set_index("id")
    assert f.index.tolist() == [
        "Ses01F_impro01_F000", "Ses01F_impro01_F001", "Ses01M_script01_1_M002",
        "Ses02F_impro03_F000", "Ses02F_impro03_M000"]  # fmt: skip
    assert f["label"].tolist() == ["neu", "exc", "ang", "sad", "hap"]
    assert f["label_canonical"].tolist() == [
        "neutral", "happiness", "anger", "sadness", "happiness"]  # fmt: skip
    row = f.loc["Ses01F_impro01_F000"]
    assert (row["start"], row["end"]) == (6.2901, 8.2357)
    assert (row["valence"], row["arousal"], row["dominance"]) == (2.5, 2.5, 2.5)
    assert row["text"] == "Excuse me."
    assert row["audio"] == "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav"
    assert row["video"] == "Session1/dialog/avi/DivX/Ses01F_impro01.avi"
    assert (row["speaker"], row["gender"], row["session"], row["dialogue"]) == (
        "Ses01_F", "female", "Ses01", "Ses01F_impro01")  # fmt: skip
    assert bool(row["improvised"]) is True
    m2 = f.loc["Ses01M_script01_1_M002"]
    assert (m2["speaker"], m2["gender"], bool(m2["improvised"])) == ("Ses01_M", "male", False)
    # The first turn of each dialogue has no wav here: kept, and listed as missing.
    assert m.missing_media() == [
        "Ses01F_impro01_F000", "Ses01M_script01_1_M002", "Ses02F_impro03_F000"]  # fmt: skip
    m.validate()


def test_full_setting_keeps_every_turn(tmp_path):
    m = prepare_iemocap(write_iemocap(tmp_path), label_set="full", sessions=(1, 2))
    f = m.frame.set_index("id")
    assert len(f) == 9
    assert f.loc["Ses01F_impro01_M000", "label_canonical"] is None  # fru
    assert f.loc["Ses01F_impro01_M001", "label_canonical"] is None  # xxx
    assert f.loc["Ses02F_impro03_F001", "label_canonical"] is None  # oth
    assert f.loc["Ses01M_script01_1_F003", "label_canonical"] == "surprise"
    assert f.loc["Ses01F_impro01_M000", "speaker"] == "Ses01_M"


def test_errors_name_what_is_wrong(tmp_path):
    root = write_iemocap(tmp_path)
    with pytest.raises(DataError, match="Session3"):
        prepare_iemocap(root)
    with pytest.raises(UsageError, match="label_set"):
        prepare_iemocap(root, label_set="6class", sessions=(1,))
    ev = root / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    good = ev.read_text()
    ev.write_text(good.replace("\tneu\t", "\tbored\t"))
    with pytest.raises(DataError, match="'bored'"):
        prepare_iemocap(root, sessions=(1,))
    ev.write_text(good.replace("[2.5000, 2.5000, 2.5000]", "[2.5000, 2.5000]"))
    with pytest.raises(DataError, match=r"Ses01F_impro01.txt:3"):
        prepare_iemocap(root, sessions=(1,))
    ev.write_text(good)
    tr = root / "Session1" / "dialog" / "transcriptions" / "Ses01F_impro01.txt"
    tr.write_text(tr.read_text() + "garbage without an id\n")
    with pytest.raises(DataError, match=r"transcriptions/Ses01F_impro01.txt:6"):
        prepare_iemocap(root, sessions=(1,))
    tr.unlink()
    with pytest.raises(DataError, match=r"transcriptions/Ses01F_impro01\.txt"):
        prepare_iemocap(root, sessions=(1,))
