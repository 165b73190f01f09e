"""Shared fixtures: tiny random default-model folders built from config (no real weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.fusion import LateFusion
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, save_model
from tests.fixtures import save_tiny_finetuned, write_tiny_bert


def build_tiny_models(root: Path) -> Path:
    """A model folder shaped like ``emofuse/weights`` with tiny random networks (the text
    model: a fine-tuned one over a tiny random BERT written beside ``root``)."""
    import torch

    from emofuse.models.face_cnn import FaceCNN, FaceCNNConfig
    from emofuse.models.voice_cnn import VoiceCNN, VoiceCNNConfig

    torch.manual_seed(0)
    labels = list(CANONICAL)
    nets = {
        "face": (
            FaceCNN(FaceCNNConfig(widths=[4, 8], depths=[1, 1])),
            {"size": 48, "mean": 0.5, "std": 0.25, "tta_flip": False},
        ),
        "voice": (
            VoiceCNN(VoiceCNNConfig(channels=[4, 8], embed=8, attention=4)),
            {"sample_rate": 16000, "n_fft": 400, "hop": 160, "n_mels": 64, "max_seconds": 4.0},
        ),
    }
    for modality, (net, prep) in nets.items():
        meta = ModelMeta(
            name=f"tiny-{modality}",
            modality=modality,
            architecture=net.architecture,
            config=net.config.__dict__,
            labels=labels,
            preprocessing=prep,
        )
        save_model(net, meta, root / modality)
    save_tiny_finetuned(write_tiny_bert(root.with_name(root.name + "_bert")), root / "text")
    LateFusion(weights={"face": 0.3, "voice": 0.3, "text": 0.4}).save(root / "fusion.json")
    return root


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    return build_tiny_models(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny random BERT folder (the base of fine-tuned text model tests)."""
    return write_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))
