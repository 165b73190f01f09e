"""train_voice / evaluate_voice on a generated RAVDESS-layout folder (tiny network)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from emofuse.errors import DataError
from emofuse.models.voice_cnn import VoiceCNNConfig, VoiceModel
from emofuse.train.voice import Recipe, evaluate_voice, train_voice
from tests.train.conftest import tone

TINY = VoiceCNNConfig(channels=[4, 8], embed=8, attention=4)


def _train(root, out, **kw) -> dict:
    recipe = Recipe(epochs=kw.pop("epochs", 1), batch_size=8)
    return train_voice(root, out, recipe=recipe, train_actors=[1, 2], val_actors=[3],
                       config=TINY, progress=False, **kw)  # fmt: skip


def test_one_epoch_writes_a_loadable_artefact(ravdess_root, tmp_path):
    summary = _train(ravdess_root, tmp_path / "voice")
    assert {p.name for p in (tmp_path / "voice").iterdir()} == {"model.json", "model.safetensors"}
    meta = json.loads((tmp_path / "voice" / "model.json").read_text())
    assert meta["architecture"] == "voice_cnn" and meta["modality"] == "voice"
    assert meta["labels"][0] == "neutral" and len(meta["labels"]) == 7
    assert meta["config"]["n_classes"] == 8 and len(meta["preprocessing"]["native_labels"]) == 8
    assert meta["preprocessing"]["label_merge"]["calm"] == "neutral"
    assert {"sample_rate", "n_fft", "hop", "n_mels", "max_seconds"} <= set(meta["preprocessing"])
    assert {"data", "selection", "label_mapping", "epochs", "recipe"} <= set(meta["training"])
    val = meta["metrics"]["validation"]
    expected = {"accuracy", "weighted_f1", "macro_f1", "per_class", "ece_before", "ece_after"}
    assert expected <= set(val)
    assert val["n"] == 8 and summary["validation"]["n"] == 8
    assert {"accuracy", "macro_f1", "confusion_matrix"} <= set(val["native"])
    assert meta["temperature"] == pytest.approx(summary["temperature"])
    assert meta["temperature"] > 0

    model = VoiceModel.load(tmp_path / "voice")
    probs = model.predict_proba([tone(300.0, 1.5)])
    assert probs.shape == (1, 7)
    metrics = evaluate_voice(tmp_path / "voice", ravdess_root, actors=[3])
    assert metrics["n"] == 8 and {"accuracy", "macro_f1", "ece"} <= set(metrics)
    assert metrics["accuracy"] == pytest.approx(val["accuracy"])
    assert metrics["native"]["accuracy"] == pytest.approx(val["native"]["accuracy"])
    noisy = evaluate_voice(tmp_path / "voice", ravdess_root, actors=[3], snr_db=10.0)
    assert noisy["snr_db"] == 10.0 and noisy["n"] == 8


def test_deterministic_for_a_seed_and_selects_an_epoch(ravdess_root, tmp_path):
    a_info = _train(ravdess_root, tmp_path / "a", epochs=2)
    _train(ravdess_root, tmp_path / "b", epochs=2)
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert a_info["best_epoch"] in (1, 2)


def test_overlapping_actors_rejected(ravdess_root, tmp_path):
    with pytest.raises(DataError, match="overlap"):
        train_voice(ravdess_root, tmp_path, train_actors=[1, 2], val_actors=[2])


def test_fixed_epochs_on_all_actors_takes_cv_temperature(ravdess_root, tmp_path):
    cv = {"protocol": {"folds": [[1], [2]]}, "summary": {"temperature": 1.8, "accuracy": 0.5}}
    (tmp_path / "cv.json").write_text(json.dumps(cv))
    summary = train_voice(
        ravdess_root,
        tmp_path / "voice",
        recipe=Recipe(epochs=1, batch_size=8, n_variants=2),
        train_actors=[1, 2, 3],
        config=TINY,
        progress=False,
        cv_json=tmp_path / "cv.json",
    )
    assert summary["validation"] is None and summary["temperature"] == pytest.approx(1.8)
    assert summary["best_epoch"] == 1
    meta = json.loads((tmp_path / "voice" / "model.json").read_text())
    assert meta["temperature"] == pytest.approx(1.8)
    assert meta["metrics"]["cv"] == cv["summary"]
    assert meta["training"]["selection"].startswith("none")
    assert meta["training"]["n_variants"] == 2 and meta["training"]["batch_size"] == 8
    assert "24 clips" in meta["training"]["data"]


def test_attach_cv_records_a_later_cv_and_the_gain_normalisation(ravdess_root, tmp_path):
    from emofuse.train.voice import attach_cv, cross_validate_voice

    recipe = Recipe(epochs=1, batch_size=8, n_variants=2, gain_norm=True)
    train_voice(ravdess_root, tmp_path / "voice", recipe=recipe, train_actors=[1, 2, 3],
                config=TINY, progress=False)  # fmt: skip
    before = json.loads((tmp_path / "voice" / "model.json").read_text())
    assert before["temperature"] == 1.0 and before["preprocessing"]["gain_normalise_dbfs"] == -36
    cv = cross_validate_voice(ravdess_root, tmp_path / "cv.json", recipe=recipe, folds=2,
                              actors=[1, 2], config=TINY, progress=False)  # fmt: skip
    st = {"summary": {"canonical": {"gap": {"mean": 0.1}}}}
    (tmp_path / "st.json").write_text(json.dumps(st))
    attach_cv(tmp_path / "voice", tmp_path / "cv.json", tmp_path / "st.json")
    after = json.loads((tmp_path / "voice" / "model.json").read_text())
    assert after["temperature"] == pytest.approx(cv["summary"]["temperature"])
    assert after["metrics"]["cv"]["n_folds"] == 2
    assert after["metrics"]["statement_holdout"]["canonical"]["gap"]["mean"] == 0.1
    assert (tmp_path / "cv.fold1.safetensors").is_file()  # fold networks are kept
    (tmp_path / "empty.json").write_text(json.dumps({"folds": {}}))
    with pytest.raises(DataError, match="no finished folds"):
        attach_cv(tmp_path / "voice", tmp_path / "empty.json")
