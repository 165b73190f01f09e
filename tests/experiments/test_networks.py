"""Network methods in a recipe: one 'net' cell per fold, sequences and raw items as inputs,
checkpoints, curves, saved models that `load_method`, `evaluate` and the Recognizer read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emofuse.experiments.networks import ITEMS, SEQ, method_grid, present
from emofuse.experiments.recipe import Recipe
from tests.experiments.corpora import write_fer, write_goemotions, write_ravdess

NETS = ["attention", "biencoder", "realtime"]
RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, tiny_models):
    root = tmp_path_factory.mktemp("corpora")
    write_ravdess(root / "ravdess", actors=4)
    write_fer(root / "fer2013", per_label=16)
    write_goemotions(root / "goemotions", per_label=12)
    face = str(tiny_models / "face")
    return Recipe.from_dict(
        {
            "name": "nets",
            "data_root": str(root),
            "data": {
                "sources": [
                    {"corpus": "ravdess", "root": "ravdess"},
                    {"corpus": "fer2013", "root": "fer2013", "splits": ["validation"]},
                    {
                        "corpus": "goemotions",
                        "root": "goemotions",
                        "options": {"label_set": "ekman"},
                    },
                ],
                "pair": True,
            },
            "features": {
                "voice": {"name": "logmel_stats"},
                "face": {"name": "default_face", "config": {"model_dir": face}},
            },
            "fusion": ["late_mean", *NETS],
            "fusion_params": {
                "attention": {"epochs": 2, "width": 16, "heads": 2},
                "biencoder": {
                    "epochs": 1,
                    "towers": [
                        {"kind": "face_cnn", "model_dir": face},
                        {"kind": "voice_cnn", "model_dir": str(tiny_models / "voice")},
                    ],
                },
                "realtime": {"epochs": 1, "frames": 1, "channels": [4, 8, 8], "hidden": 8},
            },
            "classifiers": ["logreg"],
            "protocol": {"name": "official"},  # one fold, whose models are the final ones
            "report": {"bootstrap": 50, "pca": False},
            "cache": str(root / "cache"),
        }
    )


def test_grid_gives_networks_one_cell(recipe):
    grid = method_grid(recipe)
    assert [c for c in grid if c[0] in NETS] == [(m, "net") for m in NETS]
    assert ("late_mean", "logreg") in grid and ("voice", "logreg") in grid
    assert present(np.array([None, np.zeros((2, 3))], dtype=object)).tolist() == [False, True]


@pytest.mark.timeout(600)
def test_recipe_trains_scores_and_saves_the_networks(recipe, tmp_path):
    from emofuse.experiments.evaluation import evaluate_run
    from emofuse.experiments.methods import load_method
    from emofuse.experiments.networks import network_inputs
    from emofuse.experiments.runner import run_experiment
    from emofuse.inference.realtime import find_av
    from emofuse.report.tables import markdown, methods_grid

    run = tmp_path / "run"
    metrics = run_experiment(recipe, run, progress=False, report=False)
    for m in NETS:
        result = metrics["runs"][f"{m}/net"]
        assert set(result["folds"]) == {"official"} and 0 <= result["mean"]["uar"] <= 1
        curves = json.loads((run / "curves" / f"official-{m}.json").read_text())
        epochs = recipe.fusion_params[m]["epochs"]
        assert len(curves["loss"]) == epochs == len(curves["validation uar"])
        assert not (run / "checkpoints" / "official" / f"{m}__net").exists()  # dropped when done
    grid = markdown(methods_grid(metrics))
    assert "| attention |  | " in grid and "net" in grid.splitlines()[0]

    manifest_rows = len((run / "manifest.jsonl").read_text().splitlines())
    from emofuse.data.manifest import Manifest

    manifest = Manifest.read(run / "manifest.jsonl")
    x = network_inputs(manifest, recipe)
    assert set(x) == {ITEMS, SEQ + "voice", SEQ + "face"} and len(x[ITEMS]) == manifest_rows
    rows = {"items": x[ITEMS][:3]}
    est = load_method(run / "models" / "realtime__net")
    assert est.predict_proba(rows).shape[0] == 3
    assert find_av(run) == run / "models" / "realtime__net"  # `--model RUN_DIR` finds it

    scored = evaluate_run(run, run / "manifest.jsonl")
    assert {f"{m}/net" for m in NETS} <= set(scored["runs"])


@pytest.mark.timeout(600)
def test_av_corpus_recipe_reads_videos(tmp_path):
    """recipes/av_corpus.yaml on a generated CREMA-D layout with real (tiny) videos."""
    from emofuse.experiments.runner import run_experiment
    from tests.data.datasets.test_cremad import write_demographics
    from tests.fixtures import write_tiny_video, write_tone_wav

    root = tmp_path / "corpora" / "cremad"
    (root / "AudioWAV").mkdir(parents=True)
    (root / "VideoFlash").mkdir()
    write_demographics(root)
    for k, emotion in enumerate(("ANG", "HAP", "SAD", "NEU")):
        for actor, sentence in zip((1001, 1002, 1005), ("DFA", "IEO", "TSI")):
            stem = f"{actor}_{sentence}_{emotion}_XX"
            write_tone_wav(root / "AudioWAV" / f"{stem}.wav", 0.6, 16000, 220.0 + 110 * k)
            write_tiny_video(root / "VideoFlash" / f"{stem}.mp4", seconds=0.6, fps=5)
    small = "{epochs: 1, frames: 2, channels: [4, 8, 8], hidden: 8, fc: 8}"
    recipe = Recipe.read(
        RECIPES / "av_corpus.yaml",
        {
            "data_root": str(tmp_path / "corpora"),
            "cache": str(tmp_path / "cache"),
            "fusion_params.realtime": small,
            "classifiers": "[logreg]",
            "protocol": "{name: leave_one_group_out, group: speaker}",
            "report.bootstrap": "20",
        },
    )
    metrics = run_experiment(recipe, tmp_path / "run", progress=False, report=False)
    run = metrics["runs"]["realtime/net"]
    assert len(run["folds"]) == 3 and metrics["runs"]["voice/logreg"]
    fold = next((tmp_path / "run" / "folds").iterdir())
    used = json.loads((fold / "realtime__net.json").read_text())
    assert set(used["used"]) == {"video,voice"}  # decoded frames (no face in them) + sound
