"""Segment planning: bounded windows and segment counts, warnings about the segments."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.errors import UsageError
from emofuse.inference import plan
from emofuse.inference.plan import MIN_WINDOW, plan_segments
from emofuse.media.decode import MediaInfo


def audio(seconds: float, warnings: tuple[str, ...] = ()) -> MediaInfo:
    return MediaInfo(Path("a.wav"), "audio", seconds, False, True, warnings=warnings)


def test_windows_cover_the_file_with_the_file_warnings():
    segments, warnings = plan_segments(audio(9.0, ("truncated file",)), window=4.0)
    assert [(s.start, s.end) for s in segments] == [(0.0, 4.0), (4.0, 9.0)]
    assert warnings == ["truncated file"]


def test_windows_under_the_minimum_are_refused():
    with pytest.raises(UsageError, match=f"at least {MIN_WINDOW}"):
        plan_segments(audio(60.0), window=0.001)


def test_one_short_window_over_a_short_file_is_kept_and_warned():
    segments, warnings = plan_segments(audio(0.25), window=0.25)
    assert len(segments) == 1
    assert any("shorter than 0.3 s" in w for w in warnings)


def test_segment_count_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(plan, "MAX_SEGMENTS", 4)
    with pytest.raises(UsageError, match="segments"):
        plan_segments(audio(3.0), window=0.5)  # refused before any window is made
    srt = tmp_path / "many.srt"
    srt.write_text("".join(f"{i + 1}\n00:00:00,000 --> 00:00:01,000\nhi\n\n" for i in range(5)))
    with pytest.raises(UsageError, match="5 segments"):
        plan_segments(audio(3.0), srt)


def test_an_image_is_one_segment():
    info = MediaInfo(Path("a.png"), "image", 0.0, False, False, 48, 48)
    segments, warnings = plan_segments(info, window=0.001)
    assert len(segments) == 1 and warnings == []
