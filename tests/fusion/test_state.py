import json

import numpy as np
import pytest

from emofuse.classifiers import build_classifier
from emofuse.errors import DataError, UsageError
from emofuse.fusion import build_fusion, load_estimator, save_estimator
from emofuse.fusion.state import decode, encode
from tests.fusion.synthetic import complementary


def test_encode_keeps_numbers_in_arrays_and_labels_in_json():
    arrays = {}
    spec = encode({"w": np.eye(2), "labels": np.array(["x", "y"]), "k": np.int64(3)}, "s", arrays)
    assert list(arrays) == ["s.w"]
    assert spec["dict"]["labels"] == {"values": ["x", "y"]}
    assert spec["dict"]["k"] == {"json": 3}
    back = decode(json.loads(json.dumps(spec)), arrays)
    np.testing.assert_array_equal(back["w"], np.eye(2))
    assert back["labels"].tolist() == ["x", "y"]
    with pytest.raises(UsageError, match="cannot store"):
        encode(object(), "o", {})


def test_a_plain_classifier_pipeline_round_trips(tmp_path):
    X, y = complementary(100, 0)
    clf = build_classifier("mlp", hidden=8).fit(X["a"], y)
    save_estimator(clf, tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["kind"] == "sklearn" and meta["format"] == "emofuse-estimator/1"
    np.testing.assert_array_equal(load_estimator(tmp_path).predict_proba(X["a"]),
                                  clf.predict_proba(X["a"]))  # fmt: skip


@pytest.mark.parametrize("name", ["early_concat", "late_stacking"])
def test_a_fusion_with_tree_classifiers_inside_round_trips(name, tmp_path):
    X, y = complementary(150, 0)
    est = build_fusion(name, classifier="hist_gb", classifier_params={"max_iter": 10}).fit(X, y)
    save_estimator(est, tmp_path)
    np.testing.assert_array_equal(load_estimator(tmp_path).predict_proba(X), est.predict_proba(X))


def test_load_refuses_what_it_should_not_load(tmp_path):
    with pytest.raises(DataError, match="missing"):
        load_estimator(tmp_path)
    X, y = complementary(60, 0)
    save_estimator(build_fusion("late_mean").fit(X, y), tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    (tmp_path / "model.json").write_text(json.dumps({**meta, "method": "os:system"}))
    with pytest.raises(UsageError, match="unknown fusion 'os:system'"):
        load_estimator(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(DataError, match="not an emofuse estimator"):
        load_estimator(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps(meta))
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(DataError, match="corrupt"):
        load_estimator(tmp_path)
    with pytest.raises(UsageError, match="not an estimator"):
        save_estimator(object(), tmp_path)
