import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.fusion import ConcatFusion, ProductFusion, SumFusion
from tests.fusion.synthetic import complementary, drop


def accuracy(est, X, y):
    return (est.predict(X) == y).mean()


def test_concat_standardises_each_modality_and_flags_missing_rows():
    X, y = complementary(200, 0)
    X["a"] = X["a"] * 100 + 7
    est = ConcatFusion().fit(X, y)
    Z = est.transform(drop(X, "b", slice(0, 20)))
    np.testing.assert_allclose(Z[20:, :6].mean(axis=0), 0, atol=0.1)
    np.testing.assert_allclose(Z[:, :6].std(axis=0), 1, atol=0.1)
    assert (Z[:20, 6:11] == 0).all() and (Z[:20, 12] == 0).all() and (Z[20:, 11:] == 1).all()


@pytest.mark.parametrize("cls", [SumFusion, ProductFusion])
def test_linear_projection_is_one_column_per_class(cls):
    X, y = complementary(300, 0)
    est = cls().fit(X, y)
    assert {m: w.shape for m, w in est.projection_.items()} == {"a": (6, 4), "b": (5, 4)}
    # a missing modality takes its mean projection (about the class prior)
    np.testing.assert_allclose(est.fill_["a"], est.prior_, atol=0.05)
    Xt, yt = complementary(300, 1)
    assert accuracy(est, Xt, yt) > 0.8


def test_sum_of_pca_projections_beats_each_modality():
    X, y = complementary(400, 0)
    Xt, yt = complementary(400, 1)
    est = SumFusion(projection="pca", dim=3).fit(X, y)
    assert est.projection_["a"].shape == (6, 3)
    assert est.transform(Xt).shape == (400, 3 + 2)
    # a + b on the leading component: classes 0 and 3 apart, 1 and 2 together (~75%)
    assert accuracy(est, Xt, yt) > 0.65


def test_pca_size_is_capped_by_the_smallest_modality():
    X, y = complementary(100, 0)
    est = ProductFusion(projection="pca", dim=64).fit(X, y)
    assert est.projection_["a"].shape == (6, 5)  # b has 5 columns


def test_pca_projection_is_whitened():
    X, y = complementary(500, 0)
    est = SumFusion(projection="pca", dim=4).fit(X, y)
    P = X["a"] @ est.projection_["a"] + est.offset_["a"]
    np.testing.assert_allclose(P.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(np.cov(P.T), np.eye(4), atol=0.01)


def test_bad_projection_settings():
    X, y = complementary(50, 0)
    with pytest.raises(UsageError, match="projection"):
        SumFusion(projection="umap").fit(X, y)
    with pytest.raises(UsageError, match="dim"):
        SumFusion(dim=0).fit(X, y)
