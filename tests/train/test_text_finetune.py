"""Smoke and resume tests of the fine-tuning recipe: generated corpora, a tiny random BERT."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import load_model
from emofuse.models.text_finetuned import FineTunedTextModel
from emofuse.train import text_finetune_cache
from emofuse.train.checkpoint import Checkpoint
from emofuse.train.loop import CHECKPOINT_FILE
from emofuse.train.text_finetune import FinetuneSettings, train_text_finetune
from tests.data.datasets.test_goemotions import write_goemotions
from tests.data.datasets.test_meld import write_meld_csv
from tests.train.test_text_data import GOEMO_LINES, MELD_ROWS, StoreEncoder

TINY = dict(epochs=2, batch_size=4, goemotions_per_epoch=8, lora_r=2, lora_alpha=4.0,
            max_tokens=10, max_context_tokens=6, holdout=0.3, eval_batch_size=8,
            frozen_layers=1, threads=1)  # fmt: skip


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for split in ("train", "dev"):
        write_meld_csv(root / "meld" / f"{split}_sent_emo.csv", MELD_ROWS)
        write_goemotions(root / "goemotions", split, GOEMO_LINES)
    return root


def _train(root, tmp, base, name="run", **kw):
    s = FinetuneSettings(**{**TINY, **kw})
    return train_text_finetune(root, tmp / name / "out", tmp / name / "run", s, base=base,
                               cache_dir=tmp / "cache", baseline_encoder=StoreEncoder(),
                               progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def straight(data_root, tiny_bert, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("straight")
    return tmp, _train(data_root, tmp, tiny_bert)


def test_recipe_smoke(straight, tiny_bert):
    tmp, meta = straight
    out, run = tmp / "run" / "out", tmp / "run" / "run"
    saved = json.loads((out / "model.json").read_text())
    files = {"model.json", "model.safetensors"}
    if saved["preprocessing"].get("lexical"):  # chosen on the holdout, or not
        files |= {"lexical.json", "lexical.safetensors"}
    assert {p.name for p in out.iterdir()} == files
    assert saved["architecture"] == "text_finetuned" and saved["labels"] == list(CANONICAL)
    assert saved["config"]["base"] == str(tiny_bert) and saved["config"]["frozen_layers"] == 1
    m = saved["metrics"]
    for k in ("meld_dev", "goemotions_dev", "calibration", "summary", "ablations_dev",
              "baseline_logreg_frozen_minilm", "holdout_best_epoch"):  # fmt: skip
        assert k in m
    assert m["meld_dev"]["n"] == 14 and m["goemotions_dev"]["n"] == 12  # single-label dev
    assert set(saved["training"]["lexical_weight_grid_holdout"]) <= {"dialogue", "text"}
    assert set(saved["preprocessing"]["logit_bias"]) <= {"dialogue", "text"}
    assert [h["epoch"] for h in saved["training"]["history"]] == [1, 2]
    assert meta["training"]["best_epoch"] in (1, 2)
    names = {p.name for p in run.iterdir()}
    assert {"checkpoint", "lexical", "report.json"} <= names
    assert any(n.startswith("hidden-") for n in names) and any(
        n.startswith("logits-") for n in names
    )
    assert (tmp / "cache" / "fake").is_dir()  # the baseline embedded through the feature store
    model = FineTunedTextModel.load(out)
    p = model.predict_proba(["what a day", "ugh"], [["hi"], []])
    assert p.shape == (2, 7) and np.isfinite(p).all()
    assert type(load_model(out).module).__name__ == "FineTunedTextNet"


def test_a_crashed_run_resumes_to_the_same_model(straight, data_root, tiny_bert, tmp_path,
                                                 monkeypatch):  # fmt: skip
    tmp, _ = straight
    real, calls = text_finetune_cache.Feeder.train_logits, {"n": 0}

    def crash_in_epoch_2(self, idx, drop):
        calls["n"] += 1
        if calls["n"] == 6:  # epoch 1 has 5 batches: its checkpoint is written
            raise KeyboardInterrupt
        return real(self, idx, drop)

    monkeypatch.setattr(text_finetune_cache.Feeder, "train_logits", crash_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        _train(data_root, tmp_path, tiny_bert, "crashed")
    assert not (tmp_path / "crashed" / "out").exists()
    ck = Checkpoint.load(tmp_path / "crashed" / "run" / "checkpoint" / CHECKPOINT_FILE)
    assert [h["epoch"] for h in ck.loop["history"]] == [1]  # it resumes from epoch 1
    monkeypatch.setattr(text_finetune_cache.Feeder, "train_logits", real)
    _train(data_root, tmp_path, tiny_bert, "crashed")
    a = FineTunedTextModel.load(tmp / "run" / "out")
    b = FineTunedTextModel.load(tmp_path / "crashed" / "out")
    sa, sb = a.net.state_dict(), b.net.state_dict()
    assert all(np.array_equal(sa[k].numpy(), sb[k].numpy()) for k in sa)
    hist = lambda m: [(h["epoch"], h["objective"]) for h in m.meta.training["history"]]  # noqa: E731
    assert hist(a) == hist(b)
    with pytest.raises(UsageError, match="another run"):
        _train(data_root, tmp_path, tiny_bert, "crashed", lr=0.5)


def test_evaluate_a_saved_model_on_dev(straight, data_root):
    from emofuse.train.text_finetune_report import evaluate_finetuned

    tmp, meta = straight
    out = evaluate_finetuned(tmp / "run" / "out", data_root)
    for k, metric in (("meld_dev", "weighted_f1"), ("goemotions_dev", "macro_f1")):
        # predict_proba on the saved model gives what the recipe scored from its logits
        assert out[k][metric] == pytest.approx(meta["metrics"][k][metric])
        assert out[k]["n"] == meta["metrics"][k]["n"]
        assert 0 <= out[k]["ece_after"] <= 1
    assert set(out["temperature"]) == {"dialogue", "text"}
