"""GoEmotions preparation: generated fixtures in the release format, plus the real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.goemotions import prepare_goemotions
from emofuse.data.manifest import COLUMNS
from emofuse.errors import DataError, UsageError

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
LINES = [
    ("My favourite food is anything I didn't have to cook myself.", "4", "eebbqej"),
    ("WHY THE FUCK IS BAYLESS ISOING", "0", "eezlygj"),
    ("Wow, that\u2019s great [NAME]!", "6,3", "ed7ypvh"),
    ("I miss him so much \U0001f62d", "5", "eeibobj"),
]


def write_goemotions(root: Path, split: str = "train", lines=LINES, label_set="ekman") -> Path:
    """``root/{label_set}/labels.txt`` (no final newline) and ``{split}.tsv`` (no header)."""
    folder = root / label_set
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.txt").write_text("\n".join(EKMAN), encoding="utf-8")
    body = "".join("\t".join(fields) + "\n" for fields in lines)
    (folder / f"{split}.tsv").write_text(body, encoding="utf-8")
    return root


def test_prepare_goemotions_columns_and_labels(tmp_path):
    write_goemotions(tmp_path, "train")
    write_goemotions(tmp_path, "dev", LINES[:1])
    df = prepare_goemotions(tmp_path).frame
    assert list(df.columns) == [*COLUMNS, "labels", "n_labels"]
    assert df["split"].tolist() == ["train"] * 4 + ["dev"]
    assert df["id"].iloc[0] == "goemotions-train-eebbqej"
    multi = df.iloc[2]
    assert multi["labels"] == ["surprise", "joy"]
    assert (multi["label"], multi["label_canonical"], multi["n_labels"]) == (
        "surprise",
        "surprise",
        2,
    )
    assert df["label_canonical"].tolist()[:4] == ["neutral", "anger", "surprise", "sadness"]
    assert multi["text"] == "Wow, that's great [NAME]!"


def test_original_label_set_has_no_canonical(tmp_path):
    write_goemotions(tmp_path, label_set="original")
    df = prepare_goemotions(tmp_path, label_set="original").frame
    assert df["label_canonical"].isna().all()
    with pytest.raises(UsageError):
        prepare_goemotions(tmp_path, label_set="plutchik")


@pytest.mark.parametrize(
    ("bad_line", "why"),
    [
        ("only text\t3", "expected 3"),
        ("text\tx\tid1", "invalid literal"),
        ("text\t9\tid1", "out of range"),
        ("text\t\tid1", "invalid literal"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad_line, why):
    write_goemotions(tmp_path)
    path = tmp_path / "ekman" / "train.tsv"
    path.write_text(path.read_text() + bad_line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"train\.tsv:5: .*{why}"):
        prepare_goemotions(tmp_path)


def test_missing_files(tmp_path):
    with pytest.raises(DataError, match=r"labels\.txt"):
        prepare_goemotions(tmp_path)
    write_goemotions(tmp_path)
    (tmp_path / "ekman" / "train.tsv").unlink()
    with pytest.raises(DataError, match="no GoEmotions files"):
        prepare_goemotions(tmp_path)


@pytest.mark.integration
@pytest.mark.skipif(
    not (SHARED / "data" / "goemotions").is_dir(), reason="../shared/data/goemotions absent"
)
def test_real_goemotions():
    df = prepare_goemotions(SHARED / "data" / "goemotions").frame
    assert df["split"].value_counts().to_dict() == {"train": 43410, "dev": 5426}
    assert df["id"].is_unique
    assert df["label_canonical"].notna().all()
    assert 0.05 < (df["n_labels"] > 1).mean() < 0.12  # Ekman merges labels: ~9% multi-label
    original = prepare_goemotions(SHARED / "data" / "goemotions", "original").frame
    assert len(original) == len(df)
    assert 0.12 < (original["n_labels"] > 1).mean() < 0.2  # "about 16%"
