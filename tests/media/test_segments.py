"""Transcripts (SRT, WebVTT, CSV) and fixed windows."""

from __future__ import annotations

import itertools

import pytest

from emofuse.errors import DataError, UsageError
from emofuse.media import Segment, fixed_windows, read_transcript


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


SRT = """\ufeff2
00:00:04,000 --> 00:00:06,500
<i>Second</i> cue

1
00:00:00,000 --> 00:00:03,667
First line
second line

3
01:00:00.250 --> 01:00:01,000
Hours &amp; dots
"""

VTT = """WEBVTT - a title

NOTE this is a comment
spanning two lines

STYLE
::cue { color: yellow }

intro
00:00.000 --> 00:03.667 align:start position:10%
<v Bob>Hello</v> there

00:01:02.500 --> 00:01:04.000
<c.loud>Loud</c> &lt;3
"""


def test_segment_duration():
    assert Segment(1.0, 3.5).duration == 2.5
    assert Segment(0.0, 1.0, "hi").text == "hi"


def test_srt(tmp_path):
    path = write(tmp_path, "talk.srt", SRT.replace("\n", "\r\n"))
    segs = read_transcript(path)
    assert segs == [
        Segment(0.0, 3.667, "First line second line"),
        Segment(4.0, 6.5, "Second cue"),
        Segment(3600.25, 3601.0, "Hours & dots"),
    ]


def test_srt_bad_timestamp_names_file_and_line(tmp_path):
    text = "1\n00:00:00,000 --> 00:00:01,000\nok\n\n00:00:xx --> 00:00:03,000\nbad\n"
    path = write(tmp_path, "four.srt", text)  # the second cue has no id: its timing is line 5
    with pytest.raises(DataError, match=r"bad timestamp at .*four\.srt:5: '00:00:xx'"):
        read_transcript(path)


def test_srt_missing_timing_line(tmp_path):
    path = write(tmp_path, "x.srt", "1\nno arrow here\ntext\n")
    with pytest.raises(DataError, match=r"x\.srt:2"):
        read_transcript(path)


def test_srt_end_before_start(tmp_path):
    path = write(
        tmp_path,
        "x.srt",
        "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:00:05,000 --> 00:00:04,000\nb\n",
    )
    with pytest.raises(DataError, match=r"x\.srt:6"):
        read_transcript(path)


def test_vtt(tmp_path):
    segs = read_transcript(write(tmp_path, "talk.vtt", VTT))
    assert segs == [Segment(0.0, 3.667, "Hello there"), Segment(62.5, 64.0, "Loud <3")]


def test_vtt_needs_header(tmp_path):
    path = write(tmp_path, "x.vtt", "00:00.000 --> 00:01.000\nhi\n")
    with pytest.raises(DataError, match="WEBVTT"):
        read_transcript(path)


def test_vtt_bad_timestamp_line(tmp_path):
    path = write(
        tmp_path, "x.vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n\nid\n00:0a.000 --> 00:03.000\n"
    )
    with pytest.raises(DataError, match=r"x\.vtt:7: '00:0a\.000'"):
        read_transcript(path)


def test_csv(tmp_path):
    text = 'start,end,text\n5,7.5,"later, with comma"\n00:00:01.000,00:00:02,500,early\n'
    text = text.replace("00:00:02,500,early", '"00:00:02,500",early')
    segs = read_transcript(write(tmp_path, "t.csv", text))
    assert segs == [Segment(1.0, 2.5, "early"), Segment(5.0, 7.5, "later, with comma")]


def test_csv_without_text_column(tmp_path):
    segs = read_transcript(write(tmp_path, "t.csv", "Start,End\n0,1\n1,2\n"))
    assert segs == [Segment(0.0, 1.0), Segment(1.0, 2.0)]


def test_csv_errors_name_line(tmp_path):
    with pytest.raises(DataError, match=r"t\.csv:3: 'soon'"):
        read_transcript(write(tmp_path, "t.csv", "start,end,text\n0,1,a\nsoon,2,b\n"))
    with pytest.raises(DataError, match=r"t\.csv:2"):
        read_transcript(write(tmp_path, "t.csv", "start,end,text\n3,1,backwards\n"))
    with pytest.raises(DataError, match="start,end"):
        read_transcript(write(tmp_path, "t.csv", "begin,finish\n0,1\n"))


