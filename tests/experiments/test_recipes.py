"""Smoke tests: every recipe in recipes/ runs on tiny generated corpora and writes its run.

Texts are read with a small fitted TF-IDF instead of MiniLM (import cost) and the grids
are trimmed where noted; everything else is the recipe as committed.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from emofuse.experiments.methods import load_method
from tests.experiments.conftest import TFIDF

PNG = b"\x89PNG"


def check_run(run_dir, metrics, n_items: int) -> None:
    """The files every run must write, and predictions that cover every test item."""
    for name in ("config.yaml", "manifest.jsonl", "metrics.json", "predictions.parquet",
                 "report.html", "tables/per_fold.md" if metrics["task"] == "classification"
                 else "tables/regression.md"):  # fmt: skip
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    for png in (run_dir / "plots").glob("*.png"):
        assert png.read_bytes().startswith(PNG)
    page = (run_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= (3 if metrics["task"] == "classification" else 1)
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    per_cell = preds.groupby(["method", "head"]).size()
    n_folds_x_items = n_items * len(metrics["protocol"]["seeds"])
    assert (per_cell == n_folds_x_items).all() or metrics["protocol"]["name"] == "official"
    for key in metrics["runs"]:
        method, head = key.split("/")
        assert (run_dir / "models" / f"{method}__{head}" / "model.json").is_file() or (
            run_dir / "models" / f"{method}__{head}" / "regressor.json"
        ).is_file()


def test_paired_fusion_recipe(run_recipe):
    metrics, run = run_recipe(
        "paired_fusion",
        {
            "features.text": TFIDF,
            "classifiers": "[logreg]",
            "protocol.k": "2",
            # the networks of this recipe: tests/experiments/test_networks.py
            "fusion": "[early_concat, early_sum, early_product, late_mean, late_weighted, "
            "late_product, late_stacking]",
        },
    )
    n = len(pd.read_json(run / "manifest.jsonl", lines=True))
    check_run(run, metrics, n)
    assert metrics["methods"] == ["voice", "face", "text", "early_concat", "early_sum",
                                  "early_product", "late_mean", "late_weighted",
                                  "late_product", "late_stacking"]  # fmt: skip
    assert metrics["folds"] == ["fold1", "fold2"]
    voice = metrics["runs"]["voice/logreg"]
    assert voice["mean"]["uar"] > 0.5  # tones carry the emotion: far above 1/7
    assert voice["ci95"]["low"] <= voice["ci95"]["value"] <= voice["ci95"]["high"]
    assert set(voice["pooled"]["per_class"]) == set(metrics["labels"])
    # folds are grouped by the voice's actor (faces and texts have no known person)
    f = pd.read_json(run / "manifest.jsonl", lines=True)
    assert "speaker_voice" in pd.json_normalize(f["extra"]).columns
    # every fused model says which modalities it used
    preds = pd.read_parquet(run / "predictions.parquet")
    assert set(preds.loc[preds["method"] == "late_mean", "used"]) == {"face,text,voice"}
    assert (run / "plots" / "pca.png").is_file() and (run / "plots" / "confusion.png").is_file()
    table = (run / "tables" / "unimodal_vs_fused.md").read_text()
    assert "voice (alone)" in table and "late_stacking" in table and "F1 disgust" in table


def test_meld_text_recipe_with_every_classifier(run_recipe):
    metrics, run = run_recipe(
        "meld_text",
        {
            "features.minilm": TFIDF,
            "features.tfidf.config": "{min_df: 1, svd_dim: 16}",
            "protocol.k": "2",
            "data.limit": "160",  # a seeded sample of the 168 items
        },
    )
    check_run(run, metrics, 160)
    assert metrics["heads"] == ["logreg", "linear_svm", "rbf_svm", "mlp", "hist_gb", "xgboost"]
    assert set(metrics["mean_over_heads"]) == {"minilm", "tfidf"}
    # TF-IDF is fitted per fold on its training rows, and once more on all rows for the model
    states = sorted(p.name for p in (run / "encoders" / "tfidf").iterdir())
    assert states == ["final", "fold1", "fold2"]
    assert (
        json.loads((run / "encoders/tfidf/final/tfidf.json").read_text())["config"]["svd_dim"] == 16
    )
    # the emotion word is in 80% of the texts: plain TF-IDF + logreg is far above chance
    assert metrics["runs"]["minilm/logreg"]["mean"]["weighted_f1"] > 0.4


def test_emobank_regression_recipe(run_recipe):
    metrics, run = run_recipe("emobank_vad", {"features.minilm": TFIDF})
    n_dev = 16
    check_run(run, metrics, n_dev)
    assert metrics["task"] == "regression" and metrics["targets"] == [
        "valence", "arousal", "dominance"]  # fmt: skip
    best = metrics["runs"]["tfidf/ridge"]
    assert set(best["pooled"]["per_target"]["valence"]) == {"ccc", "pearson_r", "mae"}
    assert best["pooled"]["n"] == n_dev
    assert (run / "plots" / "scatter.png").is_file()
    est = load_method(run / "models" / "early_concat__ridge")
    x = {"minilm": np.zeros((2, est.model_.n_features_in_ // 2)),
         "tfidf": np.zeros((2, est.model_.n_features_in_ // 2))}  # fmt: skip
    assert est.predict(x).shape == (2, 3)


def test_iemocap_leave_one_session_out_recipe(run_recipe):
    metrics, run = run_recipe("iemocap_loso", {"features.text": TFIDF, "classifiers": "[logreg]"})
    assert metrics["folds"] == ["Ses01", "Ses02", "Ses03", "Ses04", "Ses05"]
    assert metrics["labels"] == ["neutral", "happiness", "sadness", "anger"]
    check_run(run, metrics, 80)
    for key, r in metrics["runs"].items():
        assert set(r["folds"]) == set(metrics["folds"]), key
