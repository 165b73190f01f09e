"""eGeMAPS / ComParE functionals (opensmile is research-licensed: an optional extra)."""

import importlib.util

import numpy as np
import pytest

from emofuse.encoders.base import build_encoder

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("opensmile") is None,
    reason="opensmile is not installed (pip install 'emofuse[opensmile]'; research-only licence)",
)


@pytest.mark.parametrize(("name", "dim"), [("egemaps", 88), ("compare", 6373)])
def test_functionals_of_a_tone(name, dim):
    t = np.arange(32000) / 16000
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )
    encoder = build_encoder(name)
    x = encoder.encode([wave, wave[:16000]])
    assert encoder.dim == dim and x.shape == (2, dim) and np.isfinite(x).all()
    np.testing.assert_array_equal(x[0], encoder.encode([wave])[0])  # deterministic
