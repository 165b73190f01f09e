"""FaceCNN / FaceModel: tiny builds, artefact round trip, probabilities, TTA, size, errors."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from emofuse.errors import DataError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, load_model, save_model
from emofuse.models.face_cnn import DEFAULT_DIR, FaceCNN, FaceCNNConfig, FaceModel

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
FER = SHARED / "data" / "fer2013"
TINY = FaceCNNConfig(widths=[4, 8, 8], depths=[1, 1, 1])


def _save_tiny(directory: Path, tta_flip: bool = False, temperature: float = 1.0) -> Path:
    torch.manual_seed(0)
    net = FaceCNN(TINY)
    meta = ModelMeta(
        name="tiny-face",
        modality="face",
        architecture="face_cnn",
        config=asdict(TINY),
        labels=list(CANONICAL),
        preprocessing={
            "size": 48,
            "grayscale": True,
            "mean": 0.5,
            "std": 0.25,
            "tta_flip": tta_flip,
        },
        temperature=temperature,
    )
    return save_model(net, meta, directory)


def _crops(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def test_forward_shape_and_registry():
    from emofuse.models.registry import ARCHITECTURES

    assert ARCHITECTURES["face_cnn"] is FaceCNN
    net = FaceCNN(TINY).eval()
    assert net(torch.zeros(3, 1, 48, 48)).shape == (3, len(CANONICAL))


def test_artifact_round_trip_gives_identical_outputs(tmp_path):
    directory = _save_tiny(tmp_path / "face")
    x = torch.randn(4, 1, 48, 48)
    torch.manual_seed(0)
    original = FaceCNN(TINY).eval()
    loaded = load_model(directory)
    assert loaded.meta.config == asdict(TINY) and loaded.meta.labels == list(CANONICAL)
    with torch.inference_mode():
        assert torch.equal(original(x), loaded.module(x))
    model = FaceModel.load(directory)  # BatchNorm folded into the convs: same outputs
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.module.modules())
    with torch.inference_mode():
        assert torch.allclose(model.module(x), original(x), atol=1e-5)


def test_predict_proba_shapes_and_sums(tmp_path):
    model = FaceModel.load(_save_tiny(tmp_path / "face"))
    assert model.labels == list(CANONICAL)
    crops = _crops(5)
    probs = model.predict_proba(crops)
    assert probs.shape == (5, 7) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(model.predict_proba(crops[0]), probs[:1], atol=1e-6)
    assert model.predict_proba(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)


def test_batching_does_not_change_results(tmp_path):
    model = FaceModel.load(_save_tiny(tmp_path / "face"))
    crops = _crops(7)
    whole = model.predict_proba(crops)
    model.batch_size = 3
    np.testing.assert_allclose(model.predict_proba(crops), whole, atol=1e-6)


def test_temperature_softens(tmp_path):
    cold = FaceModel.load(_save_tiny(tmp_path / "a", temperature=0.5))
    hot = FaceModel.load(_save_tiny(tmp_path / "b", temperature=5.0))
    crops = _crops(6)
    assert (hot.predict_proba(crops).max(1) < cold.predict_proba(crops).max(1)).all()
    np.testing.assert_array_equal(
        hot.predict_proba(crops).argmax(1), cold.predict_proba(crops).argmax(1)
    )


def test_tta_flip_is_mirror_invariant(tmp_path):
    model = FaceModel.load(_save_tiny(tmp_path / "face", tta_flip=True))
    crops = _crops(3)
    np.testing.assert_allclose(
        model.predict_proba(crops), model.predict_proba(crops[:, :, ::-1]), atol=1e-5
    )


def test_bad_input_and_missing_model(tmp_path):
    model = FaceModel.load(_save_tiny(tmp_path / "face"))
    with pytest.raises(DataError, match="48"):
        model.predict_proba(np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(DataError, match="no face model"):
        FaceModel.load(tmp_path / "empty")
    meta = ModelMeta(
        name="x", modality="voice", architecture="voice_cnn", config={}, labels=list(CANONICAL)
    )
    save_model(FaceCNN(TINY), meta, tmp_path / "voice")
    (tmp_path / "voice" / "model.json").write_text(
        (tmp_path / "voice" / "model.json").read_text().replace('"face_cnn"', '"voice_cnn"')
    )
    with pytest.raises(DataError, match="voice_cnn"):
        FaceModel.load(tmp_path / "voice")


def test_default_config_fits_size_and_shape():
    net = FaceCNN(FaceCNNConfig())
    n_bytes = sum(p.numel() * 4 for p in net.state_dict().values() if p.is_floating_point())
    assert n_bytes < 10e6
    assert net.eval()(torch.zeros(1, 1, 48, 48)).shape == (1, 7)


@pytest.mark.integration
def test_shipped_weights_beat_chance():
    if not (DEFAULT_DIR / "model.json").is_file():
        pytest.skip(f"no shipped face weights in {DEFAULT_DIR}")
    if not FER.is_dir():
        pytest.skip(f"real data absent: {FER} (the repository's sibling ../shared)")
    from emofuse.train.face import evaluate_face

    metrics = evaluate_face(None, FER, limit=700)
    assert metrics["n"] == 700
    assert metrics["accuracy"] > 0.45
    assert FaceModel.load().meta.metrics["validation"]["accuracy"] > 0.45
