"""Batch prediction engines: in-process, a process pool and Ray give the same rows."""

import importlib.util

import pandas as pd
import pytest

from emofuse.errors import UsageError
from emofuse.inference.predict import predict_manifest
from emofuse.inference.recognizer import Recognizer
from tests.fixtures import write_speech_wav


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("pred")
    write_speech_wav(root / "a.wav", seconds=1.0)
    (root / "bad.wav").write_bytes(b"not audio")
    ids = [f"t{i}" for i in range(5)] + ["v1", "v2", "empty"]
    modality = ["text"] * 5 + ["voice", "voice", "text"]
    inputs = ["so happy", "so sad", "how dare you", "oh no", "wow", "a.wav", "bad.wav", ""]
    pd.DataFrame({"id": ids, "modality": modality, "input": inputs}).to_csv(
        root / "m.csv", index=False
    )
    return root / "m.csv"


@pytest.fixture(scope="module")
def in_process(tiny_models, manifest):
    return predict_manifest(Recognizer(tiny_models), manifest, chunk=3)


def test_in_process_rows_and_errors(in_process):
    assert list(in_process["id"]) == ["t0", "t1", "t2", "t3", "t4", "v1", "v2", "empty"]
    errors = dict(zip(in_process["id"], in_process["error"]))
    assert errors["v1"] == "" and "bad.wav" in errors["v2"] and "empty text" in errors["empty"]


def test_process_pool_equals_in_process(tiny_models, manifest, in_process):
    pooled = predict_manifest(Recognizer(tiny_models), manifest, workers=2, chunk=3)
    pd.testing.assert_frame_equal(pooled, in_process)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_equals_in_process(tiny_models, manifest, in_process):
    rayed = predict_manifest(Recognizer(tiny_models), manifest, engine="ray", workers=2, chunk=3)
    pd.testing.assert_frame_equal(rayed, in_process)


def test_unknown_engine(tiny_models, manifest):
    with pytest.raises(UsageError, match="engine"):
        predict_manifest(Recognizer(tiny_models), manifest, engine="spark")
