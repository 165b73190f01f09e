import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from emofuse.classifiers import build_classifier, build_regressor
from emofuse.classifiers.state import estimator_from_bytes, estimator_to_bytes
from emofuse.errors import DataError
from tests.classifiers.test_base import blobs, targets

CLASSIFIERS = ["hist_gb", "linear_svm", "logreg", "mlp", "rbf_svm", "xgboost"]


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("labels", ["strings", "integers"])
def test_every_classifier_round_trips_without_pickle(name, labels):
    if name == "xgboost":
        pytest.importorskip("xgboost")
    X, y = blobs(150, 0)
    if labels == "integers":
        y = np.unique(y, return_inverse=True)[1]
    clf = build_classifier(name).fit(X, y)
    data = estimator_to_bytes(clf)
    assert data[:2] == b"PK"  # skops: a zip of JSON and .npy files
    back = estimator_from_bytes(data)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.classes_.tolist() == clf.classes_.tolist()


@pytest.mark.parametrize("name", ["mlp", "ridge", "svr"])
def test_every_regressor_round_trips(name):
    X, Y = targets(120, 0)
    reg = build_regressor(name).fit(X, Y)
    back = estimator_from_bytes(estimator_to_bytes(reg))
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))


class Custom(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


def test_untrusted_types_are_refused_unless_trusted_explicitly():
    X, y = blobs(30, 0)
    data = estimator_to_bytes(Pipeline([("scale", StandardScaler()), ("m", Custom())]).fit(X, y))
    with pytest.raises(DataError, match=r"untrusted types.*Custom"):
        estimator_from_bytes(data)
    back = estimator_from_bytes(data, trusted=[f"{__name__}.Custom"])
    assert back.predict_proba(X[:2]).shape == (2, 3)


def test_a_corrupt_payload_is_a_data_error():
    with pytest.raises(DataError, match="skops"):
        estimator_from_bytes(b"not a zip")
