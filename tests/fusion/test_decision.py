import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.fusion import MeanFusion, ProbProductFusion, WeightedFusion
from emofuse.fusion.decision import simplex_grid
from tests.fusion.synthetic import complementary, drop


def test_mean_and_product_combine_the_unimodal_probabilities():
    X, y = complementary(200, 0)
    Xt = drop(complementary(100, 1)[0], "b", slice(0, 10))
    mean, prod = MeanFusion().fit(X, y), ProbProductFusion().fit(X, y)
    u = mean.unimodal_proba(Xt)
    assert np.isnan(u["b"][:10]).all() and not np.isnan(u["b"][10:]).any()
    np.testing.assert_allclose(mean.predict_proba(Xt)[10:], (u["a"][10:] + u["b"][10:]) / 2)
    np.testing.assert_allclose(mean.predict_proba(Xt)[:10], u["a"][:10])  # renormalised
    g = np.sqrt(np.clip(u["a"], 1e-6, None) * np.clip(u["b"], 1e-6, None))[10:]
    np.testing.assert_allclose(prod.predict_proba(Xt)[10:], g / g.sum(1, keepdims=True))
    np.testing.assert_allclose(mean.transform(Xt)[:10, 4:], 0.25)  # missing -> uniform


def test_weighted_fusion_learns_to_trust_the_informative_modality():
    X, y = complementary(300, 0)
    rng = np.random.default_rng(0)
    X["noise"] = rng.normal(size=(300, 4)).astype(np.float32)
    est = WeightedFusion(step=0.1).fit(X, y)
    assert set(est.weights_) == {"a", "b", "noise"}
    assert est.weights_["noise"] < min(est.weights_["a"], est.weights_["b"])
    assert sum(est.weights_.values()) == pytest.approx(1.0)


def test_a_modality_with_weight_zero_is_not_used():
    X, y = complementary(300, 0)
    X["noise"] = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32)
    est = WeightedFusion(step=0.5).fit(X, y)  # weights in {0, 0.5, 1}
    assert est.weights_ == {"a": 0.5, "b": 0.5, "noise": 0.0}
    assert est.used_modalities(X)[0] == ["a", "b"]
    only_noise = {"noise": X["noise"][:5]}  # nothing else: the fallback is the noise alone
    assert est.used_modalities(only_noise)[0] == ["noise"]
    np.testing.assert_allclose(
        est.predict_proba(only_noise), est.unimodal_proba(only_noise)["noise"]
    )


def test_simplex_grid():
    grid = simplex_grid(3, 0.1)
    assert grid.shape == (66, 3)  # C(12, 2)
    np.testing.assert_allclose(grid.sum(axis=1), 1)
    assert (grid >= 0).all() and len({tuple(r) for r in grid}) == 66
    np.testing.assert_allclose(sorted(grid[0]), [0.3, 0.3, 0.4], atol=1e-12)  # most even first
    np.testing.assert_allclose(simplex_grid(1, 0.1), [[1.0]])
    with pytest.raises(UsageError, match="larger step"):
        simplex_grid(8, 0.01)
    with pytest.raises(UsageError, match="step"):
        simplex_grid(2, 0)
