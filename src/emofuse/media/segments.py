"""Segments of a recording: from a transcript (SRT, WebVTT, CSV) or as fixed windows.

>>> fixed_windows(9.0, window=4.0)
[Segment(start=0.0, end=4.0, text=None), Segment(start=4.0, end=9.0, text=None)]
>>> read_transcript("clip.srt")[0]                            # doctest: +SKIP
Segment(start=0.0, end=3.667, text='Kids are talking by the door.')
"""

from __future__ import annotations

import csv
import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UsageError
from ..utils.checks import positive

TRANSCRIPT_EXTS = (".srt", ".vtt", ".csv")

_TIMESTAMP = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d{1,3})?)$")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # <i>, <v Bob>, <00:01.000>, {\an8}


@dataclass(frozen=True)
class Segment:
    """A span [start, end) in seconds, optionally with what was said in it."""

    start: float
    end: float
    text: str | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


def _seconds(value: str, where: str) -> float:
    """'01:02:03,456', '02:03.456' or '5.25' (seconds) -> seconds."""
    value = value.strip()
    m = _TIMESTAMP.match(value)
    if m:
        hours, minutes, secs = m.groups()
        if int(minutes) < 60 and float(secs.replace(",", ".")) < 60:
            return round(
                int(hours or 0) * 3600 + int(minutes) * 60 + float(secs.replace(",", ".")), 6
            )
    elif re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", value):
        return float(value)
    raise DataError(f"bad timestamp at {where}: {value!r}")


def _clean(lines: list[str]) -> str | None:
    text = " ".join(html.unescape(_TAG.sub("", line)).strip() for line in lines)
    return " ".join(text.split()) or None


def _segment(start: float, end: float, lines: list[str], where: str) -> Segment:
    if end <= start:
        raise DataError(f"cue ends before it starts at {where}: {start} --> {end}")
    return Segment(start, end, _clean(lines))


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks as (1-based first line number, lines)."""
    blocks: list[tuple[int, list[str]]] = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if i == 1 or not lines[i - 2].strip():
            blocks.append((i, []))
        blocks[-1][1].append(line)
    return blocks


def _cues(name: str, lines: list[str], vtt: bool) -> list[Segment]:
    """Parse SRT or WebVTT cue blocks: [id line] timing line, text lines."""
    blocks = _blocks(lines)
    if vtt:
        if not blocks or not re.match(r"WEBVTT(\s|$)", blocks[0][1][0]):
            raise DataError(f"missing 'WEBVTT' header at {name}:1")
        blocks = [b for b in blocks[1:] if not re.match(r"(NOTE|STYLE|REGION)(\s|$)", b[1][0])]
    segments = []
    for first, block in blocks:
        timing = 0 if "-->" in block[0] else 1
        where = f"{name}:{first + timing}"
        if timing >= len(block) or "-->" not in block[timing]:
            raise DataError(
                f"expected 'start --> end' at {where}: {block[min(timing, len(block) - 1)]!r}"
            )
        left, right = block[timing].split("-->", 1)
        if not right.split():
            raise DataError(f"bad timestamp at {where}: {block[timing]!r}")
        start, end = _seconds(left, where), _seconds(right.split()[0], where)
        segments.append(_segment(start, end, block[timing + 1 :], where))
    return segments


def _csv_rows(name: str, lines: list[str]) -> list[Segment]:
    reader = csv.DictReader(lines)
    try:
        return _csv_segments(name, reader)
    except csv.Error as e:  # e.g. a field over csv's size limit
        raise DataError(f"malformed CSV at {name}:{reader.line_num}: {e}") from None


def _csv_segments(name: str, reader: csv.DictReader) -> list[Segment]:
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    if "start" not in fields or "end" not in fields:
        raise DataError(f"CSV header needs 'start,end[,text]' at {name}:1, got {reader.fieldnames}")
    segments = []
    for row in reader:
        where = f"{name}:{reader.line_num}"
        start_s, end_s = row.get(fields["start"]), row.get(fields["end"])
        if start_s is None or end_s is None:
            raise DataError(f"missing start or end at {where}")
        text = row.get(fields["text"]) if "text" in fields else None
        start, end = _seconds(start_s, where), _seconds(end_s, where)
        segments.append(_segment(start, end, [text or ""], where))
    return segments


def read_transcript(path: str | Path) -> list[Segment]:
    """Segments of an SRT, WebVTT or CSV (start,end,text) transcript, sorted by start."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"file not found: {p}")
    ext = p.suffix.lower()
    if ext not in TRANSCRIPT_EXTS:
        raise UsageError(
            f"unsupported transcript type {ext or '(none)'!r} for {p}; "
            f"supported: {list(TRANSCRIPT_EXTS)}"
        )
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"not UTF-8 text at {p}:{line}") from None
    lines = text.splitlines()
    segments = _csv_rows(str(p), lines) if ext == ".csv" else _cues(str(p), lines, ext == ".vtt")
    if not segments:
        raise DataError(f"no cues in transcript {p}")
    return sorted(segments, key=lambda s: (s.start, s.end))


def fixed_windows(duration: float, window: float = 4.0, hop: float | None = None) -> list[Segment]:
    """Windows of `window` seconds every `hop` (default: `window`) covering [0, duration].

    A trailing piece shorter than window/2 is merged into the previous window.

    >>> [(s.start, s.end) for s in fixed_windows(9.0, window=4.0)]
    [(0.0, 4.0), (4.0, 9.0)]
    """
    window = positive("window", window)
    hop = window if hop is None else positive("hop", hop)
    if hop > window:
        raise UsageError(f"hop must be in (0, window={window}] seconds, got {hop}")
    if not math.isfinite(duration) or duration <= 0:
        raise DataError(f"cannot window a recording of duration {duration} s")
    segments: list[Segment] = []
    k = 0
    while True:
        start = round(k * hop, 6)
        end = min(round(start + window, 6), float(duration))
        segments.append(Segment(start, end))
        if end >= duration:
            break
        k += 1
    if len(segments) > 1 and segments[-1].duration < window / 2:
        segments[-2:] = [Segment(segments[-2].start, float(duration))]
    return segments


def segment_warnings(
    segments: list[Segment], duration: float, min_seconds: float = 0.3
) -> list[str]:
    """What a user should know about ``segments`` of a ``duration``-second recording.

    Cues that start at or after the end get no face or voice; segments under
    ``min_seconds`` are too short for the voice model.

    >>> segment_warnings([Segment(0.0, 2.0), Segment(5.0, 6.0)], duration=3.0)
    ['1 of 2 segments start at or after the end of the media (3 s): no face or voice there']
    """
    out = []
    after = sum(s.start >= duration for s in segments)
    over = sum(s.start < duration < s.end for s in segments)
    short = sum(s.duration < min_seconds for s in segments)
    n = len(segments)
    if after:
        out.append(
            f"{after} of {n} segments start at or after the end of the media ({duration:g} s): "
            "no face or voice there"
        )
    if over:
        out.append(f"{over} of {n} segments end after the end of the media ({duration:g} s)")
    if short:
        out.append(
            f"{short} of {n} segments are shorter than {min_seconds:g} s: "
            "too short for the voice model"
        )
    return out
