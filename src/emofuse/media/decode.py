"""Decode media with PyAV, streaming: frames and audio are produced lazily, never a whole file.

>>> info = probe("clip.mp4")                                    # doctest: +SKIP
>>> info.duration, info.has_video, info.has_audio               # doctest: +SKIP
(15.33, True, True)
>>> [t for t, rgb in iter_frames("clip.mp4", fps=1, end=3)]     # doctest: +SKIP
[0.0, 1.0, 2.0]
>>> load_audio("clip.mp4", sample_rate=16000).shape             # doctest: +SKIP
(245280,)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import DataError, UsageError
from ..utils.checks import positive
from .audio import is_silent, iter_audio, iter_spans, load_audio, rms_dbfs
from .container import check_span as _check_span
from .container import existing as _existing
from .container import opened as _opened
from .container import origin as _origin
from .images import check_pixels, image_size
from .images import load_image as load_image  # re-exported: decode.load_image

if TYPE_CHECKING:  # PyAV is imported where media is decoded, not at start-up
    import av

VIDEO_EXTS = {".mp4", ".mkv", ".webm", ".avi", ".mov"}
AUDIO_EXTS = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
_SUPPORTED = sorted(VIDEO_EXTS | AUDIO_EXTS | IMAGE_EXTS)

MediaKind = Literal["video", "audio", "image"]
__all__ = [
    "MediaInfo",
    "is_silent",
    "iter_audio",
    "iter_frames",
    "iter_spans",
    "load_audio",
    "load_image",
    "media_kind",
    "probe",
    "rms_dbfs",
]


@dataclass(frozen=True)
class MediaInfo:
    """What `probe` learns about a file without decoding it all."""

    path: Path
    kind: MediaKind
    duration: float
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    warnings: tuple[str, ...] = ()  # e.g. a truncated file


def media_kind(path: str | Path) -> MediaKind:
    """'video', 'audio' or 'image', from the extension of an existing file."""
    p = _existing(path)
    ext = p.suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in IMAGE_EXTS:
        return "image"
    raise UsageError(f"unsupported file type {ext or '(none)'!r} for {p}; supported: {_SUPPORTED}")


def _decodable(container: av.container.InputContainer, streams: list[av.stream.Stream]) -> set:
    """Indices of the streams that yield a frame within the file's first packets."""
    import av.error

    found: set[int] = set()
    try:
        for n, packet in enumerate(container.demux(*streams)):
            if packet.stream.index not in found and packet.decode():
                found.add(packet.stream.index)
            if len(found) == len(streams) or n > 300:
                break
    except av.error.FFmpegError:
        pass  # a stream that breaks before its first frame counts as undecodable
    return found


def _duration(container: av.container.InputContainer) -> float:
    """Seconds from the container header, else the streams, else the last packet's end."""
    import av
    import av.error

    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    spans = [
        float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base
    ]
    if spans:
        return max(spans)
    end = 0.0  # demux (no decoding) to the last packet
    with suppress(av.error.FFmpegError):
        container.seek(0)
    for packet in container.demux():
        if packet.pts is not None and packet.time_base:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def probe(path: str | Path) -> MediaInfo:
    """Kind, duration, streams and picture size of a media file (DataError if undecodable).

    Images have duration 0.0 and neither a video nor an audio stream.
    """
    kind = media_kind(path)
    p = Path(path)
    if kind == "image":
        w, h = image_size(p.read_bytes(), str(p))
        check_pixels(w, h, str(p))
        return MediaInfo(p, kind, 0.0, False, False, w, h, None)
    with _opened(p) as c:
        video = next((s for s in c.streams.video if not _is_cover(s)), None)
        video = video if kind == "video" else None
        if video is not None:  # from the header, before _decodable decodes a frame
            ctx = video.codec_context
            check_pixels(ctx.width or 0, ctx.height or 0, f"the video frames of {p}")
        audio = next(iter(c.streams.audio), None)
        candidates = [s for s in (video, audio) if s is not None]
        ok = _decodable(c, candidates) if candidates else set()
        has_video = video is not None and video.index in ok
        has_audio = audio is not None and audio.index in ok
        if not (has_video or has_audio):
            what = "video or audio" if kind == "video" else "audio"
            raise DataError(f"no decodable {what} in {p}")
        duration = _duration(c)
    width = height = fps = None
    if has_video and video is not None:
        width, height = video.codec_context.width or None, video.codec_context.height or None
        rate = video.average_rate or video.guessed_rate
        fps = float(rate) if rate else None
    warn = _wav_truncation(p) if p.suffix.lower() == ".wav" else None
    return MediaInfo(
        p, kind, duration, has_video, has_audio, width, height, fps, (warn,) if warn else ()
    )


def _wav_truncation(path: Path) -> str | None:
    """A warning when a WAV file holds less audio than its header announces (a cut download)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        for _ in range(64):  # chunks before 'data': fmt, LIST, fact, ...
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, n = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"fmt ":
                byte_rate = int.from_bytes(f.read(16)[8:12], "little")
                f.seek(n + (n & 1) - 16, 1)
            elif cid == b"data":
                have = size - f.tell()
                if have >= n or not byte_rate or n == 0xFFFFFFFF:
                    return None
                return (
                    f"truncated file: it holds {have / byte_rate:.2f} s of the "
                    f"{n / byte_rate:.2f} s of audio its header announces"
                )
            else:
                f.seek(n + (n & 1), 1)
    return None


def _is_cover(stream: av.stream.Stream) -> bool:
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def iter_frames(
    path: str | Path,
    fps: float = 2.0,
    start: float = 0.0,
    end: float | None = None,
    pixel_format: Literal["rgb24", "gray"] = "rgb24",
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (seconds, RGB uint8 HxWx3): the first frame at or after each tick of `fps`.

    ``pixel_format="gray"`` yields uint8 HxW luma instead (what face detection reads; the
    conversion is nearly free from the decoder's YUV).

    >>> for t, rgb in iter_frames("clip.mp4", fps=2, start=5, end=6): ...  # doctest: +SKIP
    """
    if pixel_format not in ("rgb24", "gray"):
        raise UsageError(f"pixel_format must be rgb24 or gray, got {pixel_format!r}")
    positive("fps", fps)
    _check_span(start, end)
    step, eps = 1.0 / fps, 1e-3
    with _opened(path) as c:
        stream = next((s for s in c.streams.video if not _is_cover(s)), None)
        if stream is None:
            raise DataError(f"no video track in {path}")
        where = f"the video frames of {path}"
        check_pixels(stream.codec_context.width, stream.codec_context.height, where)
        stream.thread_type = "AUTO"
        origin = _origin(c)
        if start > 0:
            c.seek(int((start + origin) / stream.time_base), stream=stream)
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        k, n = 0, 0
        for frame in c.decode(stream):
            t = frame.time - origin if frame.time is not None else start + n / rate
            n += 1
            if end is not None and t >= end:
                break
            if t + eps < start + k * step:
                continue
            check_pixels(frame.width, frame.height, where)  # the size may change mid-stream
            yield t, frame.to_ndarray(format=pixel_format)
            k = int((t + eps - start) / step) + 1  # next tick strictly after t
