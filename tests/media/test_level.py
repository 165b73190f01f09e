"""Level normalisation (the copy of branch speed's ``normalise_gain``)."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.media.level import TARGET_DBFS, loud_level, normalise_gain


def test_normalise_gain_reaches_the_target_whatever_the_input_level():
    rng = np.random.default_rng(0)
    x = (0.05 * rng.standard_normal(16000)).astype(np.float32)
    for db in (-30.0, 0.0, 12.0):
        y = normalise_gain(x * np.float32(10 ** (db / 20)))
        assert loud_level(y) == pytest.approx(TARGET_DBFS, abs=0.01)
        assert y.dtype == np.float32 and y.shape == x.shape


def test_normalise_gain_never_clips_and_leaves_silence():
    x = np.zeros(16000, np.float32)
    x[::1000] = 0.9  # sparse peaks: quiet loud-frame level, high peak
    assert np.abs(normalise_gain(x)).max() <= 1.0 + 1e-6
    silent = np.zeros(8000, np.float32)
    np.testing.assert_array_equal(normalise_gain(silent), silent)
