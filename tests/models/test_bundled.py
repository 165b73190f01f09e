"""The loader picks each folder's class from its model.json architecture."""

from __future__ import annotations

import json
import shutil

import pytest

from emofuse.errors import DataError, UsageError
from emofuse.models.bundled import (
    DEFAULT_WEIGHTS,
    MODEL_CLASSES,
    find_text_export,
    load_modality_model,
    model_class,
)
from emofuse.models.face import FaceModel
from emofuse.models.text import TextModel
from emofuse.models.text_finetuned import FineTunedTextModel


def _retag(folder, **fields) -> None:
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**meta, **fields}))


def test_the_architecture_names_the_class(tiny_models, tmp_path):
    assert model_class(tiny_models / "text", "text") is FineTunedTextModel
    assert model_class(tiny_models / "face", "face") is FaceModel
    model = load_modality_model("text", tiny_models / "text", backend="torch")
    assert isinstance(model, FineTunedTextModel) and model.backend == "torch"
    assert find_text_export(tiny_models / "text") is None  # never exported
    head = shutil.copytree(tiny_models / "text", tmp_path / "head")
    _retag(head, architecture="text_head")
    assert model_class(head, "text") is TextModel
    assert model_class(DEFAULT_WEIGHTS / "text", "text") is FineTunedTextModel  # the default


def test_wrong_or_unknown_folders_are_refused(tiny_models, tmp_path):
    with pytest.raises(DataError, match="holds a face model, not a text one"):
        model_class(tiny_models / "face", "text")
    with pytest.raises(UsageError, match="unknown modality"):
        load_modality_model("smell", tiny_models / "text")
    with pytest.raises(DataError, match="no text model"):
        load_modality_model("text", tmp_path / "missing")
    other = shutil.copytree(tiny_models / "text", tmp_path / "other")
    _retag(other, architecture="mystery_net")
    with pytest.raises(DataError, match="no model class for architecture 'mystery_net'"):
        load_modality_model("text", other)
    MODEL_CLASSES.add("mystery_net", "emofuse.models.text_finetuned:FineTunedTextModel")
    try:  # a registered class loads it (third parties: register, or an entry point)
        assert model_class(other, "text") is FineTunedTextModel
    finally:
        MODEL_CLASSES.unregister("mystery_net")
