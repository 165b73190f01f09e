"""Voice ensembles: the members' folds scored together, the final networks joined."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from emofuse.errors import DataError
from emofuse.models.artifact import save_model
from emofuse.models.calibration import softmax
from emofuse.models.voice_cnn import VoiceCNN, VoiceCNNConfig, VoiceModel
from emofuse.train.voice_cv import cross_validate_voice
from emofuse.train.voice_ensemble import (
    cross_validate_ensemble,
    ensemble_statement_holdout,
    join_models,
)
from emofuse.train.voice_recipe import Recipe, check_preprocessing, voice_meta

TINY = VoiceCNNConfig(channels=[4, 8], embed=8, attention=4, n_classes=8)


def _member(root: Path, out: Path, **recipe) -> Path:
    fields = {"epochs": 1, "batch_size": 8, "n_variants": 2, **recipe}
    args = {"folds": 2, "actors": [1, 2], "config": TINY, "progress": False}
    cross_validate_voice(root, out, recipe=Recipe(**fields), **args)
    return out


def test_ensemble_cv_scores_the_mean_of_the_members_folds(ravdess_root, tmp_path):
    a = _member(ravdess_root, tmp_path / "a" / "cv.json")
    b = _member(ravdess_root, tmp_path / "b" / "cv.json", pitch_semitones=2.0)
    out = tmp_path / "ens" / "cv.json"
    result = cross_validate_ensemble([a, b], out, ravdess_root)
    assert set(result["folds"]) == {"1", "2"} and result["summary"]["n_folds"] == 2
    assert len(result["protocol"]["recipe"]["members"]) == 2
    members = [json.loads(p.read_text())["folds"] for p in (a, b)]
    for k, fold in result["folds"].items():
        mean = sum(softmax(np.array(m[k]["clean_logits"])) for m in members) / 2
        assert np.allclose(softmax(np.array(fold["clean_logits"])), mean, atol=2e-3)
        assert fold["y_native"] == members[0][k]["y_native"]
    assert json.loads(out.read_text())["summary"] == json.loads(json.dumps(result["summary"]))
    again = cross_validate_ensemble([a, b], out, ravdess_root)  # all done: read back
    assert again["folds"] == json.loads(out.read_text())["folds"]


def test_members_of_other_folds_or_seeds_are_refused(tmp_path):
    def cv(name: str, folds: list, **recipe) -> Path:
        prep = check_preprocessing(None)
        protocol = {"folds": folds, "config": asdict(TINY), "preprocessing": prep}
        protocol["recipe"] = Recipe(**recipe).to_dict()
        path = tmp_path / name
        path.write_text(json.dumps({"protocol": protocol, "folds": {}}))
        return path

    a = cv("a.json", [[1], [2]])
    with pytest.raises(DataError, match="same seed"):
        cross_validate_ensemble([a, cv("b.json", [[1], [2]], seed=3)], tmp_path / "e", ".")
    with pytest.raises(DataError, match=r"differs .* in \['folds'\]"):
        cross_validate_ensemble([a, cv("c.json", [[2], [1]])], tmp_path / "e", ".")
    with pytest.raises(DataError, match="two or more"):
        cross_validate_ensemble([a], tmp_path / "e", ".")
    with pytest.raises(DataError, match="no fold is finished"):
        cross_validate_ensemble(
            [a, cv("d.json", [[1], [2]], pitch_semitones=1.0)], tmp_path / "e", "."
        )


def test_ensemble_statement_holdout_averages_the_members_stored_logits(tmp_path):
    rng = np.random.default_rng(0)
    y = [0, 1, 2, 3]
    logits = [rng.normal(size=(2, 4, 8)) for _ in range(2)]  # member x part x (clips, labels)
    paths = []
    for i, member in enumerate(logits):
        fold = {"test_actors": [1]}
        for j, part in enumerate(("same", "other")):
            fold[f"{part}_logits"], fold[f"{part}_y_native"] = member[j].tolist(), y
        path = tmp_path / f"st{i}.json"
        protocol = {"folds": [[1], [2]], "recipe": {"seed": i}}
        path.write_text(json.dumps({"protocol": protocol, "folds": {"1": fold}}))
        paths.append(path)
    r = ensemble_statement_holdout(paths, tmp_path / "ens.json")
    mean = (softmax(logits[0][1]) + softmax(logits[1][1])) / 2
    acc = float((mean.argmax(1) == np.array(y)).mean())
    assert r["folds"]["1"]["other"]["native"]["accuracy"] == pytest.approx(acc)
    assert r["summary"]["native"]["gap"]["mean"] == pytest.approx(
        r["folds"]["1"]["same"]["native"]["accuracy"] - acc
    )
    assert json.loads((tmp_path / "ens.json").read_text())["protocol"]["recipe"]["members"]
    with pytest.raises(DataError, match="two or more"):
        ensemble_statement_holdout(paths[:1], tmp_path / "e.json")


def test_join_models_takes_the_ensemble_temperature(tmp_path):
    prep = check_preprocessing(None)
    dirs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        meta = voice_meta(TINY, prep)
        meta.training = {"seed": seed}
        dirs.append(
            save_model(VoiceCNN(TINY), meta, tmp_path / f"m{seed}") or tmp_path / f"m{seed}"
        )
    cv = tmp_path / "cv.json"
    cv.write_text(json.dumps({"summary": {"temperature": 1.3, "accuracy": 0.5}}))
    out = join_models(dirs, tmp_path / "joined", cv)
    model = VoiceModel.load(out, backend="torch")
    assert model.meta.temperature == 1.3 and model.meta.metrics["cv"]["accuracy"] == 0.5
    assert [m["seed"] for m in model.meta.training["members"]] == [0, 1]
    assert model.module.config.members == 2
    wave = np.sin(np.arange(16000) / 7).astype(np.float32)
    assert model.predict_proba([wave]).shape == (1, 7)
