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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import av.error
import numpy as np

from ..errors import DataError, UsageError
from ..utils.checks import positive
from .images import check_pixels, image_size
from .images import load_image as load_image  # re-exported: decode.load_image

VIDEO_EXTS = {".mp4", ".mkv", ".webm", ".avi", ".mov"}
AUDIO_EXTS = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
_SUPPORTED = sorted(VIDEO_EXTS | AUDIO_EXTS | IMAGE_EXTS)
_SILENCE_DBFS = -120.0

MediaKind = Literal["video", "audio", "image"]


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


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"file not found: {p}")
    return p


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


@contextmanager
def _opened(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open with PyAV; any PyAV error inside the block becomes a one-line DataError."""
    p = _existing(path)
    if p.stat().st_size == 0:
        raise DataError(f"empty file: {p}")
    try:
        with av.open(str(p)) as container:
            yield container
    except av.error.FFmpegError as e:
        raise DataError(f"cannot decode {p}: {e.strerror or e}") from None


def _decodable(container: av.container.InputContainer, streams: list[av.stream.Stream]) -> set:
    """Indices of the streams that yield a frame within the file's first packets."""
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
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def iter_frames(
    path: str | Path, fps: float = 2.0, start: float = 0.0, end: float | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (seconds, RGB uint8 HxWx3): the first frame at or after each tick of `fps`.

    >>> for t, rgb in iter_frames("clip.mp4", fps=2, start=5, end=6): ...  # doctest: +SKIP
    """
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
            yield t, frame.to_ndarray(format="rgb24")
            k = int((t + eps - start) / step) + 1  # next tick strictly after t


def _origin(container: av.container.InputContainer) -> float:
    """The container's start time in seconds: timestamps we report count from it."""
    return (container.start_time or 0) / av.time_base


def _check_span(start: float, end: float | None) -> None:
    if start < 0:
        raise UsageError(f"start must be >= 0, got {start}")
    if end is not None and end <= start:
        raise UsageError(f"end ({end}) must be greater than start ({start})")


def _mono_on_timeline(
    container: av.container.InputContainer, stream: av.stream.Stream, start: float
) -> Iterator[tuple[int, np.ndarray]]:
    """(input rate, float32 mono block) laid on the stream's clock from `start` on.

    Channels are averaged (ffmpeg's own downmix sums them at -3 dB, which can clip).
    Frames are placed by their timestamps, as ffmpeg's `aresample=async` does: samples
    that overlap what was already emitted are dropped and gaps are filled with silence, so
    sample i is at `start + i / rate` and audio stays in sync with the video.
    """
    planar: av.AudioResampler | None = None
    origin = _origin(container)
    rate = pos = tol = 0  # pos: the input-rate sample index of the next sample to emit
    for frame in container.decode(stream):
        if planar is None:
            rate = frame.sample_rate
            planar = av.AudioResampler(format="fltp", layout=frame.layout, rate=rate)
            pos, tol = round(start * rate), max(1, rate // 500)
        parts = [f.to_ndarray().mean(axis=0, dtype=np.float32) for f in planar.resample(frame)]
        x = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        shift = 0 if frame.time is None else round((frame.time - origin) * rate) - pos
        if tol < shift <= 60 * rate:  # a gap: fill with silence (longer: a timestamp jump)
            x = np.concatenate([np.zeros(shift, np.float32), x])
        elif shift < -tol:  # overlaps what is already out, or lies before `start`
            x = x[-shift:]
        pos += x.size
        if x.size:
            yield rate, x


def _audio_blocks(
    path: str | Path, sample_rate: int, start: float, end: float | None
) -> Iterator[np.ndarray]:
    """Contiguous float32 mono blocks covering [start, end) at `sample_rate`."""
    if sample_rate <= 0:
        raise UsageError(f"sample_rate must be > 0, got {sample_rate}")
    _check_span(start, end)
    with _opened(path) as c:
        stream = next(iter(c.streams.audio), None)
        if stream is None:
            raise DataError(f"no audio track in {path}")
        stream.thread_type = "AUTO"
        if start > 0:
            c.seek(int((start + _origin(c)) / stream.time_base), stream=stream)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        left = None if end is None else round((end - start) * sample_rate)

        def resampled() -> Iterator[np.ndarray]:
            fed = 0  # input samples fed to the resampler
            for rate, x in _mono_on_timeline(c, stream, start):
                frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
                frame.sample_rate = rate
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
                fed += x.size
                if end is not None and fed >= (end - start) * rate:
                    break  # enough input: stop decoding, flush the resampler
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)

        for block in resampled():
            if left is not None:
                block = block[:left]
                left -= block.size
            if block.size:
                yield np.clip(block, -1.0, 1.0, dtype=np.float32)
            if left == 0:
                return


def load_audio(
    path: str | Path, sample_rate: int = 16000, start: float = 0.0, end: float | None = None
) -> np.ndarray:
    """Float32 mono samples in [-1, 1] of [start, end) of an audio file or a video's audio."""
    blocks = list(_audio_blocks(path, sample_rate, start, end))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def iter_audio(
    path: str | Path, sample_rate: int = 16000, chunk_seconds: float = 30.0
) -> Iterator[tuple[float, np.ndarray]]:
    """Stream (start seconds, samples) chunks of `chunk_seconds`; the last one may be shorter."""
    if chunk_seconds <= 0:
        raise UsageError(f"chunk_seconds must be > 0, got {chunk_seconds}")
    size = max(1, round(chunk_seconds * sample_rate))
    buf: list[np.ndarray] = []
    have = emitted = 0
    for block in _audio_blocks(path, sample_rate, 0.0, None):
        buf.append(block)
        have += block.size
        while have >= size:
            joined = np.concatenate(buf)
            yield emitted / sample_rate, joined[:size]
            emitted += size
            buf, have = [joined[size:]], joined.size - size
    if have:
        yield emitted / sample_rate, np.concatenate(buf)


def rms_dbfs(wave: np.ndarray) -> float:
    """RMS level in dBFS (0 = full scale); -120.0 for silence or an empty wave."""
    arr = np.asarray(wave)
    if arr.size == 0:
        return _SILENCE_DBFS
    x = arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.integer):
        x /= np.iinfo(arr.dtype).max
    rms = float(np.sqrt(np.mean(np.square(x))))
    return max(_SILENCE_DBFS, 20.0 * np.log10(rms)) if rms > 0 else _SILENCE_DBFS


def is_silent(wave: np.ndarray, threshold_dbfs: float = -50.0) -> bool:
    """True when the wave's RMS level is below `threshold_dbfs` (an empty wave is silent)."""
    return np.asarray(wave).size == 0 or rms_dbfs(wave) < threshold_dbfs
