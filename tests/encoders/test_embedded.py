"""Encoders without extras: log-mel statistics and the default models' embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.encoders.base import build_encoder
from emofuse.errors import DataError


def _wave(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(16000 * seconds)) * 0.1).astype("float32")


def test_logmel_stats():
    enc = build_encoder("logmel_stats", n_mels="32")
    assert enc.dim == 64 and enc.modality == "voice"
    x = enc.encode([_wave(1.0), _wave(2.5, 1)])
    assert x.shape == (2, 64) and x.dtype == np.float32 and np.isfinite(x).all()
    np.testing.assert_array_equal(x, enc.encode([_wave(1.0), _wave(2.5, 1)]))
    assert (x[:, 32:] >= 0).all()  # the std half
    assert enc.encode([]).shape == (0, 64)
    with pytest.raises(DataError):
        enc.encode([np.zeros((2, 100), "float32")])
    assert enc.fingerprint() != build_encoder("logmel_stats").fingerprint()


def test_default_face_embeddings(tiny_models):
    enc = build_encoder("default_face", model_dir=str(tiny_models / "face"))
    assert enc.dim == 8 and enc.modality == "face"  # the tiny net's last width
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    x = enc.encode([gray, rgb, rng.integers(0, 256, (96, 80, 3), dtype=np.uint8)])
    assert x.shape == (3, 8) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], x[1], atol=1e-5)  # RGB is converted to gray
    np.testing.assert_array_equal(x[:2], enc.encode([gray, rgb]))
    assert len(enc.fingerprint()) == 16
    # the embedding is what the final linear layer sees
    from emofuse.models.face_cnn import FaceModel

    model = FaceModel.load(tiny_models / "face", backend="torch")
    linear = model.module.head[-1]
    logits = x[:1] @ linear.weight.detach().numpy().T + linear.bias.detach().numpy()
    np.testing.assert_allclose(logits, model.logits(gray[None]), atol=1e-4)


def test_default_voice_embeddings(tiny_models):
    enc = build_encoder("default_voice", model_dir=str(tiny_models / "voice"))
    assert enc.dim == 16 and enc.modality == "voice"  # 2 * embed (mean + std)
    x = enc.encode([_wave(1.0), _wave(9.0, 1)])  # the long one is windowed (max 4 s)
    assert x.shape == (2, 16) and np.isfinite(x).all()
    np.testing.assert_array_equal(x, enc.encode([_wave(1.0), _wave(9.0, 1)]))
    from emofuse.models.voice_cnn import VoiceModel

    model = VoiceModel.load(tiny_models / "voice", backend="torch")
    linear = model.module.head[-1]
    logits = x[:1] @ linear.weight.detach().numpy().T + linear.bias.detach().numpy()
    np.testing.assert_allclose(logits, model.chunk_logits([_wave(1.0)])[0], atol=1e-4)
    with pytest.raises(DataError, match="too short"):
        enc.encode([_wave(0.1)])


def test_bundled_default_models_load():
    for name, dim in (("default_face", 512), ("default_voice", 2 * 256)):  # voice: 2 members
        enc = build_encoder(name)
        assert enc.dim == dim
    voice = build_encoder("default_voice")
    emb = voice.encode([_wave(1.0), _wave(2.0, 1)])
    assert emb.shape == (2, 512) and np.isfinite(emb).all()
    assert not np.allclose(emb[:, :256], emb[:, 256:])  # each member's own embedding


def test_logmel_frames_are_the_sequence():
    enc = build_encoder("logmel_stats", n_mels=16, hop=320)
    seqs = enc.encode_sequence([_wave(1.0), _wave(0.5, 1)])
    assert [s.shape for s in seqs] == [(1 + 16000 // 320, 16), (1 + 8000 // 320, 16)]
    assert enc.sequence_dim == 16 and enc.sequence_hop == 0.02
    from emofuse.media.audio_features import log_mel

    np.testing.assert_allclose(seqs[0], log_mel(_wave(1.0), 16000, 400, 320, 16).numpy().T)


def test_default_face_takes_a_list_of_crops(tiny_models):
    enc = build_encoder("default_face", model_dir=str(tiny_models / "face"))
    rng = np.random.default_rng(1)
    crops = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(3)]
    per_crop = enc.encode(crops)
    seqs = enc.encode_sequence([crops, crops[0], np.stack(crops[1:])])
    assert [s.shape for s in seqs] == [(3, 8), (1, 8), (2, 8)]
    np.testing.assert_allclose(seqs[0], per_crop, atol=1e-5)
    pooled = enc.encode([crops, crops[0]])
    np.testing.assert_allclose(pooled[0], per_crop.mean(0), atol=1e-5)
    np.testing.assert_allclose(pooled[1], per_crop[0], atol=1e-5)
    with pytest.raises(DataError, match="no frames"):
        enc.encode([[]])
