"""A user's own CSV/JSONL manifest: reading, checks with file and line."""

from __future__ import annotations

import json

import pytest

from emofuse.data.datasets.user import prepare_user_manifest
from emofuse.errors import DataError


def test_csv_and_jsonl(tmp_path):
    (tmp_path / "clips.csv").write_text(
        "id,audio,label,speaker,take\nc1,clips/c1.wav,happy,ann,1\nc2,clips/c2.wav,Sad,bob,2\n"
    )
    m = prepare_user_manifest(tmp_path / "clips.csv")
    assert m.frame["label_canonical"].tolist() == ["happiness", "sadness"]
    assert m.frame["take"].tolist() == ["1", "2"] and m.root == tmp_path
    assert m.missing_media() == ["c1", "c2"]
    rows = [
        {"id": "t1", "text": "great", "valence": 4.5},
        {"id": "t2", "text": "meh", "label": "contempt", "label_canonical": "disgust"},
    ]
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    m = prepare_user_manifest(tmp_path / "t.jsonl")
    assert m.frame["valence"].tolist()[0] == 4.5
    assert m.frame["label_canonical"].tolist() == [None, "disgust"]
    m.validate()


@pytest.mark.parametrize(
    ("text", "what"),
    [("id,audio,label\nc1,a.wav,happy\nc2,b.wav,bored\n", r"'bored' at .*m.csv:3"),
     ("id,audio,label\nc1,a.wav,happy\n,b.wav,sad\n", r"m.csv:3: empty id"),
     ("id,audio,label\nc1,a.wav,happy\nc1,b.wav,sad\n", r"m.csv:3: .*repeated"),
     ("id,label\nc1,happy\n", "required columns"),
     ("id,audio\nc1,a.wav\n", "label or valence")],
)  # fmt: skip
def test_errors_name_file_and_line(tmp_path, text, what):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(DataError, match=what):
        prepare_user_manifest(tmp_path / "m.csv")


def test_bad_json_line(tmp_path):
    (tmp_path / "m.jsonl").write_text('{"id": "a", "text": "x", "label": "sad"}\n\n{oops\n')
    with pytest.raises(DataError, match=r"m.jsonl:3"):
        prepare_user_manifest(tmp_path / "m.jsonl")
