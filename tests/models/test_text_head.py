"""TextHead / TextModel (the ``text_head`` architecture) with a fake encoder (fast)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from emofuse.errors import DataError, UsageError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, load_model, save_model
from emofuse.models.registry import ARCHITECTURES
from emofuse.models.text_head import TextHead, TextHeadConfig, TextModel

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


class FakeEncoder:
    """Deterministic pseudo-embeddings from a hash of each text."""

    name, dim = "fake", 16

    def fingerprint(self) -> str:
        return "fake"

    def encode(self, texts):
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], np.uint8) for t in texts]
        return (np.array(rows, dtype=np.float32) / 255.0).reshape(len(texts), self.dim)


def _save_tiny(directory: Path, hidden: int, temperature: float = 1.5) -> TextHead:
    torch.manual_seed(0)
    head = TextHead(TextHeadConfig(in_dim=16, hidden=hidden, dropout=0.0))
    meta = ModelMeta(name="tiny", modality="text", architecture="text_head",
                     config={"in_dim": 16, "hidden": hidden, "dropout": 0.0, "n_classes": 7},
                     labels=list(CANONICAL), preprocessing={"encoder": "minilm"},
                     temperature=temperature)  # fmt: skip
    save_model(head, meta, directory)
    return head.eval()


def test_registered_and_shapes():
    assert ARCHITECTURES["text_head"] is TextHead
    for hidden in (0, 8):
        head = TextHead(TextHeadConfig(in_dim=16, hidden=hidden))
        assert head(torch.zeros(3, 16)).shape == (3, len(CANONICAL))


@pytest.mark.parametrize("hidden", [0, 8])
def test_round_trip_and_predict_proba(tmp_path, hidden):
    head = _save_tiny(tmp_path, hidden)
    model = TextModel.load(tmp_path, encoder=FakeEncoder())
    assert model.labels == list(CANONICAL) and model.meta.temperature == 1.5
    x = torch.rand(5, 16)
    with torch.inference_mode():  # the numpy head (GELU with a 1.5e-7 erf) matches torch
        np.testing.assert_allclose(model.head(x.numpy()), head(x).numpy(), rtol=0, atol=1e-6)
    texts = ["I love this!", "Go away.", "Hm."]
    p = model.predict_proba(texts)
    assert p.shape == (3, 7) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    logits = model.logits(FakeEncoder().encode(texts)) / 1.5
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(p, expected, atol=1e-5)
    assert model.predict_proba([]).shape == (0, 7)


def test_empty_text_is_a_data_error(tmp_path):
    _save_tiny(tmp_path, 0)
    model = TextModel.load(tmp_path, encoder=FakeEncoder())
    for bad in (["ok", ""], ["   \n"]):
        with pytest.raises(DataError, match="empty text"):
            model.predict_proba(bad)


def test_load_rejects_other_folders(tmp_path):
    with pytest.raises(DataError, match=r"model\.json"):
        TextModel.load(tmp_path, encoder=FakeEncoder())


def _save_context_lexical(directory: Path) -> None:
    from emofuse.models.text_lexical import LexicalModel

    torch.manual_seed(0)
    config = {"in_dim": 33, "hidden": 8, "dropout": 0.0, "n_classes": 7, "context": 1}
    head = TextHead(TextHeadConfig(**config))
    texts = ["I love this!", "Go away.", "so sad", "wow!", "gross", "scary", "ok then"] * 2
    lex = LexicalModel.fit(texts, np.arange(14) % 7, np.ones(14), min_df=1)
    meta = ModelMeta(name="tiny-ctx", modality="text", architecture="text_head", config=config,
                     labels=list(CANONICAL), temperature=1.2,
                     preprocessing={"encoder": "minilm", "lexical": {"weight": 1.5},
                                    "logit_bias": [0.1, 0, 0, 0, 0, 0, -0.1]})  # fmt: skip
    save_model(head, meta, directory)
    lex.save(directory)


def test_context_and_lexical_model(tmp_path):
    _save_context_lexical(tmp_path)
    model = TextModel.load(tmp_path, encoder=FakeEncoder())
    assert model.uses_context and model.lexical is not None
    texts = ["I love this!", "Go away."]
    no_ctx = model.predict_proba(texts)
    # Empty / missing context is the same as no context.
    np.testing.assert_allclose(model.predict_proba(texts, context=[[], None]), no_ctx, atol=1e-6)
    p = model.predict_proba(texts, context=[["first", "so sad"], []])
    np.testing.assert_allclose(p[1], no_ctx[1], atol=1e-6)
    enc = FakeEncoder()
    ctx = np.zeros((1, 16), np.float32)
    ctx[0] = enc.encode(["so sad"])[0]
    z = model.logits(enc.encode(texts[:1]), texts[:1], ctx)
    np.testing.assert_allclose(p[:1], np.exp(z / 1.2) / np.exp(z / 1.2).sum(), atol=1e-5)
    # By hand: head([e, e_prev, 1]) + 1.5 * lexical + bias.
    x = torch.as_tensor(np.hstack([enc.encode(texts[:1]), ctx, [[1.0]]]).astype(np.float32))
    head = TextHead(TextHeadConfig(in_dim=33, hidden=8, dropout=0.0, context=1))
    head.load_state_dict(load_model(tmp_path).module.state_dict())
    with torch.inference_mode():
        by_hand = head.eval()(x).numpy() + 1.5 * model.lexical.logits(texts[:1])
    np.testing.assert_allclose(z, by_hand + np.array([0.1, 0, 0, 0, 0, 0, -0.1]), atol=1e-5)
    with pytest.raises(UsageError):
        model.predict_proba(texts, context=[[]])
    with pytest.raises(UsageError):
        model.logits(enc.encode(texts))  # the lexical branch needs the texts
    with pytest.raises(DataError, match="empty text"):
        model.predict_proba([""], context=[["hi"]])


def test_lexical_matches_scikit_learn(tmp_path):
    from functools import partial

    from sklearn.feature_extraction.text import TfidfVectorizer

    from emofuse.models.text_lexical import LexicalModel, analyze

    texts = ["I can't believe it!!", "so so sad today", "what?! no way", "Ew. Gross, gross.",
             "I'm scared", "ok", "love it, love you"]  # fmt: skip
    lex = LexicalModel.fit(texts, np.arange(7), np.ones(7), min_df=1)
    lex.save(tmp_path)
    loaded = LexicalModel.load(tmp_path)
    assert loaded.vocabulary == lex.vocabulary and loaded.settings == lex.settings
    vec = TfidfVectorizer(analyzer=partial(analyze, **lex.settings), sublinear_tf=True,
                          vocabulary={t: i for i, t in enumerate(lex.vocabulary)})  # fmt: skip
    vec.fit(texts)
    probe = [*texts, "never seen words zzz", "!"]
    np.testing.assert_allclose(
        loaded.features(probe).toarray(), vec.transform(probe).toarray(), atol=1e-6
    )
    assert loaded.logits(texts).argmax(1).tolist() == list(range(7))
    by_matrix = loaded.features(probe) @ loaded.coef.T.astype(np.float64) + loaded.intercept
    np.testing.assert_allclose(loaded.logits(probe), by_matrix, atol=1e-5)  # numpy = scipy
    assert loaded.logits([]).shape == (0, 7)
    with pytest.raises(DataError):
        LexicalModel.load(tmp_path / "nowhere")


def test_gelu_matches_torch():
    from emofuse.models.text import gelu

    x = torch.linspace(-8, 8, 2001, dtype=torch.float64)
    want = torch.nn.functional.gelu(x).numpy()
    np.testing.assert_allclose(gelu(x.numpy()), want, rtol=0, atol=1e-6)


def test_context_is_read_once_per_distinct_text(tmp_path):
    """A transcript of n cues embeds about n strings (not n + n), whatever the context size."""
    _save_context_lexical(tmp_path)
    calls = []

    class Counting(FakeEncoder):
        def encode(self, texts):
            calls.append(len(texts))
            return super().encode(texts)

    model = TextModel.load(tmp_path, encoder=Counting())
    texts = [f"line {i}" for i in range(50)]
    context = [texts[:k] for k in range(50)]  # every earlier line, as a naive caller passes
    p = model.predict_proba(texts, context=context)
    assert calls == [50]  # each line is the next one's context: embedded once
    by_last = model.predict_proba(texts, context=[texts[k - 1 : k] for k in range(50)])
    np.testing.assert_allclose(p, by_last, atol=1e-6)  # only the last earlier line is read
