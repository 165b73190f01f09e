"""Face and voice augmentation: shapes, ranges and seeding."""

from __future__ import annotations

import numpy as np
import torch

from emofuse.train.augment import augment_faces, augment_wave, coloured_noise, crop_spec_augment


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
