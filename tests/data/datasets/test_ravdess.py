"""RAVDESS: file-name parsing, the manifest on a generated layout, and on the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.ravdess import parse_ravdess_name, prepare_ravdess
from emofuse.data.manifest import COLUMNS as SCHEMA
from emofuse.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
RAVDESS = SHARED / "data" / "ravdess"
COLUMNS = [*SCHEMA, "intensity", "statement", "repetition"]


def test_parse_name_fields():
    info = parse_ravdess_name("Actor_12/03-01-02-02-01-02-12.flac")
    assert info == {
        "modality": "audio-only",
        "vocal_channel": "speech",
        "emotion_code": 2,
        "emotion": "calm",
        "intensity": "strong",
        "statement": 1,
        "repetition": 2,
        "actor": 12,
        "gender": "female",
    }
    assert parse_ravdess_name("03-01-08-01-02-01-07.wav")["emotion"] == "surprised"
    assert parse_ravdess_name("03-01-08-01-02-01-07.wav")["gender"] == "male"


@pytest.mark.parametrize(
    "name",
    [
        "03-01-09-01-01-01-01.wav",
        "03-01-01-03-01-01-01.wav",
        "03-01-01-01-03-01-01.wav",
        "03-01-01-01-01-03-01.wav",
        "03-01-01-01-01-01-00.wav",
        "03-03-01-01-01-01-01.wav",
        "03-01-01-01-01-01.wav",
        "hello.wav",
        "03-01-1-01-01-01-01.wav",
        "03-01-01-01-01-01-01x.wav",
    ],
)
def test_malformed_names_raise_naming_the_file(name):
    with pytest.raises(DataError, match=name.replace(".", r"\.")):
        parse_ravdess_name(name)


def _touch(root: Path, name: str) -> None:
    actor = int(name.split(".")[0].split("-")[-1])
    (root / f"Actor_{actor:02d}").mkdir(parents=True, exist_ok=True)
    (root / f"Actor_{actor:02d}" / name).write_bytes(b"")


def test_prepare_on_generated_layout(tmp_path):
    for name in [
        "03-01-01-01-01-01-01.wav",
        "03-01-02-02-02-01-01.flac",
        "03-01-05-01-01-02-02.wav",
    ]:
        _touch(tmp_path, name)
    (tmp_path / "Actor_01" / "notes.txt").write_text("ignored")
    df = prepare_ravdess(tmp_path).frame
    assert list(df.columns) == COLUMNS
    assert df["audio"].tolist() == [
        "Actor_01/03-01-01-01-01-01-01.wav",
        "Actor_01/03-01-02-02-02-01-01.flac",
        "Actor_02/03-01-05-01-01-02-02.wav",
    ]
    assert df["label"].tolist() == ["neutral", "calm", "angry"]
    assert df["label_canonical"].tolist() == ["neutral", "neutral", "anger"]
    assert df["gender"].tolist() == ["male", "male", "female"]
    assert set(df["corpus"]) == {"ravdess"}


def test_prepare_rejects_bad_names_and_wrong_folders(tmp_path):
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / "03-01-01-01-01-01-02.wav").write_bytes(b"")
    with pytest.raises(DataError, match="Actor_02"):
        prepare_ravdess(tmp_path)
    (tmp_path / "Actor_01" / "03-01-01-01-01-01-02.wav").unlink()
    (tmp_path / "Actor_01" / "broken-name.wav").write_bytes(b"")
    with pytest.raises(DataError, match=r"broken-name\.wav"):
        prepare_ravdess(tmp_path)


def test_prepare_empty_or_missing_root(tmp_path):
    with pytest.raises(DataError):
        prepare_ravdess(tmp_path / "nope")
    with pytest.raises(DataError, match="no RAVDESS audio"):
        prepare_ravdess(tmp_path)


@pytest.mark.integration
def test_real_corpus_manifest():
    if not RAVDESS.is_dir():
        pytest.skip(f"RAVDESS not found at {RAVDESS} (../shared is absent)")
    df = prepare_ravdess(RAVDESS).frame
    assert len(df) == 1200
    assert df["speaker"].nunique() == 20
    assert set(df.groupby("speaker").size()) == {60}
    actor = df["speaker"].str[-2:].astype(int)
    assert ((actor % 2 == 1) == (df["gender"] == "male")).all()
    assert df["label"].value_counts().to_dict() == {
        "calm": 160,
        "happy": 160,
        "sad": 160,
        "angry": 160,
        "fearful": 160,
        "disgust": 160,
        "surprised": 160,
        "neutral": 80,
    }
    assert df["label_canonical"].value_counts()["neutral"] == 240
    assert df["id"].is_unique
    assert all((RAVDESS / a).is_file() for a in df["audio"].head(5))
