"""Log-mel spectrograms (numpy for inference, torch for training) and silence trimming.

The filterbank is HTK-scale triangles without area normalisation, identical to
``torchaudio.functional.melscale_fbanks`` and to
``transformers.audio_utils.mel_filter_bank(norm=None, mel_scale="htk")``. :func:`log_mel_np`
and :func:`log_mel` compute the same features (to float32 rounding); only the torch one
imports torch.

>>> import numpy as np
>>> wave = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype("float32")
>>> log_mel_np(wave).shape              # (n_mels, frames): 1 + 16000 // 160 frames
(64, 101)
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

LOG_FLOOR = 1e-6


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    n_fft: int, n_mels: int, sample_rate: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular HTK mel filters, shape ``(n_fft // 2 + 1, n_mels)``, float32.

    >>> mel_filterbank(400, 64, 16000).shape
    (201, 64)
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    mel_pts = np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2)
    hz_pts = _mel_to_hz(mel_pts)
    diff = np.diff(hz_pts)
    slopes = hz_pts[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)


@lru_cache(maxsize=16)
def _filterbank(n_fft: int, n_mels: int, sample_rate: int) -> np.ndarray:
    return mel_filterbank(n_fft, n_mels, sample_rate)


@lru_cache(maxsize=16)
def _hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window (``torch.hann_window``'s default), float32."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def log_mel_np(
    wave: np.ndarray, sample_rate: int = 16000, n_fft: int = 400, hop: int = 160, n_mels: int = 64
) -> np.ndarray:
    """:func:`log_mel` of one wave ``(samples,)`` in numpy: float32 ``(n_mels, frames)``."""
    x = np.asarray(wave, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"log_mel_np takes one 1-D wave, got shape {x.shape}")
    half = n_fft // 2
    padded = np.zeros(x.size + 2 * half, dtype=np.float32)  # centred, zero padding
    padded[half : half + x.size] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    spec = np.fft.rfft(frames * _hann(n_fft), axis=1)  # (frames, n_fft // 2 + 1)
    power = np.square(spec.real) + np.square(spec.imag)
    mel = power.astype(np.float32) @ _filterbank(n_fft, n_mels, sample_rate)
    return np.log(mel + np.float32(LOG_FLOOR)).T.astype(np.float32, copy=False)


def log_mel(
    wave: np.ndarray | torch.Tensor,
    sample_rate: int = 16000,
    n_fft: int = 400,
    hop: int = 160,
    n_mels: int = 64,
) -> torch.Tensor:
    """``log(mel power + 1e-6)`` of a wave ``(samples,)`` or batch ``(..., samples)``.

    Centred Hann-window STFT (zero padding), so there are ``1 + samples // hop`` frames.
    Returns float32 ``(..., n_mels, frames)``.
    """
    import torch

    x = torch.as_tensor(wave, dtype=torch.float32)
    lead = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1])
    spec = torch.stft(
        x,
        n_fft=n_fft,
        hop_length=hop,
        window=torch.from_numpy(_hann(n_fft)),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    power = spec.real.square() + spec.imag.square()  # (B, n_fft//2+1, frames)
    mel = torch.matmul(torch.from_numpy(_filterbank(n_fft, n_mels, sample_rate)).T, power)
    return torch.log(mel + LOG_FLOOR).reshape(*lead, n_mels, -1)


def trim_silence(
    wave: np.ndarray, sample_rate: int = 16000, top_db: float = 40.0, margin: float = 0.1
) -> np.ndarray:
    """Drop leading/trailing frames quieter than ``top_db`` below the loudest frame.

    ``margin`` seconds of context are kept on each side. A silent wave comes back as is.

    >>> w = np.zeros(16000, dtype="float32"); w[6400:9600] = 0.5
    >>> len(trim_silence(w))                 # 3200 loud samples + 0.1 s margin each side
    6400
    """
    wave = np.asarray(wave, dtype=np.float32)
    frame = max(1, sample_rate // 100)  # 10 ms
    n = len(wave) // frame
    if n == 0:
        return wave
    rms = np.sqrt(np.mean(wave[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    peak = float(rms.max())
    if peak <= 1e-5:
        return wave
    loud = np.flatnonzero(20.0 * np.log10(rms / peak) > -top_db)
    pad = int(margin * sample_rate)
    start = max(0, loud[0] * frame - pad)
    end = min(len(wave), (loud[-1] + 1) * frame + pad)
    return wave[start:end]
