"""Text corpora for the text recipe: holdout, dialogue context, targets, weights, embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from emofuse.encoders.base import EncoderConfig
from emofuse.errors import DataError
from emofuse.train.text_data import (
    context_embeddings,
    embed_texts,
    holdout_split,
    item_weights,
    load_text_corpora,
    previous_texts,
    soft_targets,
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


@dataclass
class StoreEncoderConfig(EncoderConfig):
    pass


class StoreEncoder(FakeEncoder):
    """:class:`FakeEncoder` with what the feature store needs (modality, config); counts calls."""

    modality = "text"

    def __init__(self):
        self.config, self.calls = StoreEncoderConfig(), 0

    def encode(self, texts):
        self.calls += 1
        if any(t == "boom" for t in texts):
            raise ValueError("cannot embed boom")
        return super().encode(texts)


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    for split in ("train", "dev"):
        write_meld_csv(root / "meld" / f"{split}_sent_emo.csv", MELD_ROWS)
        write_goemotions(root / "goemotions", split, GOEMO_LINES)
    return root


def test_corpora_come_from_the_manifests(data_root):
    df = load_text_corpora(data_root)
    assert df.groupby(["corpus", "split"]).size().to_dict() == {
        ("goemotions", "dev"): 14, ("goemotions", "train"): 14,
        ("meld", "dev"): 14, ("meld", "train"): 14,
    }  # fmt: skip
    assert df.loc[df["text"].eq("comment 4 about wow"), "labels"].iat[0] == [
        "surprise",
        "happiness",
    ]
    assert df.loc[df["corpus"].eq("meld"), "utterance"].ge(0).all()
    small = load_text_corpora(data_root, limit=3, seed=1)
    assert small.groupby(["corpus", "split"]).size().eq(3).all()


def test_embeddings_go_through_the_feature_store(data_root, tmp_path):
    df = load_text_corpora(data_root)
    enc = StoreEncoder()
    emb = embed_texts(df, enc, tmp_path / "cache")
    np.testing.assert_array_equal(emb, FakeEncoder().encode(df["text"].tolist()))
    stores = sorted(p.name for p in (tmp_path / "cache" / "fake").iterdir())
    assert stores == ["goemotions-dev", "goemotions-train", "meld-dev", "meld-train"]
    assert enc.calls == 4  # one batch per corpus and split
    again = embed_texts(df.iloc[::-1].reset_index(drop=True), enc, tmp_path / "cache")
    assert enc.calls == 4  # everything read from the store, nothing embedded again
    np.testing.assert_array_equal(again, emb[::-1])
    bad = pd.concat([df.iloc[:2], df.iloc[:1].assign(id="x", text="boom")], ignore_index=True)
    with pytest.raises(DataError, match="1 meld train texts failed"):
        embed_texts(bad, enc, tmp_path / "cache")


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


def test_soft_targets_and_weights():
    t = soft_targets([["neutral"], ["happiness", "surprise"]])
    np.testing.assert_allclose(t.sum(1), 1.0)
    assert t[1, 1] == t[1, 6] == 0.5
    y = soft_targets([["neutral"]] * 3 + [["anger"]])
    w = item_weights(np.array(["a"] * 4), y, class_power=1.0, corpus_balance=0.0)
    assert w[3] == pytest.approx(3 * w[0])  # inverse frequency
    w = item_weights(np.array(["a", "a", "a", "b"]), y * 0 + soft_targets([["neutral"]]), 0.0, 1.0)
    assert w[3] == pytest.approx(3 * w[0])  # both corpora weigh the same in total
