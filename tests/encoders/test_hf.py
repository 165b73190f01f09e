"""Hugging Face encoders on tiny random models built from config (no downloads)."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.encoders.base import build_encoder
from emofuse.errors import DataError, UsageError

transformers = pytest.importorskip("transformers", reason="extra 'hf' not installed")
torch = pytest.importorskip("torch")

from tests.encoders.conftest import speech_dir  # noqa: E402

TEXTS = ["i am so happy today", "what a sad day", "angry"]


def test_hf_text_shapes_pooling_layers_and_determinism(bert_dir):
    enc = build_encoder("hf_text", model=str(bert_dir))
    assert enc.modality == "text" and enc.dim == 16
    x = enc.encode(TEXTS)
    assert x.shape == (3, 16) and x.dtype == np.float32
    np.testing.assert_array_equal(x, enc.encode(TEXTS))  # deterministic (eval mode)
    np.testing.assert_allclose(x[2], enc.encode(["angry"])[0], atol=1e-5)  # padding ignored
    cls = build_encoder("hf_text", model=str(bert_dir), pooling="cls").encode(TEXTS)
    first = build_encoder("hf_text", model=str(bert_dir), layer="0").encode(TEXTS)
    assert not np.allclose(cls, x) and not np.allclose(first, x)
    normed = build_encoder("hf_text", model=str(bert_dir), normalize=True).encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1.0, atol=1e-5)
    assert enc.encode([]).shape == (0, 16)
    with pytest.raises(UsageError, match="layer 7 out of range"):
        build_encoder("hf_text", model=str(bert_dir), layer=7).encode(TEXTS)
    assert enc.fingerprint() != build_encoder("hf_text", model=str(bert_dir), layer=1).fingerprint()
    assert (
        enc.fingerprint()
        == build_encoder("hf_text", model=str(bert_dir), batch_size=1).fingerprint()
    )


def test_hf_text_t5_encoder(t5_dir):
    enc = build_encoder("hf_text", model=str(t5_dir), pooling="mean")
    x = enc.encode(TEXTS)
    assert x.shape == (3, 16) and enc.dim == 16 and np.isfinite(x).all()


def test_uncached_hub_id_and_missing_folder_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = build_encoder("hf_text", model="nobody/no-such-model")
    with pytest.raises(DataError, match=r"never downloads.*model=/path/to/folder"):
        enc.encode(["hi"])
    with pytest.raises(DataError, match="no model folder"):
        build_encoder("hf_speech", model=str(tmp_path / "missing")).encode([np.zeros(800)])
    with pytest.raises(UsageError, match="needs model="):
        build_encoder("hf_image").dim  # noqa: B018


def test_hf_speech_chunks_long_audio(wav2vec2_dir):
    enc = build_encoder("hf_speech", model=str(wav2vec2_dir), chunk_seconds=0.5)
    rng = np.random.default_rng(0)
    short, long = (rng.standard_normal(n).astype("float32") * 0.1 for n in (4000, 20000))
    x = enc.encode([short, long, np.zeros(100, "float32")])
    assert x.shape == (3, 16) == (3, enc.dim) and np.isfinite(x).all()
    np.testing.assert_array_equal(enc.encode([long]), enc.encode([long]))
    # 20000 samples in 8000-sample windows: [0,8000), [8000,16000), end-aligned [12000,20000)
    windows = [long[0:8000], long[8000:16000], long[12000:20000]]
    np.testing.assert_allclose(
        enc.encode([long])[0], enc.encode(windows).mean(0), rtol=1e-4, atol=1e-5
    )
    whole = build_encoder("hf_speech", model=str(wav2vec2_dir), chunk_seconds=30)
    assert not np.allclose(whole.encode([long]), enc.encode([long]))
    mid = build_encoder("hf_speech", model=str(wav2vec2_dir), layer=1).encode([short])
    assert mid.shape == (1, 16)


def test_hf_speech_hubert(tmp_path):
    folder = speech_dir(tmp_path / "hubert", "hubert")
    x = build_encoder("hf_speech", model=str(folder)).encode([np.ones(3200, "float32") * 0.1])
    assert x.shape == (1, 16) and np.isfinite(x).all()


def test_hf_image_vit(vit_dir):
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), np.zeros((48, 48), np.uint8)]
    for pooling in ("cls", "mean", "pooled"):
        enc = build_encoder("hf_image", model=str(vit_dir), pooling=pooling)
        x = enc.encode(imgs)
        assert x.shape == (2, 16) == (2, enc.dim) and np.isfinite(x).all()
        np.testing.assert_array_equal(x, enc.encode(imgs))


def test_hf_image_clip_vision_tower(clip_dir):
    enc = build_encoder("hf_image", model=str(clip_dir), pooling="pooled")
    x = enc.encode([np.full((32, 32, 3), 128, np.uint8)])
    assert x.shape == (1, 16) and enc.dim == 16


def test_hf_video_samples_frames(videomae_dir):
    enc = build_encoder("hf_video", model=str(videomae_dir))
    assert enc.num_frames == 4 and enc.dim == 16
    rng = np.random.default_rng(0)
    clip = [rng.integers(0, 256, (36, 36, 3), dtype=np.uint8) for _ in range(10)]
    x = enc.encode([clip, clip[:2]])
    assert x.shape == (2, 16) and np.isfinite(x).all()
    # uniform sampling: frames 0, 3, 6, 9 of the clip
    np.testing.assert_allclose(x[0], enc.encode([[clip[k] for k in (0, 3, 6, 9)]])[0], atol=1e-5)


def test_clip_zeroshot_probabilities(clip_dir):
    enc = build_encoder("clip_zeroshot", model=str(clip_dir))
    assert enc.dim == 7 and enc.prompts()[1] == "a photo of a happy face"
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(3)]
    x = enc.encode([frames, frames[0]])
    assert x.shape == (2, 7)
    np.testing.assert_allclose(x.sum(1), 1.0, atol=1e-5)
    p = enc.frame_probs(frames)
    w = p.max(1)
    np.testing.assert_allclose(x[0], (w[:, None] * p).sum(0) / w.sum(), atol=1e-6)
    np.testing.assert_allclose(x[1], p[0], atol=1e-6)


def test_hf_text_token_sequences_drop_padding(bert_dir):
    enc = build_encoder("hf_text", model=str(bert_dir), layer=1)
    seqs = enc.encode_sequence(TEXTS)
    assert [s.shape for s in seqs] == [(7, 16), (6, 16), (3, 16)]  # [CLS] words [SEP]
    np.testing.assert_allclose(enc.encode_sequence(["angry"])[0], seqs[2], atol=1e-5)
    np.testing.assert_allclose(enc.encode(TEXTS), np.stack([s.mean(0) for s in seqs]), atol=1e-5)


def test_hf_speech_frame_sequences(wav2vec2_dir):
    enc = build_encoder("hf_speech", model=str(wav2vec2_dir), chunk_seconds=0.5)
    rng = np.random.default_rng(0)
    wave = (rng.standard_normal(20000) * 0.1).astype("float32")
    (seq,) = enc.encode_sequence([wave])
    parts = enc.encode_sequence([wave[:8000], wave[8000:16000], wave[16000:]])
    assert enc.sequence_hop == 20 / 16000  # strides 5 * 4 samples
    assert seq.shape == (sum(len(p) for p in parts), 16)  # consecutive windows, no overlap
    np.testing.assert_allclose(seq, np.concatenate(parts), atol=1e-5)
