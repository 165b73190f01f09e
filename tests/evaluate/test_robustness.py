import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.evaluate.robustness import FACE_PERTURBATIONS, perturb_faces


def _faces() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (2, 48, 48)).astype(np.uint8)


@pytest.mark.parametrize("name", list(FACE_PERTURBATIONS))
def test_every_perturbation_keeps_shape_and_dtype_and_changes_the_crops(name):
    crops = _faces()
    out = perturb_faces(crops, name)
    assert out.shape == crops.shape and out.dtype == np.uint8
    assert not np.array_equal(out, crops)


def test_low_light_darkens_and_small_faces_lose_detail():
    crops = _faces()
    assert perturb_faces(crops, "low_light").mean() < 0.4 * crops.mean()
    assert np.array_equal(perturb_faces(crops, "low_light"), perturb_faces(crops, "low_light"))
    detail = [
        float(np.abs(np.diff(perturb_faces(crops, n).astype(float), axis=2)).mean())
        for n in ("small24", "small16")
    ]
    assert detail[1] < detail[0] < float(np.abs(np.diff(crops.astype(float), axis=2)).mean())


def test_unknown_perturbation_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown face perturbation"):
        perturb_faces(_faces(), "fog")
