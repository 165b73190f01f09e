"""train_face on a generated FER2013 layout: artefact, determinism, resume, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from emofuse.labels import CANONICAL, MAPPINGS
from emofuse.models.face_cnn import FaceModel
from emofuse.train.face import evaluate_face, load_split, train_face

TINY = {"widths": [4, 8], "depths": [1, 1]}
METRIC_KEYS = {
    "n", "accuracy", "uar", "weighted_f1", "macro_f1", "per_class", "confusion", "ece_before",
    "ece_after",
}  # fmt: skip


@pytest.fixture(scope="module")
def fer_root(tmp_path_factory) -> Path:
    """A FER-layout folder: 10 (train) or 3 (validation) random 48x48 jpgs per label."""
    root = tmp_path_factory.mktemp("fer")
    rng = np.random.default_rng(0)
    for split in ("train", "validation"):
        for label in MAPPINGS["fer2013"]:
            (root / split / label).mkdir(parents=True)
            for i in range(10 if split == "train" else 3):
                img = rng.integers(0, 256, (48, 48), dtype=np.uint8)
                cv2.imwrite(str(root / split / label / f"{label}_{i}.jpg"), img)
    return root


def _train(root: Path, out: Path, **kw):
    kw = {"epochs": 1, **kw}
    return train_face(root, out, batch_size=8, config=TINY, threads=1, progress=False, **kw)


def test_smoke_writes_artefact_and_metrics(fer_root, tmp_path):
    info = _train(fer_root, tmp_path / "face")
    out = tmp_path / "face"
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.safetensors"]
    assert set(info["metrics"]) == METRIC_KEYS and info["selected_epoch"] == 1
    meta = json.loads((out / "model.json").read_text())
    assert meta["name"] == "face-fer2013-cnn" and meta["architecture"] == "face_cnn"
    assert meta["labels"] == list(CANONICAL)
    assert {"size", "grayscale", "mean", "std", "tta_flip", "crop"} <= set(meta["preprocessing"])
    assert meta["training"]["recipe"] == "emofuse.train.face"
    assert meta["training"]["epochs"] == 1 and len(meta["training"]["history"]) == 1
    assert set(meta["metrics"]["validation"]) == METRIC_KEYS
    assert meta["metrics"]["validation"]["n"] == 21
    assert meta["temperature"] > 0
    probs = FaceModel.load(out).predict_proba(load_split(fer_root, "validation")[0])
    assert probs.shape == (21, 7)
    evaluated = evaluate_face(out, fer_root)
    assert evaluated["accuracy"] == pytest.approx(info["metrics"]["accuracy"])
    assert "ece" in evaluated


def test_limit_and_determinism(fer_root, tmp_path):
    _train(fer_root, tmp_path / "a", limit=10, seed=3)
    _train(fer_root, tmp_path / "b", limit=10, seed=3)
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    meta = json.loads((tmp_path / "a" / "model.json").read_text())
    assert meta["metrics"]["validation"]["n"] == 10
    assert meta["training"]["history"][0]["items"] == 9  # 1 of the 10 is held out
    assert meta["metrics"]["holdout"]["n"] == 1


def test_resumes_from_its_checkpoint(fer_root, tmp_path, monkeypatch):
    """A run stopped after epoch 1 continues at epoch 2 and ends where a straight run does."""
    from emofuse.train import face

    _train(fer_root, tmp_path / "straight", epochs=2, limit=14, seed=1)
    real_fit = face.fit

    def stop_after_one_epoch(*args, **kw):
        calls = []

        def evaluate(model, epoch):
            calls.append(epoch)
            if epoch == 2:
                raise KeyboardInterrupt  # the process dies before epoch 2 is recorded
            return kw["evaluate"](model, epoch)

        return real_fit(*args, **{**kw, "evaluate": evaluate})

    monkeypatch.setattr(face, "fit", stop_after_one_epoch)
    with pytest.raises(KeyboardInterrupt):
        _train(fer_root, tmp_path / "resumed", epochs=2, limit=14, seed=1)
    assert (tmp_path / "resumed" / "checkpoint" / "fit.safetensors").is_file()
    monkeypatch.setattr(face, "fit", real_fit)
    info = _train(fer_root, tmp_path / "resumed", epochs=2, limit=14, seed=1)
    assert [h["epoch"] for h in info["history"]] == [1, 2]
    assert not (tmp_path / "resumed" / "checkpoint").exists()  # removed once saved
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
