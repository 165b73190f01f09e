"""Property-based: the manifest reader given random input raises only emofuse errors."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emofuse.data.manifest import COLUMNS, ROOT_FIELD, Manifest
from emofuse.errors import EmofuseError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
KEY = st.one_of(st.sampled_from([*COLUMNS, ROOT_FIELD]), st.text(max_size=8))
ROW = st.dictionaries(KEY, VALUE, max_size=8)


def _read(data: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"m{ext}"
        path.write_bytes(data)
        try:
            m = Manifest.read(path)
        except EmofuseError:
            return
        m.records()  # what a reader gets back can be written again
        m.write(Path(tmp) / f"again{ext}")


@FUZZ
@example([{"id": "a", ROOT_FIELD: []}])  # found by this test: an unhashable root
@example([{"id": None, ROOT_FIELD: False}])  # and a root that is not a path
@given(st.lists(ROW, max_size=5))
def test_jsonl_rows(rows):
    text = "\n".join(json.dumps(r, allow_nan=True, default=str) for r in rows)
    _read(text.encode(), ".jsonl")


@FUZZ
@given(st.lists(st.lists(st.text(max_size=10), min_size=1, max_size=6), max_size=6))
def test_csv_cells(cells):
    header = ["id", "label", "start", "extra", ROOT_FIELD][: len(cells[0])] if cells else []
    lines = [",".join(header), *(",".join(json.dumps(c) for c in row) for row in cells)]
    _read("\n".join(lines).encode("utf-8", "surrogatepass"), ".csv")


@FUZZ
@example(b"\x80", ".jsonl")  # found by this test: JSONL that is not UTF-8
@given(st.binary(max_size=200), st.sampled_from([".jsonl", ".csv"]))
def test_random_bytes(data, ext):
    _read(data, ext)
