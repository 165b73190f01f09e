"""RAVDESS loading for the voice recipe, the seeded log-mel bank and seeded noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emofuse.errors import DataError
from emofuse.media.audio_features import log_mel
from emofuse.train.voice_data import feature_bank, load_split, noisy, ravdess_frame
from emofuse.train.voice_recipe import PREPROCESSING
from tests.train.conftest import tone


def test_load_split_reads_the_manifest(ravdess_root):
    waves, y = load_split(ravdess_root, [1, 3], native=True)
    assert len(waves) == 16 and y.tolist() == list(range(8)) * 2
    trimmed, yc = load_split(ravdess_root, [1], trim=True)
    assert len(trimmed[0]) < len(waves[0])  # leading silence trimmed
    assert yc.tolist() == [0, 0, 1, 2, 3, 4, 5, 6]  # calm -> neutral
    sub, _ = load_split(ravdess_root, [1, 2, 3], limit=5, seed=1)
    assert len(sub) == 5
    assert ravdess_frame(ravdess_root, [2])["speaker"].eq("Actor_02").all()
    with pytest.raises(DataError, match="no RAVDESS clips"):
        ravdess_frame(ravdess_root, [9])


def test_feature_bank_first_variant_is_clean_and_seeded():
    waves = [tone(300.0, 1.0), tone(500.0, 1.5)]
    prep = PREPROCESSING
    bank = feature_bank(waves, prep, 3, seed=0)
    assert len(bank) == 2 and all(len(v) == 3 for v in bank)
    assert all(v.dtype == torch.float16 for v in bank[0])
    clean = log_mel(waves[1], 16000, prep["n_fft"], prep["hop"], prep["n_mels"])
    np.testing.assert_allclose(bank[1][0].float(), clean, atol=0.05)
    assert not torch.equal(bank[1][0], bank[1][1])
    again = feature_bank(waves, prep, 3, seed=0)
    for a, b in zip(again[1], bank[1], strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("snr", [20.0, 10.0])
def test_noise_at_the_requested_snr(snr):
    rng = np.random.default_rng(0)
    waves = [rng.normal(0, 0.2, 16000).astype(np.float32), tone(440.0, 2.0)]
    out = noisy(waves, snr, seed=3)
    for w, n in zip(waves, out, strict=True):
        ratio = np.mean(w.astype(np.float64) ** 2) / np.mean((n - w).astype(np.float64) ** 2)
        assert 10 * np.log10(ratio) == pytest.approx(snr, abs=0.01)
    again = noisy(waves, snr, seed=3)
    np.testing.assert_array_equal(out[0], again[0])  # seeded
    assert not np.array_equal(out[0], noisy(waves, snr, seed=4)[0])
    assert noisy(waves, None, seed=3)[1] is waves[1]
