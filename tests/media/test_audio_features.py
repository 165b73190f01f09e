"""Log-mel features: the filterbank matches transformers, shapes, energy lands in the right band."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emofuse.media.audio_features import (
    _hz_to_mel,
    _mel_to_hz,
    log_mel,
    mel_filterbank,
    trim_silence,
)


def _tone(freq: float, seconds: float = 1.0, sr: int = 16000) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype("float32")


@pytest.mark.parametrize(
    ("n_fft", "n_mels", "sr", "fmin", "fmax"),
    [(400, 64, 16000, 0.0, None), (512, 40, 16000, 50.0, 7600.0), (1024, 128, 22050, 20.0, None)],
)
def test_mel_filterbank_matches_transformers(n_fft, n_mels, sr, fmin, fmax):
    audio_utils = pytest.importorskip("transformers.audio_utils")
    expected = audio_utils.mel_filter_bank(
        num_frequency_bins=n_fft // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=fmin,
        max_frequency=sr / 2 if fmax is None else fmax,
        sampling_rate=sr,
        norm=None,
        mel_scale="htk",
    )
    got = mel_filterbank(n_fft, n_mels, sr, fmin, fmax)
    assert got.shape == (n_fft // 2 + 1, n_mels)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_log_mel_shape_and_batch():
    wave = _tone(440.0)
    spec = log_mel(wave)
    assert spec.shape == (64, 1 + 16000 // 160)
    assert spec.dtype == torch.float32
    batch = log_mel(np.stack([wave, 0.5 * wave]), n_mels=40, hop=320)
    assert batch.shape == (2, 40, 1 + 16000 // 320)
    torch.testing.assert_close(batch[0], log_mel(wave, n_mels=40, hop=320))
    assert log_mel(torch.from_numpy(wave)).shape == spec.shape


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0])
def test_energy_in_the_right_mel_band(freq):
    n_mels = 64
    spec = log_mel(_tone(freq), n_mels=n_mels)
    band = int(spec[:, 5:-5].mean(dim=1).argmax())
    centres = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(8000.0), n_mels + 2))[1:-1]
    assert abs(band - int(np.abs(centres - freq).argmin())) <= 1


def test_silence_is_log_floor():
    spec = log_mel(np.zeros(1600, dtype="float32"))
    torch.testing.assert_close(spec, torch.full_like(spec, float(np.log(1e-6))))


def test_trim_silence_keeps_speech_with_margin():
    wave = np.zeros(32000, dtype="float32")
    wave[8000:24000] = _tone(500.0)[:16000]
    trimmed = trim_silence(wave, 16000, top_db=40, margin=0.1)
    assert 16000 <= len(trimmed) <= 16000 + 2 * 1600 + 320
    silent = np.zeros(8000, dtype="float32")
    assert len(trim_silence(silent)) == len(silent)


@pytest.mark.parametrize(
    ("n", "n_fft", "hop", "n_mels"),
    [(16000, 400, 160, 64), (4801, 512, 256, 64), (300, 512, 256, 40), (64000, 1024, 320, 80)],
)
def test_numpy_log_mel_matches_torch(n, n_fft, hop, n_mels):
    """The inference path's numpy features equal the torch ones training used."""
    from emofuse.media.audio_features import log_mel_np

    wave = np.random.default_rng(n).normal(0, 0.1, n).astype(np.float32)
    want = log_mel(wave, 16000, n_fft, hop, n_mels).numpy()
    got = log_mel_np(wave, 16000, n_fft, hop, n_mels)
    assert got.shape == want.shape == (n_mels, 1 + n // hop) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    quiet = log_mel_np(np.zeros(n, np.float32), 16000, n_fft, hop, n_mels)
    np.testing.assert_allclose(quiet, np.log(1e-6), rtol=1e-6)  # the floor, not -inf
