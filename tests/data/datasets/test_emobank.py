"""EmoBank: a generated ``emobank.csv`` in the release syntax, and the real file if present."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.data.datasets.emobank import prepare_emobank
from emofuse.errors import DataError
from tests.fixtures import SHARED

EMOBANK = SHARED / "data" / "emobank"
# Written as the release writes it: minimal quoting, doubled quotes inside quoted text.
CSV = (
    "id,split,V,A,D,text\n"
    '110CYL068_1036_1079,train,3.0,3.0,3.2,"Remember what she said in my last letter? """\n'
    "A_defense_of_Michael_Moore_12_34,train,2.6,3.4,3.0,What a night.\n"
    'Acephalous-Cant-believ_4_47,dev,4.4,3.6,3.4,"I did it, finally!"\n'
    "Acephalous-Cant-believ_83_354,test,3.0,3.0,3.0,NA\n"
)


def write_emobank(root: Path, text: str = CSV) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "emobank.csv").write_text(text)
    return root


def test_prepare_emobank(tmp_path):
    m = prepare_emobank(write_emobank(tmp_path))
    f = m.frame
    assert f["id"].tolist()[0] == "110CYL068_1036_1079"
    assert f["text"].tolist() == [
        'Remember what she said in my last letter? "', "What a night.",
        "I did it, finally!", "NA"]  # fmt: skip
    assert f[["valence", "arousal", "dominance"]].iloc[0].tolist() == [3.0, 3.0, 3.2]
    assert f["split"].tolist() == ["train", "train", "dev", "test"]
    assert f["label"].isna().all() and f["label_canonical"].isna().all()
    assert set(f["corpus"]) == {"emobank"}
    m.validate()


@pytest.mark.parametrize(
    ("line", "what"),
    [("x,train,3.0,high,3.0,Hi\n", "numbers"), ("x,train,3.0,6.0,3.0,Hi\n", "outside"),
     ("x,train,3.0,3.0\n", "fields"), ("Acephalous-Cant-believ_4_47,dev,3,3,3,Hi\n", "repeated")],
)  # fmt: skip
def test_malformed_line_names_file_and_line(tmp_path, line, what):
    write_emobank(tmp_path, CSV + line)
    with pytest.raises(DataError, match=rf"emobank.csv:6: .*{what}"):
        prepare_emobank(tmp_path)


def test_missing_file_and_column(tmp_path):
    with pytest.raises(DataError, match=r"emobank\.csv"):
        prepare_emobank(tmp_path)
    write_emobank(tmp_path, "id,split,V,A,text\nx,train,3,3,Hi\n")
    with pytest.raises(DataError, match=r"missing columns \['D'\]"):
        prepare_emobank(tmp_path)


@pytest.mark.integration
def test_real_emobank():
    if not (EMOBANK / "emobank.csv").is_file():
        pytest.skip(f"real EmoBank not found at {EMOBANK} (../shared is absent)")
    m = prepare_emobank(EMOBANK)
    assert m.frame["split"].value_counts().to_dict() == {"train": 8062, "dev": 1000}
    assert m.frame["id"].is_unique
    assert m.frame[["valence", "arousal", "dominance"]].notna().all().all()
    assert m.frame["text"].notna().all()
    m.validate()
