import pytest

from emofuse.errors import UsageError
from emofuse.fusion import FUSIONS, SumFusion, WeightedFusion, build_fusion


def test_build_fusion_converts_parameters_and_forwards_the_classifier():
    est = build_fusion("early_sum", classifier="rbf_svm", classifier_params={"C": "2"},
                       projection="pca", dim="8", cv="3")  # fmt: skip
    assert isinstance(est, SumFusion)
    assert (est.classifier, est.classifier_params) == ("rbf_svm", {"C": "2"})
    assert (est.projection, est.dim, est.cv) == ("pca", 8, 3)
    assert build_fusion("late_weighted", step="0.25").step == 0.25
    assert type(FUSIONS.get("late_weighted")) is type(WeightedFusion)


def test_build_fusion_rejects_what_it_does_not_know():
    with pytest.raises(UsageError, match="unknown fusion 'early_mean'"):
        build_fusion("early_mean")
    with pytest.raises(UsageError, match="no parameter 'step'"):
        build_fusion("late_mean", step=0.1)
    with pytest.raises(UsageError, match="projection"):
        build_fusion("early_product", projection="umap")
    with pytest.raises(UsageError, match="unknown classifier"):
        build_fusion("late_mean", classifier="svm")
    with pytest.raises(UsageError, match="no field"):
        build_fusion("late_mean", classifier="logreg", classifier_params={"depth": 3})
