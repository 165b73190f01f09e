"""Smoke test of the text recipe on generated MELD + GoEmotions files (fake encoder, 1 epoch)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.models.text_head import TextModel
from emofuse.train.text import _item_weights, evaluate_text, soft_targets, train_text
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
                      encoder=FakeEncoder(), hidden=8)  # fmt: skip
    assert {p.name for p in out.iterdir()} == {"model.json", "model.safetensors"}
    saved = json.loads((out / "model.json").read_text())
    assert saved["architecture"] == "text_head" and saved["labels"][0] == "neutral"
    assert saved["training"]["recipe"] == "emofuse.train.text"
    assert saved["training"]["data"] == "MELD train (14) + GoEmotions Ekman train (14)"
    m = saved["metrics"]
    assert {"meld_dev", "goemotions_dev", "ece_before", "ece_after", "objective"} <= set(m)
    assert m["meld_dev"]["n"] == 14 and "weighted_f1" in m["meld_dev"]
    assert m["goemotions_dev"]["n"] == 12 and m["goemotions_dev"]["protocol"]
    assert saved["temperature"] > 0 and saved["temperature"] == meta["temperature"]
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4  # corpus x split

    model = TextModel.load(out, encoder=FakeEncoder())
    assert model.predict_proba(["hello there"]).shape == (1, 7)
    ev = evaluate_text(out, data_root, encoder=FakeEncoder())
    assert ev["meld_dev"]["weighted_f1"] == pytest.approx(m["meld_dev"]["weighted_f1"])
    assert 0 <= ev["ece"] <= 1


def test_single_label_option_drops_multilabel_comments(tmp_path, data_root):
    meta = train_text(data_root, tmp_path / "m", epochs=1, progress=False, encoder=FakeEncoder(),
                      cache_dir=tmp_path / "cache", hidden=0, multilabel="single")  # fmt: skip
    assert meta["training"]["data"].endswith("GoEmotions Ekman train (12)")


def test_soft_targets_and_weights():
    t = soft_targets([["neutral"], ["happiness", "surprise"]])
    np.testing.assert_allclose(t.sum(1), 1.0)
    assert t[1, 1] == t[1, 6] == 0.5
    y = soft_targets([["neutral"]] * 3 + [["anger"]])
    w = _item_weights(np.array(["a"] * 4), y, class_power=1.0, corpus_balance=0.0)
    assert w[3] == pytest.approx(3 * w[0])  # inverse frequency
    w = _item_weights(np.array(["a", "a", "a", "b"]), y * 0 + soft_targets([["neutral"]]), 0.0, 1.0)
    assert w[3] == pytest.approx(3 * w[0])  # both corpora weigh the same in total
