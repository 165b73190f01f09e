"""What every registered fusion method must do (parametrised over the registry)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from emofuse.classifiers import build_classifier
from emofuse.errors import DataError, UsageError
from emofuse.fusion import build_fusion, fusion_names, load_estimator, save_estimator
from tests.fusion.synthetic import complementary, drop

METHODS = [
    "early_concat", "early_product", "early_sum",
    "late_mean", "late_product", "late_stacking", "late_weighted",
]  # fmt: skip


NETWORKS = ["attention", "biencoder", "realtime"]  # neural fusion, trained end to end


def test_the_registry_lists_every_method():
    assert fusion_names() == sorted(METHODS + NETWORKS)


@pytest.fixture(scope="module")
def data():
    return complementary(400, 0), complementary(400, 1)


@pytest.fixture(scope="module")
def fitted(data):
    (X, y), _ = data
    return {name: build_fusion(name).fit(X, y) for name in METHODS}


@pytest.mark.parametrize("name", METHODS)
def test_fusion_beats_each_unimodal_classifier_on_complementary_signal(data, fitted, name):
    (X, y), (Xt, yt) = data
    unimodal = {m: (build_classifier("logreg").fit(X[m], y).predict(Xt[m]) == yt).mean()
                for m in X}  # fmt: skip
    fused = (fitted[name].predict(Xt) == yt).mean()
    assert max(unimodal.values()) < 0.6  # each modality alone is ~half right
    assert fused > max(unimodal.values()) + 0.2, (fused, unimodal)


@pytest.mark.parametrize("name", METHODS)
def test_the_estimator_contract(data, fitted, name):
    (_, y), (Xt, _) = data
    est = fitted[name]
    assert est.classes_.tolist() == sorted(set(y))
    assert est.modalities_ == ["a", "b"]
    p = est.predict_proba(Xt)
    assert p.shape == (400, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal(est.predict(Xt), est.classes_[p.argmax(axis=1)])
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        clone(est).predict(Xt)


@pytest.mark.parametrize("name", METHODS)
def test_a_missing_modality_at_predict_time(data, fitted, name):
    _, (Xt, yt) = data
    est = fitted[name]
    Xm = drop(drop(Xt, "b", slice(0, 200)), "a", slice(300, 400))
    Xm["a"][:10] = np.nan  # ten rows without any modality
    p = est.predict_proba(Xm)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(p[:10], np.tile(est.prior_, (10, 1)))
    used = est.used_modalities(Xm)
    assert (used[5], used[50], used[250], used[350]) == ([], ["a"], ["a", "b"], ["b"])
    both = est.predict_proba(Xt)
    np.testing.assert_allclose(p[200:300], both[200:300])  # rows with both: unchanged
    # only "a": no better than "a" alone could be (about half right), but still informed
    acc_a = (est.classes_[p[10:200].argmax(1)] == yt[10:200]).mean()
    assert 0.35 < acc_a < 0.7
    # a modality absent from X altogether is missing in every row
    only_a = est.predict_proba({"a": Xt["a"]})
    assert est.used_modalities({"a": Xt["a"]})[0] == ["a"]
    np.testing.assert_allclose(only_a[:200], est.predict_proba(drop(Xt, "b", slice(None)))[:200])


@pytest.mark.parametrize("name", METHODS)
def test_missing_modalities_at_fit_time_and_integer_labels(name):
    X, y = complementary(300, 2)
    X = drop(drop(X, "b", slice(0, 60)), "a", slice(60, 100))
    X["a"][100:105] = np.nan
    X["b"][100:105] = np.nan  # rows without any modality are left out of fit
    codes = np.unique(y, return_inverse=True)[1]
    est = build_fusion(name).fit(X, codes)
    assert est.classes_.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(est.prior_.sum(), 1)
    Xt, yt = complementary(300, 3)
    acc = (est.predict(Xt) == np.unique(yt, return_inverse=True)[1]).mean()
    assert acc > 0.75


@pytest.mark.parametrize("name", METHODS)
def test_transform_gives_the_fused_representation(data, fitted, name):
    (_, _), (Xt, _) = data
    est = fitted[name]
    Z = est.transform(Xt)
    expected = {
        "early_concat": 6 + 5 + 2,  # standardised features + a presence flag per modality
        "early_sum": 4 + 2,  # one column per class + flags
        "early_product": 4 + 2,
    }.get(name, 2 * 4)  # late: each modality's probabilities
    assert Z.shape == (400, expected)
    assert np.isfinite(est.transform(drop(Xt, "a", slice(0, 50)))).all()


@pytest.mark.parametrize("name", METHODS)
def test_save_and_load_round_trip(data, fitted, name, tmp_path):
    (_, _), (Xt, _) = data
    est = fitted[name]
    save_estimator(est, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]
    back = load_estimator(tmp_path)
    assert type(back) is type(est) and back.get_params() == est.get_params()
    Xm = drop(Xt, "a", slice(0, 100))
    np.testing.assert_array_equal(back.predict_proba(Xm), est.predict_proba(Xm))
    assert back.used_modalities(Xm) == est.used_modalities(Xm)
    assert back.classes_.tolist() == est.classes_.tolist()


@pytest.mark.parametrize("name", METHODS)
def test_bad_input_is_a_clear_error(data, fitted, name):
    (X, y), (Xt, _) = data
    est = fitted[name]
    partial = {m: x.copy() for m, x in Xt.items()}
    partial["a"][3, 0] = np.nan
    with pytest.raises(DataError, match="NaN in some columns"):
        est.predict(partial)
    with pytest.raises(UsageError, match="unknown modalities"):
        est.predict({**Xt, "face": Xt["a"]})
    with pytest.raises(DataError, match="columns"):
        est.predict({"a": Xt["a"][:, :3], "b": Xt["b"]})
    with pytest.raises(DataError, match="numbers of rows"):
        est.predict({"a": Xt["a"][:10], "b": Xt["b"]})
    with pytest.raises(UsageError, match="non-empty dict"):
        est.predict({})
    with pytest.raises(DataError, match="two classes"):
        build_fusion(name).fit(X, ["anger"] * len(y))
    with pytest.raises(DataError, match="missing in every row"):
        build_fusion(name).fit(drop(X, "b", slice(None)), y)
    with pytest.raises(DataError, match="shape"):
        build_fusion(name).fit(X, y[:10])


@pytest.mark.parametrize("name", METHODS)
def test_one_modality_is_a_unimodal_baseline(name):
    X, y = complementary(200, 0)
    est = build_fusion(name).fit({"a": X["a"]}, y)
    assert est.predict_proba({"a": X["a"]}).shape == (200, 4)
    if name == "late_mean":  # exactly the modality's own classifier
        clf = build_classifier("logreg").fit(X["a"], y)
        np.testing.assert_allclose(est.predict_proba({"a": X["a"]}), clf.predict_proba(X["a"]))
