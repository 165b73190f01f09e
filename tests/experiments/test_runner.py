"""The runner: resume after an interruption, the feature store's reuse, evaluate_run."""

from __future__ import annotations

import json

import pytest

from emofuse.data.manifest import Manifest
from emofuse.encoders.audio import LogMelStats
from emofuse.errors import DataError, UsageError
from emofuse.experiments import Recipe, evaluate_run, run_experiment
from emofuse.experiments import runner as runner_module


def recipe(corpora, tmp_path, **changes) -> Recipe:
    doc = {
        "name": "voice",
        "data_root": str(corpora),
        "data": {"sources": [{"corpus": "ravdess", "root": "ravdess"}]},
        "features": {"voice": {"name": "logmel_stats", "config": {"n_mels": 16}}},
        "fusion": [],
        "classifiers": ["logreg"],
        "protocol": {"name": "group_kfold", "k": 2},
        "report": {"bootstrap": 20, "pca": False},
        "cache": str(tmp_path / "cache"),
    }
    return Recipe.from_dict({**doc, **changes})


@pytest.fixture()
def counts(monkeypatch):
    """Count encoder batches and fitted cells."""
    seen = {"encode": 0, "fit": 0}
    encode, fit_cell = LogMelStats.encode, runner_module.fit_cell

    def counting_encode(self, batch):
        seen["encode"] += 1
        return encode(self, batch)

    def counting_fit(*args, **kwargs):
        seen["fit"] += 1
        if seen.get("fail_at") == seen["fit"]:
            raise KeyboardInterrupt  # a kill in the middle of the grid
        return fit_cell(*args, **kwargs)

    monkeypatch.setattr(LogMelStats, "encode", counting_encode)
    monkeypatch.setattr(runner_module, "fit_cell", counting_fit)
    return seen


def test_an_interrupted_run_resumes_without_recomputing(corpora, tmp_path, counts):
    r = recipe(corpora, tmp_path, classifiers=["logreg", "linear_svm"])
    counts["fail_at"] = 3  # 2 folds x 2 heads: the kill hits the third cell
    with pytest.raises(KeyboardInterrupt):
        run_experiment(r, tmp_path / "run", progress=False)
    assert len(list((tmp_path / "run" / "folds").rglob("*.json"))) == 2
    assert counts["encode"] > 0
    counts.update(encode=0, fit=0, fail_at=None)
    metrics = run_experiment(r, tmp_path / "run", progress=False)
    assert counts == {"encode": 0, "fit": 2, "fail_at": None}  # features cached, 2 cells left
    assert set(metrics["runs"]) == {"voice/logreg", "voice/linear_svm"}
    assert metrics["runs"]["voice/logreg"]["mean"]["uar"] > 0.5


def test_a_second_run_with_other_heads_computes_no_embedding(corpora, tmp_path, counts):
    run_experiment(recipe(corpora, tmp_path), tmp_path / "a", progress=False)
    assert counts["encode"] > 0
    counts.update(encode=0, fit=0)
    run_experiment(recipe(corpora, tmp_path, classifiers=["mlp"]), tmp_path / "b", progress=False)
    assert counts == {"encode": 0, "fit": 2}


def test_a_run_folder_of_another_recipe_is_refused(corpora, tmp_path):
    run_experiment(recipe(corpora, tmp_path), tmp_path / "run", progress=False)
    other = recipe(corpora, tmp_path, protocol={"name": "group_kfold", "k": 3})
    with pytest.raises(UsageError, match="another recipe"):
        run_experiment(other, tmp_path / "run", progress=False)


def test_evaluate_run_scores_the_final_models_on_a_new_manifest(corpora, tmp_path):
    run = tmp_path / "run"
    trained = run_experiment(recipe(corpora, tmp_path), run, progress=False)
    m = Manifest.read(run / "manifest.jsonl")
    result = evaluate_run(run, run / "manifest.jsonl")
    assert result["scored"] == len(m) and result["unknown_targets"] == 0
    # the final model trained on every item: it scores them at least as well as unseen folds
    assert result["runs"]["voice/logreg"]["metrics"]["uar"] >= trained["runs"]["voice/logreg"][
        "mean"]["uar"] - 0.05  # fmt: skip
    assert (run / "evaluations" / "manifest" / "metrics.json").is_file()
    f = m.frame.copy()
    f["audio"] = None
    f["text"] = "no audio here"
    Manifest(f).to_jsonl(tmp_path / "text_only.jsonl")
    with pytest.raises(DataError, match="no saved model"):
        evaluate_run(run, tmp_path / "text_only.jsonl")
    with pytest.raises(UsageError, match="not a finished run"):
        evaluate_run(tmp_path, tmp_path / "text_only.jsonl")


def test_metrics_json_is_written_atomically_and_complete(corpora, tmp_path):
    run = tmp_path / "run"
    run_experiment(recipe(corpora, tmp_path), run, progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    cell = json.loads((run / "folds" / "fold1" / "voice__logreg.json").read_text())
    assert set(cell) >= {"test", "y_true", "y_pred", "proba", "used", "metrics", "fit_seconds"}
    assert metrics["folds"] == ["fold1", "fold2"] and metrics["seconds"] > 0
    assert not list(run.rglob(".*.tmp")) and not list(run.rglob(".*json.*"))


def test_leave_one_corpus_out_over_stacked_sources(corpora, tmp_path):
    four = ["neutral", "happiness", "sadness", "anger"]
    r = recipe(
        corpora,
        tmp_path,
        data={
            "sources": [
                {"corpus": "ravdess", "root": "ravdess"},
                {"corpus": "iemocap", "root": "iemocap"},
            ]
        },
        labels=four,
        protocol={"name": "leave_one_corpus_out"},
    )
    metrics = run_experiment(r, tmp_path / "run", progress=False)
    assert metrics["folds"] == ["iemocap", "ravdess"] and metrics["labels"] == four
    m = Manifest.read(tmp_path / "run" / "manifest.jsonl")
    assert set(m.frame["label_canonical"]) == set(four)
    assert m.frame["audio"].map(lambda p: p.startswith("/")).all()  # roots made absolute
    assert m.missing_media() == []


def test_subsample_is_seeded_and_stratified(corpora):
    from emofuse.data.datasets import prepare
    from emofuse.experiments.data import subsample

    m = prepare("meld", corpora / "meld")
    a, b = subsample(m, 70, seed=1), subsample(m, 70, seed=1)
    assert len(a) == 70 and a.frame["id"].tolist() == b.frame["id"].tolist()
    assert a.frame["label_canonical"].value_counts().min() == 10  # 24 of each of 7 labels
    assert subsample(m, 70, seed=2).frame["id"].tolist() != a.frame["id"].tolist()
    assert subsample(m, 10_000, seed=0) is m
