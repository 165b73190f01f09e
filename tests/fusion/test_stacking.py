import numpy as np

from emofuse.fusion import StackingFusion
from tests.fusion.synthetic import complementary, drop


def test_meta_features_are_probabilities_plus_a_missing_indicator():
    X, y = complementary(200, 0)
    est = StackingFusion(cv=3).fit(X, y)
    u = est.unimodal_proba(drop(X, "a", slice(0, 5)))
    F = est._meta_features(u)
    assert F.shape == (200, 2 * (4 + 1))
    np.testing.assert_allclose(F[:5, :4], 0.25)
    assert (F[:5, 4] == 1).all() and (F[5:, 4] == 0).all() and (F[:, 9] == 0).all()


def test_stacking_learns_from_rows_with_a_missing_modality():
    X, y = complementary(600, 0)
    X = drop(X, "b", slice(0, 200))
    est = StackingFusion().fit(X, y)
    Xt, yt = complementary(400, 1)
    only_a = drop(Xt, "b", slice(None))
    acc_both = (est.predict(Xt) == yt).mean()
    acc_a = (est.predict(only_a) == yt).mean()
    assert acc_both > 0.85 and 0.35 < acc_a < 0.65


def test_a_non_default_meta_classifier():
    X, y = complementary(200, 0)
    est = StackingFusion(meta_classifier="mlp", meta_params={"hidden": 8}, cv=2).fit(X, y)
    assert est.meta_.named_steps["model"].hidden_layer_sizes == (8,)
    assert est.predict_proba(X).shape == (200, 4)
