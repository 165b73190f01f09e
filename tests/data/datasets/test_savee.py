"""SAVEE: generated copies of the release layout (AudioData/<speaker>/) and the flat one."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.savee import parse_savee_name, prepare_savee
from emofuse.errors import DataError

CLIPS = ["a01", "d02", "f03", "h04", "n30", "sa05", "su15"]


def write_savee(root: Path, speakers=("DC", "KL"), clips=CLIPS, flat=False) -> Path:
    """``AudioData/<speaker>/<clip>.wav`` as released, or ``<speaker>_<clip>.wav``."""
    for speaker in speakers:
        folder = root if flat else root / "AudioData" / speaker
        folder.mkdir(parents=True, exist_ok=True)
        for clip in clips:
            name = f"{speaker}_{clip}.wav" if flat else f"{clip}.wav"
            (folder / name).write_bytes(b"RIFF")
    return root


def test_parse_name():
    assert parse_savee_name("AudioData/JK/su12.wav") == {
        "emotion_code": "su", "emotion": "surprise", "number": 12}  # fmt: skip
    with pytest.raises(DataError, match="'x'"):
        parse_savee_name("x01.wav")
    with pytest.raises(DataError, match="malformed"):
        parse_savee_name("sa1.wav")


@pytest.mark.parametrize("flat", [False, True])
def test_prepare_savee(tmp_path, flat):
    m = prepare_savee(write_savee(tmp_path, flat=flat))
    f = m.frame
    assert len(f) == 14
    assert f["id"].tolist()[:2] == ["DC_a01", "DC_d02"]
    first = f.iloc[0]
    audio = "DC_a01.wav" if flat else "AudioData/DC/a01.wav"
    assert (first["audio"], first["label"], first["label_canonical"]) == (audio, "anger", "anger")
    assert set(f["gender"]) == {"male"} and set(f["speaker"]) == {"DC", "KL"}
    assert f["label_canonical"].tolist()[:7] == [
        "anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]  # fmt: skip
    assert f["number"].tolist()[:7] == [1, 2, 3, 4, 30, 5, 15]
    assert m.missing_media() == []
    m.validate()


def test_errors(tmp_path):
    with pytest.raises(DataError, match="no SAVEE audio"):
        prepare_savee(tmp_path)
    with pytest.raises(DataError, match="not found"):
        prepare_savee(tmp_path / "nope")
    write_savee(tmp_path / "a", speakers=("XY",))
    with pytest.raises(DataError, match="XY"):
        prepare_savee(tmp_path / "a")
    root = write_savee(tmp_path / "b")
    (root / "AudioData" / "DC" / "q01.wav").write_bytes(b"RIFF")
    with pytest.raises(DataError, match=r"'q'.*DC/q01.wav"):
        prepare_savee(root)
