"""Audio decoding with PyAV: float32 mono at a chosen rate, streamed, and level checks.

16 kHz mono input (the rate the models use) goes through no resampler; other rates go
through one PyAV resampler pass. :func:`iter_spans` cuts many segments from one decoding
pass, holding only the audio the current segment needs.

>>> load_audio("clip.mp4", sample_rate=16000).shape             # doctest: +SKIP
(245280,)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, UsageError
from .container import check_span, opened, origin

if TYPE_CHECKING:
    import av

_SILENCE_DBFS = -120.0


_SCALE = {"s16": 1 / 32768, "s32": 1 / 2147483648, "s64": 1 / 9223372036854775808}


def _mono(frame: av.AudioFrame) -> np.ndarray:
    """A decoded audio frame as float32 mono in [-1, 1]: channels averaged, in numpy.

    Integer formats scale as ffmpeg's own conversion to float does; no resampler runs.
    """
    arr = frame.to_ndarray()
    fmt = frame.format
    channels = len(frame.layout.channels)
    if not fmt.is_planar:  # packed: (1, samples * channels), interleaved
        arr = arr.reshape(-1, channels).T
    name = fmt.name.rstrip("p")
    if name == "u8":
        x = (arr.astype(np.float32) - 128.0) / 128.0
    elif name in _SCALE:
        x = arr.astype(np.float32) * np.float32(_SCALE[name])
    else:  # flt, dbl
        x = arr.astype(np.float32, copy=False)
    return x[0] if channels == 1 else x.mean(axis=0, dtype=np.float32)


def _mono_on_timeline(
    container: av.container.InputContainer, stream: av.stream.Stream, start: float
) -> Iterator[tuple[int, np.ndarray]]:
    """(input rate, float32 mono block) laid on the stream's clock from `start` on.

    Channels are averaged (ffmpeg's own downmix sums them at -3 dB, which can clip).
    Frames are placed by their timestamps, as ffmpeg's `aresample=async` does: samples
    that overlap what was already emitted are dropped and gaps are filled with silence, so
    sample i is at `start + i / rate` and audio stays in sync with the video.
    """
    zero = origin(container)
    rate = pos = tol = 0  # pos: the input-rate sample index of the next sample to emit
    for frame in container.decode(stream):
        if not rate:
            rate = frame.sample_rate
            pos, tol = round(start * rate), max(1, rate // 500)
        x = _mono(frame)
        shift = 0 if frame.time is None else round((frame.time - zero) * rate) - pos
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
    """Contiguous float32 mono blocks covering [start, end) at `sample_rate`.

    Audio already at ``sample_rate`` (e.g. 16 kHz mono) goes through no resampler.
    """
    import av

    if sample_rate <= 0:
        raise UsageError(f"sample_rate must be > 0, got {sample_rate}")
    check_span(start, end)
    with opened(path) as c:
        stream = next(iter(c.streams.audio), None)
        if stream is None:
            raise DataError(f"no audio track in {path}")
        stream.thread_type = "AUTO"
        if start > 0:
            c.seek(int((start + origin(c)) / stream.time_base), stream=stream)
        left = None if end is None else round((end - start) * sample_rate)

        def resampled() -> Iterator[np.ndarray]:
            resampler = None
            fed = 0  # input samples read
            for rate, x in _mono_on_timeline(c, stream, start):
                if rate == sample_rate:
                    yield x
                else:
                    if resampler is None:
                        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
                    frame = av.AudioFrame.from_ndarray(
                        x.reshape(1, -1), format="flt", layout="mono"
                    )
                    frame.sample_rate = rate
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1)
                fed += x.size
                if end is not None and fed >= (end - start) * rate:
                    break  # enough input: stop decoding, flush the resampler
            if resampler is not None:
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


def iter_spans(
    path: str | Path, spans: Sequence[tuple[float, float]], sample_rate: int = 16000
) -> Iterator[tuple[int, np.ndarray]]:
    """(index, samples) of each ``(start, end)`` span in seconds, decoding the audio once.

    Spans come out ordered by start (ties: by end); only the audio from the current span's
    start to the decoder's position is held, so memory does not grow with the file's
    length. Decoding stops once the last span is complete; spans past the end of the
    audio come out shorter (or empty).

    >>> [(i, w.size) for i, w in iter_spans("a.wav", [(0, 1), (1, 2.5)])]  # doctest: +SKIP
    [(0, 16000), (1, 24000)]
    """
    bounds = []
    for i, (s, e) in enumerate(spans):
        if not (np.isfinite(s) and np.isfinite(e)) or s < 0 or e < s:
            raise UsageError(f"span {i} must have 0 <= start <= end, got ({s}, {e})")
        bounds.append((round(s * sample_rate), round(e * sample_rate)))
    order = sorted(range(len(bounds)), key=lambda i: bounds[i])
    if not order:
        return
    buf, buf_start, have = np.zeros(0, np.float32), 0, 0  # buf[0] is sample `buf_start`
    fresh: list[np.ndarray] = []  # decoded blocks not yet joined to `buf`
    k = 0

    def cut(i: int) -> np.ndarray:
        nonlocal buf, fresh
        if fresh:
            buf, fresh = np.concatenate([buf, *fresh]), []
        a, b = bounds[i]
        return buf[max(0, a - buf_start) : max(0, b - buf_start)].copy()

    def drop_before(sample: int) -> None:
        nonlocal buf, buf_start
        if sample > buf_start:
            n = min(sample - buf_start, buf.size)
            buf, buf_start = buf[n:], buf_start + n

    for block in _audio_blocks(path, sample_rate, 0.0, None):
        fresh.append(block)
        have += block.size
        while k < len(order) and bounds[order[k]][1] <= have:
            yield order[k], cut(order[k])
            k += 1
            if k < len(order):
                drop_before(bounds[order[k]][0])
        if k == len(order):
            return
    for i in order[k:]:
        yield i, cut(i)


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


def resample(wave: np.ndarray, rate: int, target: int = 16000) -> np.ndarray:
    """A float32 mono wave at ``target`` Hz from a mono or ``(samples, channels)`` wave."""
    if wave.ndim == 2:  # (samples, channels) -> mono
        wave = wave.mean(axis=1)
    if wave.ndim != 1:
        raise DataError(f"expected a mono or (samples, channels) wave, got shape {wave.shape}")
    if rate <= 0:
        raise UsageError(f"sample_rate must be > 0, got {rate}")
    if rate == target:
        return wave.astype(np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return resample_poly(wave, target // g, rate // g).astype(np.float32)


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
