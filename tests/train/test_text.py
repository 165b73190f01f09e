"""Smoke test of the text recipe on generated MELD + GoEmotions files (fake encoder, 1 epoch)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from emofuse.models.text_head import TextModel
from emofuse.train.text import (
    _item_weights,
    context_embeddings,
    evaluate_text,
    holdout_split,
    previous_texts,
    soft_targets,
    train_text,
)
from tests.data.datasets.test_goemotions import write_goemotions
from tests.data.datasets.test_meld import write_meld_csv
from tests.models.test_text_head import FakeEncoder

MELD_ROWS = [
    (text, "Joey", emo, "neutral", dia, utt)
    for dia, (text, emo) in enumerate([
        ("How you doin'?", "neutral"), ("This is the best day ever!", "joy"),
        ("I hate you!", "anger"), ("My fish died.", "sadness"), ("What?!", "surprise"),
        ("Ew, gross.", "disgust"), ("There's someone in the house.", "fear"),
    ])
    for utt in range(2)
]  # fmt: skip
GOEMO_LINES = [
    (f"comment {i} about {name}", ids, f"c{i}")
    for i, (name, ids) in enumerate([("cats", "4"), ("joy", "3"), ("rage", "0"), ("loss", "5"),
                                     ("wow", "6,3"), ("yuck", "1"), ("fright", "2")] * 2)
]  # fmt: skip


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
                      encoder=FakeEncoder(), hidden=8, lexical_min_df=1)  # fmt: skip
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
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4  # corpus x split

    model = TextModel.load(out, encoder=FakeEncoder())
    assert model.lexical is not None and model.uses_context
    assert model.predict_proba(["hello there"]).shape == (1, 7)
    with_ctx = model.predict_proba(["hello there"], context=[["I hate you!"]])
    assert with_ctx.shape == (1, 7) and not np.allclose(
        with_ctx, model.predict_proba(["hello there"])
    )
    for ev in (
        evaluate_text(out, data_root, encoder=FakeEncoder()),  # predict_proba path
        evaluate_text(out, data_root, encoder=FakeEncoder(), cache_dir=tmp_path / "cache"),
    ):
        for k in ("meld_dev", "goemotions_dev"):
            assert ev[k]["weighted_f1"] == pytest.approx(m[k]["weighted_f1"])
            assert ev[k]["accuracy"] == pytest.approx(m[k]["accuracy"])
        assert 0 <= ev["ece"] <= 1


def test_plain_head_without_context_or_lexical(tmp_path, data_root):
    meta = train_text(data_root, tmp_path / "m", epochs=1, progress=False, encoder=FakeEncoder(),
                      cache_dir=tmp_path / "cache", hidden=0, context=False, lexical=False,
                      tune_bias=False)  # fmt: skip
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"model.json", "model.safetensors"}
    assert meta["config"]["in_dim"] == 16 and meta["config"]["context"] == 0
    assert meta["preprocessing"]["logit_bias"] == [0.0] * 7
    model = TextModel.load(tmp_path / "m", encoder=FakeEncoder())
    p = model.predict_proba(["a", "b"], context=[["x"], []])  # context is ignored
    np.testing.assert_allclose(p, model.predict_proba(["a", "b"]), atol=1e-6)


def test_holdout_split_groups_meld_by_dialogue():
    df = pd.DataFrame({
        "corpus": ["meld"] * 40 + ["goemotions"] * 60,
        "split": ["train"] * 90 + ["dev"] * 10,
        "dialogue": [i // 4 for i in range(40)] + [None] * 60,
    })  # fmt: skip
    fit, hold = holdout_split(df, 0.1, seed=0)
    assert not (fit & hold).any() and not (fit | hold)[90:].any()
    assert (fit | hold)[:90].all()
    held = set(df.loc[hold & df["corpus"].eq("meld").to_numpy(), "dialogue"])
    assert len(held) == 1 and hold[:40].sum() == 4  # 1 of 10 dialogues, all its utterances
    assert hold[40:90].sum() == 5
    assert not (holdout_split(df, 0.1, seed=1)[1] == hold).all()


def test_dialogue_context_rows_and_texts():
    df = pd.DataFrame({
        "corpus": ["meld", "meld", "meld", "goemotions", "meld"],
        "split": ["train", "train", "train", "train", "dev"],
        "dialogue": [0, 0, 1, None, 0],
        "utterance": [1, 0, 0, -1, 1],
        "text": ["b", "a", "c", "g", "z"],
    })  # fmt: skip
    emb = np.arange(1, 6, dtype=np.float32)[:, None] * np.ones((5, 2), np.float32)
    ctx = context_embeddings(df, emb)
    np.testing.assert_array_equal(ctx[:, 0], [2, 0, 0, 0, 0])  # row 0 follows row 1 only
    assert previous_texts(df) == [["a"], [], [], [], []]


def test_single_label_option_drops_multilabel_comments(tmp_path, data_root):
    meta = train_text(data_root, tmp_path / "m", epochs=1, progress=False, encoder=FakeEncoder(),
                      cache_dir=tmp_path / "cache", hidden=0, multilabel="single",
                      lexical_min_df=1)  # fmt: skip
    assert "GoEmotions Ekman train (11)" in meta["training"]["data"]


def test_soft_targets_and_weights():
    t = soft_targets([["neutral"], ["happiness", "surprise"]])
    np.testing.assert_allclose(t.sum(1), 1.0)
    assert t[1, 1] == t[1, 6] == 0.5
    y = soft_targets([["neutral"]] * 3 + [["anger"]])
    w = _item_weights(np.array(["a"] * 4), y, class_power=1.0, corpus_balance=0.0)
    assert w[3] == pytest.approx(3 * w[0])  # inverse frequency
    w = _item_weights(np.array(["a", "a", "a", "b"]), y * 0 + soft_targets([["neutral"]]), 0.0, 1.0)
    assert w[3] == pytest.approx(3 * w[0])  # both corpora weigh the same in total
