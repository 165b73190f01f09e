"""PyAV plumbing shared by the media decoders: open a file, its clock origin, span checks.

>>> with opened("clip.mp4") as c: origin(c)                      # doctest: +SKIP
0.0
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError, UsageError

if TYPE_CHECKING:  # PyAV is imported where media is decoded, not at start-up
    import av


def existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"file not found: {p}")
    return p


@contextmanager
def opened(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open with PyAV; any PyAV error inside the block becomes a one-line DataError."""
    import av
    import av.error

    p = existing(path)
    if p.stat().st_size == 0:
        raise DataError(f"empty file: {p}")
    try:
        with av.open(str(p)) as container:
            yield container
    except av.error.FFmpegError as e:
        raise DataError(f"cannot decode {p}: {e.strerror or e}") from None


def origin(container: av.container.InputContainer) -> float:
    """The container's start time in seconds: timestamps we report count from it."""
    import av

    return (container.start_time or 0) / av.time_base


def check_span(start: float, end: float | None) -> None:
    if start < 0:
        raise UsageError(f"start must be >= 0, got {start}")
    if end is not None and end <= start:
        raise UsageError(f"end ({end}) must be greater than start ({start})")