def test_not_utf8(tmp_path):
    path = write(tmp_path, "x.srt", "1\n00:00:00,000 --> 00:00:01,000\ncafé\n", "latin-1")
    with pytest.raises(DataError, match=r"not UTF-8.*x\.srt:3"):
        read_transcript(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("e.srt", ""),
        ("e.srt", "\n\n"),
        ("e.vtt", "WEBVTT\n\nNOTE nothing\n"),
        ("e.csv", "start,end,text\n"),
    ],
)
def test_empty_transcript(tmp_path, name, text):
    with pytest.raises(DataError, match="no cues"):
        read_transcript(write(tmp_path, name, text))


def test_unknown_extension_and_missing(tmp_path):
    with pytest.raises(UsageError, match=r"\.txt"):
        read_transcript(write(tmp_path, "t.txt", "hello"))
    with pytest.raises(DataError, match="file not found"):
        read_transcript(tmp_path / "missing.srt")


# ---- fixed windows -------------------------------------------------------------------------


def spans(segs):
    return [(s.start, s.end) for s in segs]


def test_fixed_windows_exact_and_merged():
    assert spans(fixed_windows(8.0, 4.0)) == [(0.0, 4.0), (4.0, 8.0)]
    assert spans(fixed_windows(9.0, 4.0)) == [(0.0, 4.0), (4.0, 9.0)]  # 1 s tail merged
    assert spans(fixed_windows(10.0, 4.0)) == [(0.0, 4.0), (4.0, 8.0), (8.0, 10.0)]  # 2 s kept
    assert spans(fixed_windows(1.5, 4.0)) == [(0.0, 1.5)]  # shorter than one window


def test_fixed_windows_overlap_covers():
    segs = fixed_windows(10.0, window=4.0, hop=2.0)
    assert spans(segs) == [(0.0, 4.0), (2.0, 6.0), (4.0, 8.0), (6.0, 10.0)]
    segs = fixed_windows(7.7, window=4.0, hop=3.5)
    assert spans(segs) == [(0.0, 4.0), (3.5, 7.7)]
    segs = fixed_windows(123.4, window=0.7, hop=0.3)
    assert segs[0].start == 0.0 and segs[-1].end == 123.4
    assert all(b.start <= a.end for a, b in itertools.pairwise(segs))


def test_fixed_windows_errors():
    with pytest.raises(DataError):
        fixed_windows(0.0)
    with pytest.raises(DataError):
        fixed_windows(-1.0)
    with pytest.raises(UsageError):
        fixed_windows(10.0, window=0.0)
    with pytest.raises(UsageError):
        fixed_windows(10.0, window=4.0, hop=0.0)
    with pytest.raises(UsageError):
        fixed_windows(10.0, window=4.0, hop=5.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_fixed_windows_refuse_non_finite(bad):
    """NaN once looped forever (every comparison with NaN is false)."""
    with pytest.raises(UsageError, match="window must be a finite number > 0"):
        fixed_windows(10.0, window=bad)
    with pytest.raises(UsageError, match="hop must be a finite number > 0"):
        fixed_windows(10.0, window=4.0, hop=bad)
    with pytest.raises(DataError):
        fixed_windows(bad, window=4.0)


def test_segment_warnings():
    from emofuse.media.segments import segment_warnings

    segs = [Segment(0.0, 2.0), Segment(2.0, 2.1), Segment(2.5, 3.5), Segment(4.0, 5.0)]
    assert segment_warnings(segs, duration=3.0) == [
        "1 of 4 segments start at or after the end of the media (3 s): no face or voice there",
        "1 of 4 segments end after the end of the media (3 s)",
        "1 of 4 segments are shorter than 0.3 s: too short for the voice model",
    ]
    assert segment_warnings(fixed_windows(9.0, 4.0), 9.0) == []
