"""Actor-independent cross-validation of the voice recipe: folds, summary, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.models.voice_cnn import VoiceCNNConfig
from emofuse.train import voice_cv
from emofuse.train.voice_cv import actor_folds, cross_validate_voice
from emofuse.train.voice_recipe import Recipe

TINY = VoiceCNNConfig(channels=[4, 8], embed=8, attention=4)


def _cv(root: Path, out: Path, epochs: int = 1, **kw) -> dict:
    recipe = Recipe(epochs=epochs, batch_size=8, n_variants=2)
    args = {"folds": 3, "actors": [1, 2, 3], "config": TINY, "progress": False}
    return cross_validate_voice(root, out, recipe=recipe, **{**args, **kw})


def test_cross_validation_writes_folds_summary_and_resumes(ravdess_root, tmp_path, monkeypatch):
    out = tmp_path / "cv" / "cv.json"
    calls = []
    fit = voice_cv.fit_network
    monkeypatch.setattr(voice_cv, "fit_network", lambda *a, **k: calls.append(k) or fit(*a, **k))
    first = _cv(ravdess_root, out, only_folds=[2])
    assert set(first["folds"]) == {"2"} and len(calls) == 1
    assert calls[0]["checkpoint"].name == "cv.fold2.checkpoint"
    assert not calls[0]["checkpoint"].exists()  # removed once the fold is written
    result = _cv(ravdess_root, out)  # resumes: fold 2 is kept, folds 1 and 3 are trained
    assert len(calls) == 3
    assert result["folds"]["2"] == first["folds"]["2"]
    on_disk = json.loads(out.read_text())
    assert on_disk == json.loads(json.dumps(result))
    assert on_disk["protocol"]["folds"] == [[1], [2], [3]]
    assert on_disk["protocol"]["recipe"] == Recipe(epochs=1, batch_size=8, n_variants=2).to_dict()
    for k, fold in on_disk["folds"].items():
        assert fold["test_actors"] == [int(k)] and int(k) not in fold["train_actors"]
        assert fold["n_test"] == 8 and fold["n_train"] == 16 and fold["temperature"] > 0
        assert set(fold["conditions"]) == {"clean", "snr_20db", "snr_10db"}
        clean = fold["conditions"]["clean"]
        assert np.array(clean["native"]["confusion_matrix"]).shape == (8, 8)
        assert np.array(clean["canonical"]["confusion_matrix"]).shape == (7, 7)
        assert clean["native"]["n"] == 8 and "weighted_f1" in clean["canonical"]
        assert 0 <= fold["train_seconds"] <= fold["seconds"]
    summary = on_disk["summary"]
    assert summary["n_folds"] == 3
    acc = summary["clean"]["native"]["accuracy"]
    per_fold = [on_disk["folds"][k]["conditions"]["clean"]["native"]["accuracy"] for k in "123"]
    assert acc["mean"] == pytest.approx(np.mean(per_fold))
    assert acc["std"] == pytest.approx(np.std(per_fold, ddof=1))
    assert {"mean", "std"} <= set(summary["snr_10db"]["canonical"]["macro_f1"])
    calib = summary["calibration"]
    temps = [on_disk["folds"][k]["temperature"] for k in "123"]
    assert calib["temperature_applied"][0] == pytest.approx(np.mean(temps[1:]))  # cross-fitted
    assert {"ece_before", "ece_after"} <= set(calib["canonical"]) | set(calib["native"])
    assert summary["temperature"] == pytest.approx(np.mean(temps))
    assert summary["temperature_per_fold"] == pytest.approx(temps)
    native8 = summary["native8"]
    assert native8["accuracy_mean"] == pytest.approx(acc["mean"])
    assert native8["accuracy_std"] == pytest.approx(acc["std"])
    assert {"accuracy_snr20_mean", "accuracy_snr10_mean", "ece_after_mean"} <= set(native8)
    canon = summary["canonical7"]
    assert summary["accuracy"] == pytest.approx(canon["accuracy_mean"])
    assert summary["ece_after_mean"] == pytest.approx(calib["canonical"]["ece_after"]["mean"])
    assert summary["n"] == 24 and "3-fold" in summary["protocol"]

    _cv(ravdess_root, out)  # everything done: nothing is trained again
    assert len(calls) == 3
    with pytest.raises(UsageError, match="another protocol"):
        _cv(ravdess_root, out, epochs=2)


def test_actor_folds_are_contiguous_groups():
    folds = actor_folds(range(1, 21), 5)
    assert folds == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
        [13, 14, 15, 16],
        [17, 18, 19, 20],
    ]
    assert all(sum(a % 2 for a in f) == 2 for f in folds)  # 2 male (odd) + 2 female
    with pytest.raises(UsageError):
        actor_folds([1, 2], 3)


def test_every_condition_gets_its_own_flat_keys():
    assert [
        voice_cv.condition_suffix(c) for c in ("clean", "snr_10db", "reverb", "gain_-26db")
    ] == [
        "",
        "_snr10",
        "_reverb",
        "_gain_-26",
    ]
    shipped = json.loads(
        (Path(voice_cv.__file__).parents[1] / "weights/voice/model.json").read_text()
    )
    flat = shipped["metrics"]["cv"]["canonical7"]
    assert {"accuracy_telephone_mean", "accuracy_mp3_16k_mean", "accuracy_snr10_mean"} <= set(flat)
