"""CREMA-D: a generated copy of the release layout (file names, CSV quoting as released)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.cremad import (
    SENTENCES,
    age_group,
    parse_cremad_name,
    prepare_cremad,
)
from emofuse.errors import DataError
from tests.fixtures import write_tone_wav

# VideoDemographics.csv as released: quoted header and strings, bare numbers.
DEMOGRAPHICS = [(1001, 51, "Male", "Caucasian", "Not Hispanic"),
                (1002, 21, "Female", "Caucasian", "Not Hispanic"),
                (1005, 29, "Male", "African American", "Not Hispanic")]  # fmt: skip
# summaryTable.csv rows as released (R row names first; ties written "A:F").
VOTES = [("1001_DFA_ANG_XX", "A", "47.33", "A", "41.8", "A", "41.5"),
         ("1001_IEO_HAP_LO", "N", "71.67", "H", "57", "H", "57.38"),
         ("1002_IEO_SAD_HI", "N", "60.14", "A:F", "30.67:51.00", "N", "63.5"),
         ("1005_TSI_DIS_XX", "N", "74", "D", "62.38", "D", "65.57")]  # fmt: skip
CLIPS = ["1001_DFA_ANG_XX", "1001_IEO_HAP_LO", "1002_IEO_SAD_HI", "1005_TSI_DIS_XX"]


def write_demographics(root: Path, rows=DEMOGRAPHICS) -> Path:
    lines = ['"ActorID","Age","Sex","Race","Ethnicity"']
    lines += [f'{a},{age},"{sex}","{race}","{eth}"' for a, age, sex, race, eth in rows]
    path = root / "VideoDemographics.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_summary(root: Path, rows=VOTES) -> Path:
    header = ["", "FileName", "VoiceVote", "VoiceLevel", "FaceVote", "FaceLevel",
              "MultiModalVote", "MultiModalLevel"]  # fmt: skip
    lines = [",".join(f'"{h}"' for h in header)]
    lines += [",".join(f'"{v}"' for v in (str(i), *r)) for i, r in enumerate(rows, start=1)]
    path = root / "processedResults" / "summaryTable.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_cremad(root: Path, clips=CLIPS, videos=(), votes=True) -> Path:
    """The release layout: AudioWAV/, VideoFlash/ (only ``videos``), the CSV tables."""
    (root / "AudioWAV").mkdir(parents=True)
    (root / "VideoFlash").mkdir()
    for stem in clips:
        write_tone_wav(root / "AudioWAV" / f"{stem}.wav", seconds=0.05)
    for name in videos:
        (root / "VideoFlash" / name).write_bytes(b"FLV\x01")  # never decoded here
    write_demographics(root)
    if votes:
        write_summary(root)
    return root


def test_parse_name_and_helpers():
    assert parse_cremad_name("1002_IEO_SAD_HI.wav") == {
        "actor": 1002, "sentence": "IEO", "emotion": "SAD", "level": "HI"}  # fmt: skip
    assert len(SENTENCES) == 12
    assert SENTENCES["ITH"] == "I think I have a doctor's appointment"
    assert [age_group(a) for a in (20, 29, 30, 74)] == ["20-29", "20-29", "30-39", "70-79"]


@pytest.mark.parametrize(
    "name", ["1001_DFA_ANG.wav", "1001_XYZ_ANG_XX.wav", "1001_DFA_SUR_XX", "1001_DFA_ANG_ZZ"]
)
def test_malformed_names_raise(name):
    with pytest.raises(DataError, match="malformed CREMA-D file name"):
        parse_cremad_name(name)


def test_prepare_cremad_fields(tmp_path):
    root = write_cremad(
        tmp_path / "CREMA-D",
        videos=["1001_DFA_ANG_XX.flv", "1001_IEO_HAP_LO.flv", "1001_IEO_HAP_LO.mp4"],
    )
    m = prepare_cremad(root)
    f = m.frame.set_index("id")
    assert f.index.tolist() == CLIPS
    row = f.loc["1001_DFA_ANG_XX"]
    assert (row["label"], row["label_canonical"]) == ("ANG", "anger")
    assert row["text"] == "Don't forget a jacket"
    assert row["audio"] == "AudioWAV/1001_DFA_ANG_XX.wav"
    assert row["video"] == "VideoFlash/1001_DFA_ANG_XX.flv"
    assert (row["speaker"], row["gender"], row["age_group"], row["age"]) == (
        "1001", "male", "50-59", 51)  # fmt: skip
    assert (row["sentence"], row["level"], row["race"]) == ("DFA", "unspecified", "Caucasian")
    assert f.loc["1001_IEO_HAP_LO", "video"] == "VideoFlash/1001_IEO_HAP_LO.mp4"  # mp4 wins
    assert f.loc["1001_IEO_HAP_LO", "level"] == "low"
    sad = f.loc["1002_IEO_SAD_HI"]
    assert (sad["gender"], sad["age_group"], sad["label_canonical"]) == (
        "female", "20-29", "sadness")  # fmt: skip
    assert (sad["face_vote"], sad["face_level"], sad["multimodal_vote"]) == (
        "A:F", "30.67:51.00", "N")  # fmt: skip
    assert f.loc["1005_TSI_DIS_XX", "label_canonical"] == "disgust"
    assert m.root == root
    # Clips without a video are kept and listed as missing media, not dropped.
    assert sorted(m.missing_media()) == ["1002_IEO_SAD_HI", "1005_TSI_DIS_XX"]
    m.validate()


def test_clip_listed_only_in_votes_is_kept_and_missing(tmp_path):
    root = write_cremad(tmp_path, clips=CLIPS[:3])
    m = prepare_cremad(root)
    assert "1005_TSI_DIS_XX" in m.frame["id"].tolist()
    assert "1005_TSI_DIS_XX" in m.missing_media()


def test_without_vote_table_there_are_no_vote_columns(tmp_path):
    m = prepare_cremad(write_cremad(tmp_path, votes=False))
    assert "voice_vote" not in m.frame.columns
    assert len(m) == 4


def test_missing_folder_and_demographics_are_named(tmp_path):
    with pytest.raises(DataError, match="AudioWAV"):
        prepare_cremad(tmp_path)
    root = write_cremad(tmp_path / "c")
    (root / "VideoDemographics.csv").unlink()
    with pytest.raises(DataError, match=r"VideoDemographics\.csv"):
        prepare_cremad(root)


def test_malformed_lines_name_file_and_line(tmp_path):
    root = write_cremad(tmp_path)
    write_demographics(root, [*DEMOGRAPHICS[:2], (1005, "old", "Male", "Asian", "Hispanic")])
    with pytest.raises(DataError, match=r"VideoDemographics.csv:4"):
        prepare_cremad(root)
    write_demographics(root)
    write_summary(root, [*VOTES[:2], ("1002_IEO_SAD", "N", "1", "N", "1", "N", "1")])
    with pytest.raises(DataError, match=r"summaryTable.csv:4"):
        prepare_cremad(root)


def test_unknown_emotion_and_actor_are_named(tmp_path):
    root = write_cremad(tmp_path)
    write_tone_wav(root / "AudioWAV" / "1001_DFA_SUR_XX.wav", seconds=0.05)
    with pytest.raises(DataError, match="'SUR'"):
        prepare_cremad(root)
    (root / "AudioWAV" / "1001_DFA_SUR_XX.wav").unlink()
    write_tone_wav(root / "AudioWAV" / "1091_DFA_ANG_XX.wav", seconds=0.05)
    with pytest.raises(DataError, match="actor 1091"):
        prepare_cremad(root)
