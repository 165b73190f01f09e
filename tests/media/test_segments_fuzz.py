"""Property-based: transcript parsers given random input raise only emofuse errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emofuse.errors import EmofuseError
from emofuse.media.segments import read_transcript

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# pieces that make random text look like a transcript, so the parsers get past their headers
STAMP = st.builds(
    "{:02d}:{:02d}:{:02d}{}{:03d}".format,
    st.integers(0, 120),
    st.integers(0, 70),
    st.integers(0, 70),
    st.sampled_from([",", ".", ":", ""]),
    st.integers(0, 1500),
)
NUMBER = st.one_of(
    STAMP,
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**30), 10**30).map(str),
)
LINE = st.one_of(
    st.text(max_size=40),
    st.builds("{} --> {}".format, NUMBER, NUMBER),
    st.builds("{} -->{}".format, NUMBER, st.text(max_size=8)),
    st.sampled_from(["WEBVTT", "NOTE x", "STYLE", "", "1", "start,end,text", "-->", '"']),
    st.builds("{},{},{}".format, NUMBER, NUMBER, st.text(max_size=20)),
    st.integers(130_000, 132_000).map(lambda n: '0,1,"' + "x" * n + '"'),  # csv's field limit
)
DOCUMENT = st.lists(LINE, max_size=30).map("\n".join)


def _parse(data: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"t{ext}"
        path.write_bytes(data)
        try:
            segments = read_transcript(path)
        except EmofuseError:
            return
    assert segments and all(s.start < s.end for s in segments)
    assert [s.start for s in segments] == sorted(s.start for s in segments)


@FUZZ
@example('start,end,text\n0,1,"' + "x" * 131_073 + '"', ".csv")  # found: csv's field limit
@given(DOCUMENT, st.sampled_from([".srt", ".vtt", ".csv"]))
def test_transcript_like_text(text, ext):
    _parse(text.encode("utf-8", "surrogatepass"), ext)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".srt", ".vtt", ".csv"]))
def test_random_bytes(data, ext):
    _parse(data, ext)
