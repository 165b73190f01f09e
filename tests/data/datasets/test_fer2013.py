"""FER2013: the manifest on a generated image-folder layout, its errors, and the real corpus."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emofuse.data.datasets.fer2013 import prepare_fer2013
from emofuse.data.manifest import COLUMNS
from emofuse.errors import DataError
from emofuse.labels import MAPPINGS

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
FER = SHARED / "data" / "fer2013"


def make_layout(root: Path, per_label: int = 2, splits=("train", "validation")) -> Path:
    """Write ``root/<split>/<label>/*.jpg`` with random 48x48 gray images."""
    rng = np.random.default_rng(0)
    for split in splits:
        for label in MAPPINGS["fer2013"]:
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(per_label):
                img = rng.integers(0, 256, (48, 48), dtype=np.uint8)
                cv2.imwrite(str(folder / f"{split}_{label}_{i}.jpg"), img)
    return root


def test_manifest_on_generated_layout(tmp_path):
    root = make_layout(tmp_path / "fer")
    (root / "train" / "happy" / "notes.txt").write_text("not an image")
    df = prepare_fer2013(root).frame
    assert list(df.columns) == list(COLUMNS)
    assert df["speaker"].isna().all()
    assert len(df) == 2 * 7 * 2
    assert df["split"].tolist() == ["train"] * 14 + ["validation"] * 14
    assert (df["corpus"] == "fer2013").all()
    assert df["image"].tolist() == sorted(df["image"])  # split, then path: deterministic
    assert df.equals(prepare_fer2013(root).frame)
    first = df.iloc[0]
    assert first["image"] == "train/angry/train_angry_0.jpg"
    assert (first["id"], first["label"], first["label_canonical"]) == (
        "train/angry/train_angry_0",
        "angry",
        "anger",
    )
    assert set(df["label_canonical"]) == set(MAPPINGS["fer2013"].values())
    assert all((root / p).is_file() for p in df["image"])


def test_manifest_one_split(tmp_path):
    root = make_layout(tmp_path / "fer", splits=("validation",))
    df = prepare_fer2013(root, splits=("validation",)).frame
    assert set(df["split"]) == {"validation"} and len(df) == 14


@pytest.mark.parametrize("missing", ["root", "validation"])
def test_missing_folders_are_named(tmp_path, missing):
    root = make_layout(tmp_path / "fer", splits=("train",))
    target = tmp_path / "nowhere" if missing == "root" else root
    with pytest.raises(DataError, match="nowhere" if missing == "root" else "validation"):
        prepare_fer2013(target)


def test_unknown_label_folder_is_named(tmp_path):
    root = make_layout(tmp_path / "fer")
    (root / "train" / "contempt").mkdir()
    with pytest.raises(DataError, match="contempt"):
        prepare_fer2013(root)


def test_empty_layout_is_an_error(tmp_path):
    for split in ("train", "validation"):
        (tmp_path / split / "happy").mkdir(parents=True)
    with pytest.raises(DataError, match="no FER2013 images"):
        prepare_fer2013(tmp_path)


@pytest.mark.integration
def test_real_corpus_counts():
    if not FER.is_dir():
        pytest.skip(f"real data absent: {FER} (the repository's sibling ../shared)")
    df = prepare_fer2013(FER).frame
    assert df.groupby("split").size().to_dict() == {"train": 28709, "validation": 3589}
    assert df["id"].is_unique  # two file names recur under two labels in the release
    assert df.groupby("label").size()["disgust"] == 436 + 56
