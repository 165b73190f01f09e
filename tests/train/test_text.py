"""Smoke test of the text recipe on generated MELD + GoEmotions files (fake encoder, 1 epoch)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.models.text_head import TextModel
from emofuse.train.text import evaluate_text, train_text
from tests.data.datasets.test_goemotions import write_goemotions
from tests.data.datasets.test_meld import write_meld_csv
from tests.models.test_text_head import FakeEncoder
from tests.train.test_text_data import GOEMO_LINES, MELD_ROWS, StoreEncoder


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    for split in ("train", "dev"):
        write_meld_csv(root / "meld" / f"{split}_sent_emo.csv", MELD_ROWS)
        write_goemotions(root / "goemotions", split, GOEMO_LINES)
    return root


def test_train_text_smoke(tmp_path, data_root):
    out = tmp_path / "model"
    meta = train_text(data_root, out, epochs=1, progress=False, cache_dir=tmp_path / "cache",
                      encoder=StoreEncoder(), hidden=8, lexical_min_df=1)  # fmt: skip
    assert {p.name for p in out.iterdir()} == {
        "model.json",
        "model.safetensors",
        "lexical.json",
        "lexical.safetensors",
    }
    saved = json.loads((out / "model.json").read_text())
    assert saved["architecture"] == "text_head" and saved["labels"][0] == "neutral"
    assert saved["config"]["context"] == 1 and saved["config"]["in_dim"] == 2 * 16 + 1
    tr = saved["training"]
    assert tr["recipe"] == "emofuse.train.text"
    # 1 of 7 MELD dialogues (2 utterances) and 1 of 14 comments are held out for selection.
    assert tr["data"].startswith("MELD train (12) + GoEmotions Ekman train (13)")
    assert "held-out train" in tr["selection"] and "dev" in tr["evaluation"]
    assert "dev" not in tr["selection"]
    m = saved["metrics"]
    assert {"meld_dev", "goemotions_dev", "meld_holdout", "goemotions_holdout", "ece_before",
            "ece_after", "objective", "selection"} <= set(m)  # fmt: skip
    assert m["meld_dev"]["n"] == 14 and "weighted_f1" in m["meld_dev"]
    assert m["goemotions_dev"]["n"] == 12 and m["goemotions_dev"]["protocol"]
    assert m["meld_holdout"]["n"] == 2
    assert set(m["selection"]["lexical_weight_grid"]) == {"0.5", "1.0", "1.5", "2.0", "3.0"}
    assert saved["temperature"] > 0 and saved["temperature"] == meta["temperature"]
    assert saved["preprocessing"]["lexical"]["weight"] in (0.5, 1.0, 1.5, 2.0, 3.0)
    assert len(saved["preprocessing"]["logit_bias"]) == 7
    assert len(list((tmp_path / "cache" / "fake").iterdir())) == 4  # a store per corpus x split
    assert [h["epoch"] for h in m["selection"]["history"]] == [m["selection"]["best_epoch"]]

    model = TextModel.load(out, encoder=FakeEncoder())
    assert model.lexical is not None and model.uses_context
    assert model.predict_proba(["hello there"]).shape == (1, 7)
    with_ctx = model.predict_proba(["hello there"], context=[["I hate you!"]])
    assert with_ctx.shape == (1, 7) and not np.allclose(
        with_ctx, model.predict_proba(["hello there"])
    )
    for ev in (
        evaluate_text(out, data_root, encoder=FakeEncoder()),  # predict_proba path
        evaluate_text(out, data_root, encoder=StoreEncoder(), cache_dir=tmp_path / "cache"),
    ):
        for k in ("meld_dev", "goemotions_dev"):
            assert ev[k]["weighted_f1"] == pytest.approx(m[k]["weighted_f1"])
            assert ev[k]["accuracy"] == pytest.approx(m[k]["accuracy"])
        assert 0 <= ev["ece"] <= 1


def test_plain_head_without_context_or_lexical(tmp_path, data_root):
    meta = train_text(data_root, tmp_path / "m", epochs=1, progress=False, encoder=StoreEncoder(),
                      cache_dir=tmp_path / "cache", hidden=0, context=False, lexical=False,
                      tune_bias=False)  # fmt: skip
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"model.json", "model.safetensors"}
    assert meta["config"]["in_dim"] == 16 and meta["config"]["context"] == 0
    assert meta["preprocessing"]["logit_bias"] == [0.0] * 7
    model = TextModel.load(tmp_path / "m", encoder=FakeEncoder())
    p = model.predict_proba(["a", "b"], context=[["x"], []])  # context is ignored
    np.testing.assert_allclose(p, model.predict_proba(["a", "b"]), atol=1e-6)


def test_single_label_option_drops_multilabel_comments(tmp_path, data_root):
    meta = train_text(data_root, tmp_path / "m", epochs=1, progress=False, encoder=StoreEncoder(),
                      cache_dir=tmp_path / "cache", hidden=0, multilabel="single",
                      lexical_min_df=1)  # fmt: skip
    assert "GoEmotions Ekman train (11)" in meta["training"]["data"]
