"""MiniLM's ONNX export on a tiny random sentence-transformers model: parity, cache, staleness."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime not installed: pip install 'emofuse[onnx]'")
pytest.importorskip("onnx", reason="onnx not installed: pip install 'emofuse[onnx]'")

from emofuse.encoders.minilm_onnx import (
    INFO_FILE,
    MiniLMOnnx,
    cache_root,
    export_dir,
    find_export,
    load_minilm,
)
from emofuse.encoders.text import MiniLMEncoder, default_model_path
from emofuse.errors import DataError
from emofuse.models.onnx import text_export
from emofuse.models.onnx.text_export import CHECK_TEXTS, export_minilm


@pytest.fixture(scope="module")
def tiny_minilm(tmp_path_factory):
    """A 1-layer, 16-wide BERT with MiniLM's tokenizer, saved as a sentence-transformers folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import AutoTokenizer, BertConfig, BertModel

    root = tmp_path_factory.mktemp("tiny_minilm")
    bert_dir = root / "bert"
    config = BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=512)  # fmt: skip
    BertModel(config).save_pretrained(bert_dir)
    AutoTokenizer.from_pretrained(str(default_model_path())).save_pretrained(bert_dir)
    body = models.Transformer(str(bert_dir), max_seq_length=256)
    pooling = models.Pooling(16, pooling_mode="mean")
    model = SentenceTransformer(modules=[body, pooling, models.Normalize()], device="cpu")
    model.save(str(root / "st"))
    return root / "st"


@pytest.fixture
def exported(tiny_minilm, tmp_path):
    return tiny_minilm, tmp_path / "cache", export_minilm(tiny_minilm, tmp_path / "cache")


def test_export_matches_sentence_transformers(exported):
    path, cache, written = exported
    assert [p.name for p in written] == ["model.onnx", "model.onnx.data", INFO_FILE]
    assert all(p.is_file() and p.is_relative_to(cache) for p in written)
    info = json.loads(written[-1].read_text())
    assert info["max_abs_diff"] < 1e-4 and len(info["weights_sha256"]) == 64
    assert {t["batch"] for t in info["timings"].values()} == {1, 64}
    onnx_enc = MiniLMOnnx(path, find_export(path, cache))
    torch_enc = MiniLMEncoder(str(path))
    texts = [*CHECK_TEXTS, "another one", "x " * 400]  # incl. two past 256 tokens
    want = torch_enc.encode(texts)
    np.testing.assert_allclose(onnx_enc.encode(texts), want, atol=1e-5)
    np.testing.assert_allclose(onnx_enc.encode(texts[::-1]), want[::-1], atol=1e-5)
    assert onnx_enc.encode([]).shape == (0, 16)
    assert onnx_enc.fingerprint() == torch_enc.fingerprint()  # one embedding cache for both


def test_load_minilm_uses_the_export_only_while_the_weights_match(exported, monkeypatch):
    path, cache, _ = exported
    monkeypatch.setenv("EMOFUSE_CACHE", str(cache))
    assert cache_root() == cache
    assert isinstance(load_minilm(path), MiniLMOnnx)
    assert isinstance(load_minilm(path, backend="torch"), MiniLMEncoder)
    weights = path / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # retrained / replaced
    assert find_export(path, cache) is None
    assert isinstance(load_minilm(path), MiniLMEncoder)  # falls back to torch: still correct
    with pytest.raises(DataError, match="export-onnx"):
        load_minilm(path, backend="onnx")
    assert export_dir(path, cache) != export_dir(path, cache / "other")


def test_mismatch_leaves_nothing(tiny_minilm, tmp_path, monkeypatch):
    monkeypatch.setattr(text_export, "TOLERANCE", -1.0)
    with pytest.raises(DataError, match="disagrees"):
        export_minilm(tiny_minilm, tmp_path)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
