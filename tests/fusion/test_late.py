import numpy as np
import pytest

from emofuse.errors import DataError
from emofuse.fusion import LateFusion


def test_weighted_average_and_missing_modality_renormalises():
    fusion = LateFusion(weights={"face": 0.2, "voice": 0.3, "text": 0.5})
    face, voice = np.array([[0.9, 0.1]]), np.array([[0.1, 0.9]])
    both = fusion.predict_proba({"face": face, "voice": voice, "text": None})
    np.testing.assert_allclose(both, [[0.4 * 0.9 + 0.6 * 0.1, 0.4 * 0.1 + 0.6 * 0.9]])
    np.testing.assert_allclose(fusion.predict_proba({"face": face}), face)


def test_nothing_to_fuse_is_a_clear_error():
    with pytest.raises(DataError, match="no modality"):
        LateFusion(weights={"face": 1.0}).predict_proba({"face": None})


def test_fit_finds_the_informative_modality():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    good = np.eye(3)[y] * 0.6 + 0.4 / 3  # always right
    noise = rng.dirichlet(np.ones(3), 300)  # uninformative, often confident
    fusion = LateFusion(step=0.1).fit({"good": good, "noise": noise}, y)
    assert fusion.weights_["good"] > fusion.weights_["noise"]
    assert (fusion.predict_proba({"good": good, "noise": noise}).argmax(1) == y).mean() == 1.0


def test_unfitted_fusion_says_so():
    with pytest.raises(DataError, match="fit"):
        LateFusion().predict_proba({"face": np.ones((1, 2))})


def test_save_load_round_trip(tmp_path):
    LateFusion(weights={"face": 0.25, "text": 0.75}).save(tmp_path / "fusion.json", tuned_on="x")
    assert LateFusion.load(tmp_path / "fusion.json").weights_ == {"face": 0.25, "text": 0.75}
