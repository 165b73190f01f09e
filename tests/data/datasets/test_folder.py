"""One-folder-per-label corpora, generated in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.folder import prepare_folder
from emofuse.errors import DataError, UsageError


def write_folder(root: Path, files: dict[str, list[str]]) -> Path:
    for label, names in files.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / label / name).write_bytes(b"x")
    return root


def test_labels_synonyms_and_modalities(tmp_path):
    root = write_folder(
        tmp_path / "mine",
        {"Happy": ["a.jpg", "b.wav", "notes.txt"], "angry": ["c.mp4"], "sadness": ["d.png"]},
    )
    m = prepare_folder(root)
    f = m.frame.set_index("id")
    assert f.index.tolist() == ["Happy/a", "Happy/b", "angry/c", "sadness/d"]
    assert f["label_canonical"].tolist() == ["happiness", "happiness", "anger", "sadness"]
    assert f.loc["Happy/a", "image"] == "Happy/a.jpg"
    assert f.loc["Happy/b", "audio"] == "Happy/b.wav"
    assert f.loc["angry/c", "video"] == "angry/c.mp4"
    assert set(f["corpus"]) == {"mine"}
    assert prepare_folder(root, modality="image").frame["id"].tolist() == ["Happy/a", "sadness/d"]
    m.validate()


def test_unknown_label_folder(tmp_path):
    root = write_folder(tmp_path, {"happy": ["a.jpg"], "contempt": ["b.jpg"]})
    with pytest.raises(DataError, match="'contempt'"):
        prepare_folder(root)
    m = prepare_folder(root, unknown="keep")
    assert m.frame.set_index("id").loc["contempt/b", "label_canonical"] is None


def test_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        prepare_folder(tmp_path / "nope")
    with pytest.raises(DataError, match="no media"):
        prepare_folder(write_folder(tmp_path, {"sad": ["x.txt"]}))
    with pytest.raises(UsageError):
        prepare_folder(tmp_path, modality="smell")
