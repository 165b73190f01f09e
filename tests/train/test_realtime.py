"""The real-time model as an estimator on raw items: paired rows and videos, save -> Recognizer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emofuse.fusion.base import FUSIONS
from emofuse.labels import CANONICAL
from emofuse.models.realtime import RealtimeModel
from emofuse.train.items import Items, as_items, manifest_items
from emofuse.train.realtime import RealtimeFusion, spec_augment
from tests.fixtures import tone, write_tiny_video

TINY = {"channels": [4, 8, 8], "hidden": 8, "fc": 8, "frames": 2, "batch_size": 16}


def _rows(n: int = 48, seed: int = 0):
    """In-memory paired items: brightness and pitch both tell the class (3 classes)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    rows = []
    for c in y:
        face = np.clip(rng.normal(60 + 60 * c, 20, (48, 48)), 0, 255).astype(np.uint8)
        wave = tone(0.6, 16000, 250.0 + 200 * c)[0] * 0.3
        rows.append({"image": face, "audio": wave.astype(np.float32)})
    return rows, y


def test_fits_paired_items_and_saves_a_recognizer_model(tmp_path):
    assert FUSIONS.get("realtime") is RealtimeFusion
    rows, y = _rows()
    labels = list(CANONICAL)
    est = RealtimeFusion(epochs=4, lr=5e-3, labels=labels, **TINY)
    est.fit({"items": rows[:36]}, y[:36], validation=({"items": rows[36:]}, y[36:]))
    assert len(est.history_) == 4 and est.history_[-1]["loss"] < est.history_[0]["loss"]
    p = est.predict_proba({"items": rows[36:]})
    assert p.shape == (12, 3) and np.allclose(p.sum(1), 1.0)
    assert est.used_modalities({"items": rows[:1]}) == [["face", "video", "voice"]]
    est.save(tmp_path / "av")
    model = RealtimeModel.load(tmp_path / "av", backend="torch")
    assert model.labels == labels[:3] and model.clip_spec.frames == 2
    clip = Items(rows[36:37]).clip(0, model.clip_spec)
    np.testing.assert_allclose(model.predict_proba([clip]), p[:1], atol=1e-5)


def test_a_video_item_is_decoded_once_and_a_missing_sound_is_missing(tmp_path):
    video = write_tiny_video(tmp_path / "v.mp4", seconds=1.5, with_audio=False)
    rows = [{"video": str(video), "start": 0.0, "end": 1.0}, {"video": str(video)}]
    est = RealtimeFusion(epochs=1, **TINY).fit({"items": rows * 3}, np.array([0, 1] * 3))
    assert est.used_modalities({"items": rows}) == [["video"], ["video"]]
    data = est._dataset({"items": rows})
    first = data.clip(0, None)
    assert data.clip(0, np.random.default_rng(0)) is first  # cached, not re-decoded


def test_items_from_a_manifest(tmp_path):
    from emofuse.data.manifest import Manifest

    cv2.imwrite(str(tmp_path / "f.png"), np.zeros((48, 48), np.uint8))
    m = Manifest.from_records(
        [{"id": "a", "corpus": "x", "image": "f.png", "text": "hi", "label": "happiness"}],
        root=tmp_path,
    )
    (item,) = manifest_items(m)
    assert item == {"id": "a", "text": "hi", "image": str(tmp_path / "f.png")}
    assert as_items({"items": [item]}).image(0).shape[:2] == (48, 48)
    with pytest.raises(Exception, match="items"):
        as_items({"voice": [item]})


def test_spec_augment_masks_a_band_and_a_span():
    import torch

    mel = torch.from_numpy(np.random.default_rng(0).normal(size=(64, 200)).astype(np.float32))
    out = spec_augment(mel, np.random.default_rng(3))
    kept = (out == mel).float().mean()
    assert out.shape == (64, 200) and 0.7 < kept < 1.0  # at most 8 bins and 10% of frames
