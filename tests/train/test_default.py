"""``train_default`` runs the bundled models' recipes (here: which, with what settings)."""

from __future__ import annotations

import json

import pytest

from emofuse.errors import DataError, UsageError
from emofuse.models.bundled import DEFAULT_WEIGHTS
from emofuse.train import default, text_finetune
from emofuse.train.text_finetune import FinetuneSettings


def test_the_text_step_trains_the_fine_tuned_model(tmp_path, monkeypatch):
    calls = []

    def fake(data_root, out_dir, run_dir, settings, **kw):
        calls.append((out_dir, run_dir, settings, kw))
        return {"trained": True}

    monkeypatch.setattr(text_finetune, "train_text_finetune", fake)
    report = default.train_default(tmp_path, tmp_path / "out", only=["text"])
    assert report == {"text": {"trained": True}} and len(calls) == 1
    out_dir, run_dir, settings, kw = calls[0]
    assert out_dir == tmp_path / "out" / "text" and kw["cache_dir"] == default.WORK_DIR
    assert run_dir.is_relative_to(default.WORK_DIR) and isinstance(settings, FinetuneSettings)


def test_the_text_settings_are_the_shipped_models():
    """Retraining reproduces the recipe of ``weights/text`` (as its model.json records it)."""
    shipped = json.loads((DEFAULT_WEIGHTS / "text" / "model.json").read_text())
    recorded = shipped["training"]["settings"]
    ours = FinetuneSettings.from_dict(default.TEXT_SETTINGS).identity()
    # max_grad_norm became a setting after that run, at the value it was trained with (1.0)
    assert ours.pop("max_grad_norm") == 1.0 and "max_grad_norm" not in recorded
    differ = {k: (recorded.get(k), v) for k, v in ours.items() if recorded.get(k) != v}
    assert ours and not differ, differ


def test_bad_steps_and_folders():
    with pytest.raises(UsageError, match="unknown step"):
        default.train_default(DEFAULT_WEIGHTS, only=["smell"])
    with pytest.raises(DataError, match="data folder not found"):
        default.train_default(DEFAULT_WEIGHTS / "nope", only=["text"])
