"""Engines give the same features: in-process, local process pool, Ray Data."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from emofuse.features import load_features
from tests.features.test_store import run, text_manifest, voice_manifest


def test_local_pool_equals_in_process(tmp_path):
    m = voice_manifest(tmp_path, n=6, corrupt=True)
    inline = run(m, tmp_path / "inline", encoder="toy_voice", batch_size=2, workers=0)
    pool = run(m, tmp_path / "pool", encoder="toy_voice", batch_size=2, workers=2)
    assert (pool.computed, pool.failed) == (inline.computed, inline.failed) == (6, 2)
    assert pool.errors == inline.errors
    ids_a, x_a = load_features(tmp_path / "inline")
    ids_b, x_b = load_features(tmp_path / "pool")
    assert ids_a == ids_b
    np.testing.assert_array_equal(x_a, x_b)


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (emofuse[ray])"
)
def test_ray_equals_local(tmp_path):
    m = text_manifest(10)
    run(m, tmp_path / "local", batch_size=3, workers=2)
    s = run(m, tmp_path / "ray", batch_size=3, workers=2, engine="ray")
    assert (s.computed, s.failed) == (10, 0)
    ids_a, x_a = load_features(tmp_path / "local")
    ids_b, x_b = load_features(tmp_path / "ray")
    assert ids_a == ids_b
    np.testing.assert_array_equal(x_a, x_b)
    again = run(m, tmp_path / "ray", batch_size=5, workers=2, engine="ray")
    assert (again.computed, again.cached) == (0, 10)
