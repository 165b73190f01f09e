"""Recording-channel effects: telephone band, reverb, codec round trips, gain."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.media.channel import band_limit, codec_roundtrip, gain, reverberate, room_impulse

SR = 16000


def _band_energy(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[(f >= lo) & (f < hi)].sum())


def _noise(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype("f4")


def test_telephone_band_removes_energy_outside_300_3400_hz():
    x = _noise()
    y = band_limit(x, SR, 300.0, 3400.0, resample_to=8000)
    assert y.shape == x.shape and y.dtype == np.float32
    inside = _band_energy(y, 500, 3000) / _band_energy(x, 500, 3000)
    assert inside > 0.5
    assert _band_energy(y, 4200, 8000) < 1e-3 * _band_energy(x, 4200, 8000)
    assert _band_energy(y, 0, 100) < 1e-3 * _band_energy(x, 0, 100)
    wide = band_limit(x, SR, 100.0, 7000.0, resample_to=None)
    assert _band_energy(wide, 4500, 6500) > 0.5 * _band_energy(x, 4500, 6500)
    with pytest.raises(UsageError):
        band_limit(x, SR, 3400.0, 300.0)


def test_room_impulse_is_seeded_and_reverb_keeps_length_and_level():
    a = room_impulse(0.5, np.random.default_rng(1))
    b = room_impulse(0.5, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert len(a) == SR // 2 and np.sum(a.astype(np.float64) ** 2) == pytest.approx(1.0)
    tail = a[int(0.4 * SR) :]
    assert np.abs(tail).max() < 0.05 * np.abs(a[1 : int(0.1 * SR)]).max()  # decays
    x = np.zeros(SR, np.float32)
    x[100] = 1.0
    y = reverberate(x, a)
    assert y.shape == x.shape
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-3)
    assert np.count_nonzero(np.abs(y) > 1e-4) > 1000  # the click now rings
    with pytest.raises(UsageError, match="rt60"):
        room_impulse(10.0, np.random.default_rng(0))


@pytest.mark.parametrize(("codec", "bitrate"), [("opus", 8000), ("mp3", 16000), ("mulaw", 0)])
def test_codec_roundtrip_keeps_length_alignment_and_degrades(codec, bitrate):
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * _noise()).astype(np.float32)
    y = codec_roundtrip(x, codec, bitrate)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.corrcoef(x[2000:-2000], y[2000:-2000])[0, 1] > 0.8  # aligned, same signal
    assert not np.allclose(x, y, atol=1e-4)  # lossy
    with pytest.raises(UsageError, match="unknown codec"):
        codec_roundtrip(x, "flac")


def test_gain_in_decibels():
    x = _noise()
    assert np.sqrt(np.mean(gain(x, -20.0) ** 2)) == pytest.approx(0.1 * np.sqrt(np.mean(x**2)))
