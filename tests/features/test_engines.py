"""Engines give the same results: in-process, local process pool, Ray Data."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.features import load_features, load_sequences
from emofuse.features.engines import WorkerSpec, pack, run_batches, unpack
from tests.features.test_store import run, text_manifest, voice_manifest

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (emofuse[ray])"
)


class Scale:
    """A worker factory: built once per worker from plain kwargs."""

    def __init__(self, factor: float):
        self.factor = factor

    def __call__(self, payload: dict) -> dict:
        return {"id": payload["id"], "x": np.asarray(payload["v"], np.float32) * self.factor}


SPEC = WorkerSpec(f"{__name__}:Scale", {"factor": 2.0})
PAYLOADS = [(k, {"id": f"p{k}", "v": [k, k + 1]}) for k in range(7)]


def _collect(**kw) -> dict:
    out: dict = {}
    run_batches(SPEC, PAYLOADS, lambda tag, r: out.__setitem__(tag, r), **kw)
    return out


def test_run_batches_in_process_and_pool_agree():
    inline = _collect(workers=0)
    pool = _collect(workers=2)
    assert sorted(inline) == sorted(pool) == list(range(7))
    for k in range(7):
        assert inline[k]["id"] == pool[k]["id"] == f"p{k}"
        np.testing.assert_array_equal(pool[k]["x"], [2 * k, 2 * k + 2])
    with pytest.raises(UsageError, match="engine"):
        _collect(engine="spark")


def test_pack_round_trip_without_pickle():
    obj = {"a": [1, "x", None, {"b": np.arange(3.0)}], "c": (np.zeros((2, 0)), 2.5)}
    back = unpack(pack(obj))
    assert back["a"][:3] == [1, "x", None] and back["c"][1] == 2.5
    np.testing.assert_array_equal(back["a"][3]["b"], np.arange(3.0))
    assert back["c"][0].shape == (2, 0)
    with pytest.raises(ValueError):  # object arrays would need pickle: refused
        unpack(pack({"o": np.array([{"x": 1}], dtype=object)}))


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


@needs_ray
def test_ray_equals_local(tmp_path):
    m = text_manifest(10)
    run(m, tmp_path / "local", batch_size=3, workers=2, kind="both")
    s = run(m, tmp_path / "ray", batch_size=3, workers=2, engine="ray", kind="both")
    assert (s.computed, s.failed) == (10, 0)
    ids_a, x_a = load_features(tmp_path / "local")
    ids_b, x_b = load_features(tmp_path / "ray")
    assert ids_a == ids_b
    np.testing.assert_array_equal(x_a, x_b)
    for a, b in zip(load_sequences(tmp_path / "local")[1], load_sequences(tmp_path / "ray")[1]):
        np.testing.assert_array_equal(a, b)
    again = run(m, tmp_path / "ray", batch_size=5, workers=2, engine="ray", kind="both")
    assert (again.computed, again.cached) == (0, 10)
