"""The segments ``analyze`` reads a file in: a transcript's cues or fixed windows, bounded.

A window shorter than :data:`MIN_WINDOW` (unless one window covers the whole file) and more
than :data:`MAX_SEGMENTS` segments are refused before anything is decoded, so the work per
call stays bounded whatever ``--window`` or transcript a user gives.

>>> from emofuse.media.decode import MediaInfo
>>> info = MediaInfo(Path("talk.wav"), "audio", 9.0, False, True)
>>> segments, warnings = plan_segments(info, window=4.0)
>>> [(s.start, s.end) for s in segments], warnings
([(0.0, 4.0), (4.0, 9.0)], [])
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..media.decode import MediaInfo
from ..media.segments import Segment, fixed_windows, read_transcript, segment_warnings

MIN_VOICE_SECONDS = 0.3  # shorter segments are too short for the voice model
MIN_WINDOW = 0.5  # seconds: shorter fixed windows are refused
MAX_SEGMENTS = 100_000  # per analyze call (transcript cues or windows)


def plan_segments(
    info: MediaInfo, transcript: str | Path | None = None, window: float = 4.0
) -> tuple[list[Segment], list[str]]:
    """The segments of the file ``info`` describes, and what a user should know about them.

    An image is one segment; otherwise ``transcript``'s cues, else ``window``-second windows
    (a finite ``window`` > 0, checked by the caller).
    """
    if info.kind == "image":
        return [Segment(0.0, 0.0)], list(info.warnings)
    if transcript is not None:
        segments = read_transcript(transcript)
    else:
        if window < MIN_WINDOW and window < info.duration:
            raise UsageError(f"--window must be at least {MIN_WINDOW} s, got {window}")
        if info.duration / window > MAX_SEGMENTS:
            raise UsageError(
                f"{info.duration:.0f} s in {window} s windows is over {MAX_SEGMENTS} "
                "segments: use a longer --window or split the file"
            )
        segments = fixed_windows(info.duration, window)
    if len(segments) > MAX_SEGMENTS:
        raise UsageError(f"{len(segments)} segments: at most {MAX_SEGMENTS} per file")
    warnings = [*info.warnings, *segment_warnings(segments, info.duration, MIN_VOICE_SECONDS)]
    return segments, warnings
