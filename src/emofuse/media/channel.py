"""Recording-channel effects on 16 kHz mono waves: room reverb, band limits, lossy codecs.

Used to augment training audio and to build held-out test conditions. Everything is
generated here (no impulse-response or noise downloads) and seeded by its caller.

>>> import numpy as np
>>> w = np.random.default_rng(0).standard_normal(16000).astype("float32")
>>> band_limit(w, 16000, 300.0, 3400.0, resample_to=8000).shape
(16000,)
"""

from __future__ import annotations

import io

import numpy as np
from scipy import signal

from ..errors import DataError, UsageError

#: (codec, container) pairs :func:`codec_roundtrip` accepts
CODECS: dict[str, tuple[str, str]] = {
    "opus": ("libopus", "ogg"),
    "mp3": ("libmp3lame", "mp3"),
    "mulaw": ("pcm_mulaw", "wav"),
}


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def room_impulse(
    rt60: float, rng: np.random.Generator, sample_rate: int = 16000, direct: float = 1.0
) -> np.ndarray:
    """A synthetic room impulse response: a direct path then exponentially decaying noise.

    The tail's energy falls by 60 dB in ``rt60`` seconds; ``direct`` is the direct path's
    amplitude relative to the tail's first sample (smaller: more reverberant).
    """
    if not 0.05 <= rt60 <= 3.0:
        raise UsageError(f"rt60 must be in [0.05, 3] s, got {rt60}")
    n = int(rt60 * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * 10 ** (-3.0 * t / rt60)  # -60 dB at rt60
    tail[: int(0.002 * sample_rate)] = 0.0  # first reflections arrive after ~2 ms
    rir = tail / (np.abs(tail).max() + 1e-12)
    rir[0] = direct * 4.0
    return (rir / np.sqrt(np.sum(rir**2))).astype(np.float32)


def reverberate(wave: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``wave`` convolved with ``rir``, cut to its length, at the original RMS level."""
    x = np.asarray(wave, dtype=np.float32)
    y = signal.fftconvolve(x, rir)[: len(x)]
    return (y * (_rms(x) / _rms(y))).astype(np.float32)


def band_limit(
    wave: np.ndarray,
    sample_rate: int = 16000,
    low: float = 300.0,
    high: float = 3400.0,
    resample_to: int | None = 8000,
) -> np.ndarray:
    """Band-pass ``low``-``high`` Hz (6th-order Butterworth), optionally through ``resample_to``.

    The default is a telephone channel: 300-3400 Hz at 8 kHz, back at ``sample_rate``.
    """
    if not 0 < low < high < sample_rate / 2:
        raise UsageError(f"need 0 < low < high < {sample_rate / 2} Hz, got {low}, {high}")
    x = np.asarray(wave, dtype=np.float64)
    if resample_to:
        g = np.gcd(int(resample_to), int(sample_rate))
        x = signal.resample_poly(x, resample_to // g, sample_rate // g)
        x = signal.resample_poly(x, sample_rate // g, resample_to // g)[: len(wave)]
    sos = signal.butter(6, [low, high], btype="bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def codec_roundtrip(
    wave: np.ndarray, codec: str, bitrate: int = 16000, sample_rate: int = 16000
) -> np.ndarray:
    """``wave`` encoded with ``codec`` (:data:`CODECS`) at ``bitrate`` bit/s and decoded (PyAV).

    ``mulaw`` is 8-bit mu-law at 8 kHz (telephony), its ``bitrate`` ignored. The result has
    the input's length and sample rate.
    """
    import av

    if codec not in CODECS:
        raise UsageError(f"unknown codec {codec!r}; choose from {sorted(CODECS)}")
    name, fmt = CODECS[codec]
    rate = 8000 if codec == "mulaw" else (48000 if codec == "opus" else sample_rate)
    x = np.asarray(wave, dtype=np.float32)
    if rate != sample_rate:
        g = np.gcd(rate, sample_rate)
        x = signal.resample_poly(x, rate // g, sample_rate // g).astype(np.float32)
    pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2")[None, :]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(name, rate=rate)
        stream.layout = "mono"
        if codec != "mulaw":
            stream.bit_rate = int(bitrate)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    chunks = []
    with av.open(buf, "r") as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        for frame in inp.decode(audio=0):
            for f in resampler.resample(frame):
                chunks.append(f.to_ndarray().reshape(-1))
        for f in resampler.resample(None):
            chunks.append(f.to_ndarray().reshape(-1))
    if not chunks:
        raise DataError(f"{codec} round trip produced no audio")
    y = np.concatenate(chunks).astype(np.float32)
    y = y[: len(wave)]
    return np.pad(y, (0, len(wave) - len(y)))


def gain(wave: np.ndarray, db: float) -> np.ndarray:
    """``wave`` scaled by ``db`` decibels."""
    return (np.asarray(wave, dtype=np.float32) * np.float32(10 ** (db / 20))).astype(np.float32)
