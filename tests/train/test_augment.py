"""Face and voice augmentation: shapes, ranges and seeding."""

from __future__ import annotations

import numpy as np
import torch

from emofuse.media.audio_features import log_mel
from emofuse.train.augment import (
    FACE_AUGMENT,
    ROBUST_FACE_AUGMENT,
    augment_faces,
    augment_wave,
    coloured_noise,
    crop_spec_augment,
    degrade_faces,
    mixup,
    pitch_factor,
    warped_log_mel,
)


def test_face_augment_shape_range_and_seed():
    x = torch.rand(6, 1, 48, 48)
    a = augment_faces(x, torch.Generator().manual_seed(1))
    b = augment_faces(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1 and not torch.equal(a, x)


def test_wave_augment_is_seeded_and_changes_the_wave():
    w = np.sin(np.arange(16000) / 10).astype(np.float32)
    a = augment_wave(w, np.random.default_rng(3))
    b = augment_wave(w, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[: len(w)], w)
    assert 0.85 * len(w) <= len(a) <= 1.15 * len(w)  # speed 0.88-1.12
    kinds = {len(coloured_noise(64, np.random.default_rng(s))) for s in range(6)}
    assert kinds == {64}


def test_crop_and_spec_augment_bounds():
    spec = torch.arange(64 * 200, dtype=torch.float16).view(64, 200)
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = crop_spec_augment(spec, rng, frames=100)
        assert out.shape[0] == 64 and 60 <= out.shape[1] <= 100 and out.dtype == torch.float32
    short = crop_spec_augment(spec[:, :30], np.random.default_rng(1), frames=100)
    assert short.shape[1] <= 30


def test_channel_augmentations_are_seeded_and_off_by_default():
    w = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    base = augment_wave(w, np.random.default_rng(5))
    off = augment_wave(w, np.random.default_rng(5), reverb_p=0.0, band_p=0.0, codec_p=0.0)
    np.testing.assert_array_equal(base, off)  # the additions draw nothing when off
    on = {"reverb_p": 1.0, "band_p": 1.0, "codec_p": 1.0}
    a = augment_wave(w, np.random.default_rng(5), **on)
    b = augment_wave(w, np.random.default_rng(5), **on)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, base) and np.isfinite(a).all()
    spec, f = np.abs(np.fft.rfft(a)) ** 2, np.fft.rfftfreq(len(a), 1 / 16000)
    assert spec[f > 4600].sum() < 0.05 * spec.sum()  # band-limited (high cut <= 4.5 kHz)


def test_pitch_warp_moves_a_tone_and_draws_nothing_when_off():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert pitch_factor(rng, 0.0) == 1.0 and rng.bit_generator.state == state
    factors = [pitch_factor(np.random.default_rng(s), 2.0) for s in range(40)]
    assert all(2 ** (-2 / 12) <= f <= 2 ** (2 / 12) for f in factors) and 1.0 in factors
    t = np.arange(16000) / 16000
    x = np.sin(2 * np.pi * 1500 * t).astype(np.float32)
    np.testing.assert_allclose(warped_log_mel(x), log_mel(x, 16000, 512, 256, 64), atol=1e-3)
    peak = [int(warped_log_mel(x, a).mean(1).argmax()) for a in (0.85, 1.0, 1.18)]
    assert peak[0] < peak[1] < peak[2]


def test_mixup_mixes_pairs_and_keeps_the_longer_length():
    x = torch.stack([torch.full((1, 4, 8), float(i)) for i in range(4)])
    lengths = torch.tensor([8, 4, 6, 2])
    a = mixup(x, lengths, np.random.default_rng(2), 0.4)
    b = mixup(x, lengths, np.random.default_rng(2), 0.4)
    mixed, lens, perm, lam = a
    assert torch.equal(mixed, b[0]) and 0 <= lam <= 1 and mixed.shape == x.shape
    expect = lam * torch.arange(4.0) + (1 - lam) * perm.float()
    torch.testing.assert_close(mixed[:, 0, 0, 0], expect)
    assert torch.equal(lens, torch.maximum(lengths, lengths[perm]))


def _checkerboard(n: int = 64) -> torch.Tensor:
    i = torch.arange(48)
    board = ((i.view(-1, 1) + i.view(1, -1)) % 2).float()
    return board.expand(n, 1, 48, 48).clone()


def test_face_degradations_each_hit_a_subset_and_do_what_they_say():
    x = _checkerboard()
    only = {"lowres_p": 0.5}
    low = degrade_faces(x, torch.Generator().manual_seed(0), only)
    changed = (low - x).abs().flatten(1).amax(1) > 0
    assert 0 < int(changed.sum()) < len(x)  # a random subset, not all or none
    assert float(low[changed].std()) < 0.2 < float(x.std())  # the pattern is averaged away
    blur = degrade_faces(x, torch.Generator().manual_seed(0), {"blur_p": 1.0})
    assert float(blur.std()) < float(x.std())
    dim = degrade_faces(x, torch.Generator().manual_seed(0), {"dim_p": 1.0})
    assert float(dim.mean()) < 0.5 * float(x.mean()) + 0.05 and dim.min() >= 0


def test_face_degradations_off_draw_nothing():
    x = torch.rand(8, 1, 48, 48)
    g = torch.Generator().manual_seed(3)
    assert torch.equal(degrade_faces(x, g, FACE_AUGMENT), x)
    assert torch.equal(
        torch.rand(1, generator=g), torch.rand(1, generator=torch.Generator().manual_seed(3))
    )
    robust = augment_faces(x, torch.Generator().manual_seed(0), ROBUST_FACE_AUGMENT)
    assert robust.shape == x.shape and float(robust.min()) >= 0 and float(robust.max()) <= 1
