import json

import pytest

from emofuse.data.manifest import COLUMNS, Manifest
from emofuse.errors import DataError


def make(root=None) -> Manifest:
    return Manifest.from_records(
        [
            {
                "id": "a",
                "corpus": "x",
                "audio": "a.wav",
                "label": "calm",
                "label_canonical": "neutral",
                "speaker": "s1",
                "take": 2,
                "tags": ["p", "q"],
            },
            {
                "id": "b",
                "corpus": "x",
                "audio": "b.wav",
                "label": "sad",
                "label_canonical": "sadness",
                "valence": 0.25,
            },
            {"id": "c", "corpus": "x", "text": "hi", "valence": 0.5},
        ],
        root=root,
    )


def test_schema_columns_first_and_extras_kept():
    m = make()
    assert list(m.frame.columns) == [*COLUMNS, "take", "tags"]
    assert m.frame.loc[0, "take"] == 2 and m.frame.loc[1, "take"] is None
    assert m.frame.loc[2, "audio"] is None and len(m) == 3


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_round_trip_with_extras_none_and_root(tmp_path, suffix):
    m = make(root=tmp_path)
    back = Manifest.read(m.write(tmp_path / f"m{suffix}"))
    assert back.root == tmp_path
    assert back.frame.equals(m.frame)
    assert back.frame.loc[0, "tags"] == ["p", "q"] and back.frame.loc[2, "speaker"] is None


def test_jsonl_folds_extras_into_extra_mapping(tmp_path):
    make(root=tmp_path).to_jsonl(tmp_path / "m.jsonl")
    first = json.loads((tmp_path / "m.jsonl").read_text().splitlines()[0])
    assert first["extra"] == {"take": 2, "tags": ["p", "q"]} and "take" not in first
    assert first["root"] == str(tmp_path.resolve())


def test_media_paths_resolve_under_root_and_missing_media(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    m = make(root=tmp_path)
    assert m.media_path("a", "audio") == tmp_path / "a.wav"
    assert m.media_path(m.frame.iloc[1], "audio") == tmp_path / "b.wav"
    assert m.missing_media() == ["b"]
    with pytest.raises(DataError, match="no audio"):
        m.media_path("c", "audio")


@pytest.mark.parametrize(
    ("content", "where"),
    [('{"id": "a", "corpus": "x"}\n{"id": "b", oops\n', ":2"), ('{"id": "a"}\n[1, 2]\n', ":2")],
)
def test_malformed_jsonl_names_file_and_line(tmp_path, content, where):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=f"bad.jsonl{where}"):
        Manifest.read(path)


def test_malformed_csv_extra_names_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,corpus,label,extra\na,x,happy,\nb,x,sad,{not json\n")
    with pytest.raises(DataError, match=r"bad\.csv:3"):
        Manifest.read(path)


def test_filter_keeps_root(tmp_path):
    m = make(root=tmp_path)
    assert m.filter(m.frame["corpus"] == "x").root == tmp_path
    assert make().filter(make().frame["id"] != "a").frame["id"].tolist() == ["b", "c"]


def test_validate():
    assert make().validate() is not None
    for change, message in [
        ({"id": "a"}, "duplicate ids"),
        ({"label_canonical": "joy"}, "not in"),
        ({"label": None, "valence": None}, "neither label nor valence"),
        ({"corpus": None}, "without corpus"),
    ]:
        rows = make().frame.to_dict("records")
        rows[1].update(change)
        with pytest.raises(DataError, match=message):
            Manifest.from_records(rows).validate()


def test_scan_rows_reports_bad_rows_one_by_one(tmp_path):
    from emofuse.data.manifest import scan_rows

    path = tmp_path / "m.csv"
    path.write_bytes(
        b"id,corpus,text,start\n"
        b"a,x,hello,1.5\n"
        b"b,x,too,many,fields\n"
        b"c,x,caf\xe9,\n"
        b"d,x,ok,soon\n"
        b"e,x\n"
    )
    rows = list(scan_rows(path))
    assert [w.rsplit(":", 1)[1] for w, _ in rows] == ["2", "3", "4", "5", "6"]
    good = {r["id"]: r for _, r in rows if isinstance(r, dict)}
    assert good["a"]["start"] == 1.5 and good["e"] == {"id": "e", "corpus": "x"}
    errors = [str(r) for _, r in rows if isinstance(r, DataError)]
    assert "m.csv:3: 5 fields, the header has 4" in errors[0]
    assert "m.csv:4: not valid UTF-8" in errors[1] and "m.csv:5" in errors[2]
    with pytest.raises(DataError, match=r"m\.csv:3"):
        Manifest.read(path)  # the strict reader stops at the first bad row
    (tmp_path / "j.jsonl").write_bytes(b'{"id": "a"}\n{"id": "b", "text": "caf\xe9"}\n[1]\n')
    kinds = [type(r).__name__ for _, r in scan_rows(tmp_path / "j.jsonl")]
    assert kinds == ["dict", "DataError", "DataError"]
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        list(scan_rows(tmp_path / "empty.csv"))
