import sys
from dataclasses import dataclass

import numpy as np
import pytest

from emofuse.classifiers import (
    CLASSIFIERS,
    REGRESSORS,
    EstimatorConfig,
    build_classifier,
    build_regressor,
    classifier_config,
    classifier_names,
    regressor_names,
)
from emofuse.errors import MissingExtraError, UsageError
from emofuse.evaluate.metrics import ccc


def blobs(n: int, seed: int, d: int = 10):
    """Three string-labelled Gaussian classes, separable in two of ``d`` dimensions."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, n)
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, 0] += 3 * (codes == 1)
    X[:, 1] += 3 * (codes == 2)
    return X, np.array(["anger", "happiness", "neutral"])[codes]


def test_the_builtin_names():
    assert classifier_names() == ["hist_gb", "linear_svm", "logreg", "mlp", "rbf_svm", "xgboost"]
    assert regressor_names() == ["mlp", "ridge", "svr"]


@pytest.mark.parametrize("name", ["hist_gb", "linear_svm", "logreg", "mlp", "rbf_svm", "xgboost"])
def test_every_classifier_learns_with_string_labels(name):
    if name == "xgboost":
        pytest.importorskip("xgboost")
    X, y = blobs(300, 0)
    Xt, yt = blobs(200, 1)
    clf = build_classifier(name).fit(X, y)
    assert [s for s, _ in clf.steps] == ["scale", "model"]
    assert clf.classes_.tolist() == ["anger", "happiness", "neutral"]
    p = clf.predict_proba(Xt)
    assert p.shape == (200, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-6)
    assert (clf.classes_[p.argmax(1)] == clf.predict(Xt)).mean() > 0.95
    assert (clf.predict(Xt) == yt).mean() > 0.85  # chance is 1/3


def test_parameters_are_converted_and_checked():
    clf = build_classifier("logreg", C="0.5", class_weight="balanced")
    assert clf.named_steps["model"].C == 0.5
    assert clf.named_steps["model"].class_weight == "balanced"
    svm = build_classifier("rbf_svm", gamma="0.1").named_steps["model"].estimator
    assert svm.gamma == 0.1
    assert build_classifier("rbf_svm").named_steps["model"].estimator.gamma == "scale"
    assert build_classifier("mlp", hidden="16").named_steps["model"].hidden_layer_sizes == (16,)
    assert classifier_config("hist_gb", seed=3).to_dict()["seed"] == 3
    with pytest.raises(UsageError, match="no field"):
        build_classifier("logreg", gamma=1)
    with pytest.raises(UsageError, match="C"):
        build_classifier("logreg", C="strong")
    with pytest.raises(UsageError, match="unknown classifier 'svm'"):
        build_classifier("svm")


def test_xgboost_without_its_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # import xgboost -> ImportError
    with pytest.raises(MissingExtraError, match=r"emofuse\[xgboost\]"):
        build_classifier("xgboost")


def test_a_third_party_classifier_registers_a_config():
    @dataclass
    class Nearest(EstimatorConfig):
        k: int = 3

        def estimator(self):
            from sklearn.neighbors import KNeighborsClassifier

            return KNeighborsClassifier(self.k)

    CLASSIFIERS.register("knn_test", Nearest)
    try:
        assert build_classifier("knn_test", k="5").named_steps["model"].n_neighbors == 5
    finally:
        CLASSIFIERS.unregister("knn_test")


def targets(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    Y = np.column_stack([3 + 2 * X[:, 0], -1 + X[:, 1] - X[:, 2], 0.5 * X[:, 3] + 10])
    return X, Y + rng.normal(scale=0.2, size=Y.shape)


@pytest.mark.parametrize("name", ["mlp", "ridge", "svr"])
def test_every_regressor_predicts_every_target_on_its_scale(name):
    X, Y = targets(300, 0)
    Xt, Yt = targets(200, 1)
    pred = build_regressor(name).fit(X, Y).predict(Xt)
    assert pred.shape == (200, 3)
    for i in range(3):
        assert ccc(Yt[:, i], pred[:, i]) > 0.8, (name, i)
    assert abs(pred[:, 2].mean() - 10) < 0.3  # targets are standardised and mapped back


def test_regressor_names_and_conversion():
    reg = build_regressor("ridge", alphas="1,10")
    assert reg.named_steps["model"].regressor.alphas == [1.0, 10.0]
    assert "svr" in REGRESSORS
    with pytest.raises(UsageError):
        build_regressor("svr", depth=3)
