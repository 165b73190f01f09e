"""Voice activity: speech found at any level, noise and tones refused; gain normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.media import vad
from tests.fixtures import speechlike, tone

pytest.importorskip("silero_vad", reason="silero-vad not installed")


@pytest.mark.parametrize("gain_db", [0, -26, -40])
def test_speech_is_found_at_any_level(gain_db):
    x = speechlike(2.0) * np.float32(10 ** (gain_db / 20))
    assert vad.has_speech(x[0])


@pytest.mark.parametrize(
    "signal",
    [
        np.zeros(32000, np.float32),
        np.random.default_rng(0).normal(0, 0.1, 32000).astype(np.float32),  # white noise
        tone(2.0, 16000, 440.0)[0],
        np.where(np.arange(32000) % 8000 < 40, 0.5, 0.0).astype(np.float32),  # clicks
    ],
    ids=["silence", "white noise", "tone", "clicks"],
)
def test_non_speech_is_refused(signal):
    assert not vad.has_speech(signal)


def test_speech_probs_per_frame_and_early_stop():
    x = speechlike(3.0)[0]
    probs = vad.speech_probs(x)
    assert probs.shape == (int(np.ceil(x.size / vad.FRAME)),)
    assert ((probs >= 0) & (probs <= 1)).all() and probs.max() > 0.9
    first = vad.speech_probs(x, stop_after=3)
    assert first.size < probs.size and first.size % vad.BLOCK == 0
    np.testing.assert_allclose(first, probs[: first.size], atol=1e-5)
    assert vad.speech_probs(np.zeros(0, np.float32)).size == 0


def test_normalise_gain():
    x = speechlike(2.0, amp=0.001)[0]
    y = vad.normalise_gain(x)
    assert vad.loud_level(y) == pytest.approx(vad.TARGET_DBFS, abs=0.1)
    np.testing.assert_allclose(y / y.max(), x / x.max(), atol=1e-6)  # only the gain changed
    loud = np.clip(speechlike(2.0, amp=1.0)[0] * 4, -1, 1)  # clipped: brought down
    assert vad.loud_level(vad.normalise_gain(loud)) == pytest.approx(vad.TARGET_DBFS, abs=0.1)
    spiky = np.zeros(16000, np.float32)
    spiky[100] = 0.5  # a click in silence: the gain stops before clipping
    assert np.abs(vad.normalise_gain(spiky)).max() <= 1.0
    assert not vad.normalise_gain(np.zeros(100, np.float32)).any()
