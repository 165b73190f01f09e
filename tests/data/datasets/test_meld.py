"""MELD preparation: generated fixtures in the release format, plus the real files if present."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from emofuse.data.datasets.meld import normalize_text, prepare_meld
from emofuse.data.manifest import COLUMNS
from emofuse.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
HEADER = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID",
          "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]  # fmt: skip
ROWS = [
    ("I\x92m so happy for you!", "Monica", "joy", "positive", 0, 0),
    (
        "You must\u00e2\u20ac\u2122ve had your hands full\u2026",
        "The Interviewer",
        "neutral",
        "neutral",
        0,
        1,
    ),
    ("Get out, now.", "Ross", "anger", "negative", 1, 0),
    ("What?!  Really?", "Rachel", "surprise", "positive", 1, 1),
]


def write_meld_csv(path: Path, rows=ROWS) -> Path:
    """A ``*_sent_emo.csv`` exactly like the release's (CRLF, quoted times with commas)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(HEADER)
        for n, (text, speaker, emo, sent, dia, utt) in enumerate(rows, start=1):
            w.writerow(
                [n, text, speaker, emo, sent, dia, utt, 8, 21, "00:16:16,059", "00:16:21,731"]
            )
    return path


def test_prepare_meld_columns_ids_and_labels(tmp_path):
    write_meld_csv(tmp_path / "train_sent_emo.csv")
    write_meld_csv(tmp_path / "dev_sent_emo.csv", ROWS[:2])
    df = prepare_meld(tmp_path).frame
    assert list(df.columns) == [*COLUMNS, "utterance", "sentiment"]
    assert df["split"].tolist() == ["train"] * 4 + ["dev"] * 2
    first = df.iloc[0]
    assert first["id"] == "meld-train-dia0_utt0"
    assert first["video"] == "train_splits/dia0_utt0.mp4"
    assert (first["label"], first["label_canonical"]) == ("joy", "happiness")
    assert df.iloc[4]["video"] == "dev_splits_complete/dia0_utt0.mp4"
    assert df["dialogue"].tolist()[:4] == [0, 0, 1, 1]


def test_text_is_normalised(tmp_path):
    df = prepare_meld(write_meld_csv(tmp_path / "train_sent_emo.csv").parent).frame
    assert df["text"].tolist() == [
        "I'm so happy for you!",
        "You must've had your hands full...",
        "Get out, now.",
        "What?! Really?",
    ]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("don\u2019t \u201cgo\u201d", 'don\'t "go"'),
        ("caf\u00c3\u00a9", "caf\u00e9"),  # UTF-8 read as cp1252
        ("na\u00efve \u00e2me", "na\u00efve \u00e2me"),  # real accents stay
        ("a\x96b", "a\u2013b"),  # cp1252 en dash as a C1 control
    ],
)
def test_normalize_text(raw, clean):
    assert normalize_text(raw) == clean


def test_missing_files_and_malformed_csv(tmp_path):
    with pytest.raises(DataError, match="no MELD files"):
        prepare_meld(tmp_path)
    bad = tmp_path / "train_sent_emo.csv"
    bad.write_text('Sr No.,Utterance,Speaker\n1,"unterminated,Joey\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train_sent_emo\.csv"):
        prepare_meld(tmp_path)
    write_meld_csv(bad, [("Hi", "Joey", "joy", "positive", "x", 0)])
    with pytest.raises(DataError, match=r"train_sent_emo\.csv.*non-integer"):
        prepare_meld(tmp_path)
    write_meld_csv(bad, [("Hi", "Joey", "bored", "neutral", 0, 0)])
    with pytest.raises(DataError, match="unknown emotions"):
        prepare_meld(tmp_path)


@pytest.mark.integration
@pytest.mark.skipif(not (SHARED / "data" / "meld").is_dir(), reason="../shared/data/meld absent")
def test_real_meld():
    df = prepare_meld(SHARED / "data" / "meld").frame
    assert df["split"].value_counts().to_dict() == {"train": 9989, "dev": 1109}
    assert df["id"].is_unique
    assert df["label_canonical"].notna().all()
    bad = df["text"].str.contains(
        "[\u0080-\u009f\u2018\u2019\u201c\u201d]|\u00e2\u20ac", regex=True
    )
    assert not bad.any(), df.loc[bad, "text"].head().tolist()
    assert df["text"].str.contains("'").sum() > 3000  # the curly apostrophes became ASCII
