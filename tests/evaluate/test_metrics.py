import json

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

from emofuse.errors import DataError, UsageError
from emofuse.evaluate.metrics import (
    bootstrap_ci,
    ccc,
    classification_metrics,
    regression_metrics,
    summarize_folds,
)


def predictions(n: int, seed: int, k: int = 4, right: float = 0.7):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < right, y, rng.integers(0, k, n))
    return y, pred


def test_classification_metrics_keeps_its_keys_and_adds_uar_and_confusion():
    y, pred = predictions(300, 0)
    labels = ["anger", "happiness", "neutral", "sadness", "fear"]  # "fear" never occurs
    m = classification_metrics(y, pred, labels)
    assert {"n", "accuracy", "weighted_f1", "macro_f1", "per_class"} <= set(m)
    assert m["uar"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["confusion"] == confusion_matrix(y, pred, labels=range(5)).tolist()
    assert m["per_class"]["fear"]["support"] == 0
    assert m["uar"] != pytest.approx(m["accuracy"])
    json.dumps(m)


@pytest.mark.parametrize("metric", ["accuracy", "uar", "weighted_f1", "macro_f1"])
def test_each_bootstrap_resample_matches_scikit_learn(metric):
    y, pred = predictions(200, 1)
    low, high = bootstrap_ci(y, pred, metric=metric, n_resamples=1, seed=7)
    idx = np.random.default_rng(7).integers(0, 200, size=(1, 200))[0]  # the same draw
    t, p = y[idx], pred[idx]
    expected = {
        "accuracy": (t == p).mean(),
        "uar": balanced_accuracy_score(t, p),
        "weighted_f1": f1_score(t, p, average="weighted"),
        "macro_f1": f1_score(t, p, average="macro"),
    }[metric]
    assert low == pytest.approx(expected) and high == pytest.approx(expected)


@pytest.mark.parametrize("metric", ["accuracy", "uar", "weighted_f1", "macro_f1"])
def test_bootstrap_interval_contains_the_estimate_and_narrows_with_n(metric):
    widths = []
    for n in (100, 2000):
        y, pred = predictions(n, 2)
        m = classification_metrics(y, pred, ["a", "b", "c", "d"])
        low, high = bootstrap_ci(y, pred, metric=metric, n_resamples=500)
        assert low < m[metric] < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # ~ 1/sqrt(n): 4.5x narrower


def test_bootstrap_takes_any_labels_and_is_reproducible():
    y, pred = predictions(150, 3)
    names = np.array(["anger", "fear", "joy", "neutral"])
    a = bootstrap_ci(names[y], names[pred], metric="macro_f1", seed=1)
    assert a == bootstrap_ci(y, pred, metric="macro_f1", seed=1)
    assert a != bootstrap_ci(y, pred, metric="macro_f1", seed=2)
    wide = bootstrap_ci(y, pred, alpha=0.01)
    narrow = bootstrap_ci(y, pred, alpha=0.5)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_bootstrap_rejects_bad_arguments():
    with pytest.raises(UsageError, match="unknown metric"):
        bootstrap_ci([0, 1], [0, 1], metric="auc")
    with pytest.raises(UsageError, match="n_resamples"):
        bootstrap_ci([0, 1], [0, 1], n_resamples=0)
    with pytest.raises(DataError):
        bootstrap_ci([0, 1], [0])
    with pytest.raises(DataError):
        bootstrap_ci([], [])


def test_ccc_known_values():
    t = np.array([1.0, 2.0, 3.0])
    assert ccc(t, t) == pytest.approx(1.0)
    assert ccc(t - 2, 2 - t) == pytest.approx(-1.0)
    assert ccc(t, -t) == pytest.approx(-1 / 13)  # 2(-2/3) / (2/3 + 2/3 + 16)
    assert ccc(t, t + 1) == pytest.approx(4 / 7)  # 2(2/3) / (2/3 + 2/3 + 1)
    assert ccc(t, 2 * t) == pytest.approx(4 / 11)  # 2(4/3) / (2/3 + 8/3 + 4)
    assert ccc(t, np.full(3, 2.0)) == 0.0
    assert ccc(np.ones(3), np.ones(3)) == 1.0
    with pytest.raises(DataError):
        ccc(t, t[:2])


def test_regression_metrics_per_dimension():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(100, 3))
    P = Y.copy()
    P[:, 1] = Y[:, 1] * 0.5 + 1
    P[:, 2] = 0.0
    m = regression_metrics(Y, P)
    assert list(m) == ["valence", "arousal", "dominance"]
    assert m["valence"] == {"ccc": pytest.approx(1.0), "pearson_r": pytest.approx(1.0), "mae": 0.0}
    assert m["arousal"]["pearson_r"] == pytest.approx(1.0)
    assert m["arousal"]["ccc"] < 0.8
    assert m["arousal"]["mae"] == pytest.approx(np.abs(Y[:, 1] * -0.5 + 1).mean())
    assert np.isnan(m["dominance"]["pearson_r"]) and m["dominance"]["ccc"] == 0.0
    assert list(regression_metrics(Y[:, 0], P[:, 0])) == ["valence"]
    assert list(regression_metrics(Y[:, :2], P[:, :2], names=["v", "a"])) == ["v", "a"]
    with pytest.raises(UsageError, match="names"):
        regression_metrics(Y, P, names=["v"])
    with pytest.raises(DataError, match="finite"):
        regression_metrics(Y, P * np.nan)


def test_summarize_folds():
    folds = [
        {"n": 10, "accuracy": 0.5, "per_class": {"anger": {"f1": 0.2}}, "confusion": [[1]]},
        {"n": 20, "accuracy": 0.7, "per_class": {"anger": {"f1": 0.4}}, "confusion": [[2]]},
        {"n": 30, "accuracy": 0.9, "done": True},
    ]
    s = summarize_folds(folds)
    assert s["accuracy"]["mean"] == pytest.approx(0.7)
    assert s["accuracy"]["std"] == pytest.approx(0.2)  # sample std (ddof=1)
    assert s["accuracy"]["n"] == 3
    assert s["per_class.anger.f1"] == {"mean": pytest.approx(0.3), "std": pytest.approx(0.1414,
                                       abs=1e-4), "n": 2}  # fmt: skip
    assert "confusion" not in s and "done" not in s
    assert summarize_folds([{"valence": {"ccc": 0.4}}])["valence.ccc"] == {
        "mean": 0.4, "std": 0.0, "n": 1,
    }  # fmt: skip
