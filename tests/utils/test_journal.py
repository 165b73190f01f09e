"""The append-only journal: resume with the same header, start afresh with another."""

from __future__ import annotations

import json

from emofuse.utils.journal import Journal


def test_records_survive_a_reopen_and_a_torn_tail(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path, {"job": 1})
    j.append([{"i": 0}, {"i": 1}])
    j.append([])
    with path.open("a") as f:
        f.write('{"i": 2, "to')  # killed mid-write
    again = Journal(path, {"job": 1})
    assert again.records == [{"i": 0}, {"i": 1}]
    again.append([{"i": 2}])
    assert [json.loads(line) for line in path.read_text().splitlines()][1:] == [
        {"i": 0},
        {"i": 1},
        {"i": 2},
    ]
    assert Journal(path, {"job": 1}).records == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_another_header_or_garbage_starts_afresh(tmp_path):
    path = tmp_path / "j.jsonl"
    Journal(path, {"job": 1}).append([{"i": 0}])
    assert Journal(path, {"job": 2}).records == []
    assert Journal(path, {"job": 1}).records == []  # job 2 replaced it
    path.write_bytes(b'\xff\xfe not json\n{"i": 0}\n')
    j = Journal(path, {"job": 1})
    assert j.records == [] and json.loads(path.read_text().splitlines()[0]) == {
        "journal": {"job": 1}
    }
    j.remove()
    assert not path.exists()
