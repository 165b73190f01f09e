"""Berlin EmoDB: a generated copy of the release layout (``wav/03a01Fa.wav``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.emodb import parse_emodb_name, prepare_emodb
from emofuse.errors import DataError

CLIPS = ["03a01Fa", "03a01Nc", "08b10Wb", "09a05Lb", "16b03Ta", "12a02Ea", "13a07Ad"]


def write_emodb(root: Path, clips=CLIPS) -> Path:
    """``wav/<name>.wav`` plus the release's annotation folders (ignored)."""
    (root / "wav").mkdir(parents=True)
    (root / "lablaut").mkdir()
    for name in clips:
        (root / "wav" / f"{name}.wav").write_bytes(b"RIFF")
        (root / "lablaut" / f"{name}.lablaut").write_text("")
    return root


def test_parse_name():
    assert parse_emodb_name("wav/08b10Wb.wav") == {
        "speaker": "08", "sentence": "b10", "emotion_code": "W",
        "emotion": "anger", "version": "b"}  # fmt: skip
    for bad, what in [("03a01Xa", "letter 'X'"), ("04a01Fa", "speaker '04'"),
                      ("03a03Fa", "sentence 'a03'"), ("3a01Fa", "malformed")]:  # fmt: skip
        with pytest.raises(DataError, match=what):
            parse_emodb_name(f"{bad}.wav")


def test_prepare_emodb(tmp_path):
    m = prepare_emodb(write_emodb(tmp_path))
    f = m.frame.set_index("id")
    assert f.index.tolist() == sorted(CLIPS)
    row = f.loc["03a01Fa"]
    assert row["audio"] == "wav/03a01Fa.wav"
    assert row["text"] == "Der Lappen liegt auf dem Eisschrank."
    assert (row["label"], row["label_canonical"]) == ("happiness", "happiness")
    assert (row["speaker"], row["gender"], row["age_group"], row["age"]) == (
        "03", "male", "30-39", 31)  # fmt: skip
    assert f.loc["09a05Lb", "label"] == "boredom"
    assert f.loc["09a05Lb", "label_canonical"] is None  # excluded on purpose
    assert (f.loc["09a05Lb", "gender"], f.loc["09a05Lb", "age_group"]) == ("female", "20-29")
    assert f["label_canonical"].tolist() == [
        "happiness", "neutral", "anger", None, "disgust", "fear", "sadness"]  # fmt: skip
    m.validate()


def test_errors(tmp_path):
    with pytest.raises(DataError, match="wav"):
        prepare_emodb(tmp_path)
    root = write_emodb(tmp_path / "e", clips=["03a01Fa", "03a01Za"])
    with pytest.raises(DataError, match="'Z'"):
        prepare_emodb(root)
