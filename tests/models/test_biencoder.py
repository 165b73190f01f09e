"""Bi-encoder: towers, missing modality, frozen vs fine-tuned artefacts, learning-rate groups."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emofuse.errors import UsageError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, load_model, save_model
from emofuse.models.biencoder import BiEncoder, BiEncoderConfig
from emofuse.models.registry import ARCHITECTURES
from tests.fixtures import write_word_bert

transformers = pytest.importorskip("transformers", reason="extra 'hf' not installed")

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "am", "so", "happy", "sad", "angry"]


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return write_word_bert(tmp_path_factory.mktemp("bert"), WORDS)


def _config(bert_dir, tiny_models, freeze: bool = True) -> BiEncoderConfig:
    return BiEncoderConfig(
        towers=[
            {"kind": "hf_text", "config": {"model": str(bert_dir)}},
            {"kind": "face_cnn", "model_dir": str(tiny_models / "face")},
        ],
        freeze=freeze,
    )


def _items(n: int = 3):
    rng = np.random.default_rng(0)
    texts = ["i am so happy", "so sad", "angry", "i am sad"][:n]
    faces = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(n)]
    return {"text": texts, "face": faces}


def _net(bert_dir, tiny_models, freeze: bool = True) -> BiEncoder:
    torch.manual_seed(0)
    return BiEncoder(_config(bert_dir, tiny_models, freeze)).eval()


def test_shapes_and_modalities(bert_dir, tiny_models):
    assert ARCHITECTURES["biencoder"] is BiEncoder
    net = _net(bert_dir, tiny_models)
    assert net.modalities == ["text", "face"]
    inputs, present = net.prepare(_items())
    with torch.inference_mode():
        assert net(inputs, present).shape == (3, len(CANONICAL))


def test_a_missing_modality_takes_the_learned_vector(bert_dir, tiny_models):
    net = _net(bert_dir, tiny_models)
    items = _items()
    items["text"] = ["i am so happy", None, "angry"]
    with torch.inference_mode():
        out = net(*net.prepare(items))
        other = dict(items, text=["so sad", None, "angry"])
        changed = net(*net.prepare(other))
        alone = net(*net.prepare({"face": items["face"][1:2], "text": [None]}))
    torch.testing.assert_close(out[1:2], alone)  # the row without text only reads its face
    assert not torch.allclose(out[0], changed[0])  # the text is read where it is given
    torch.testing.assert_close(out[1:], changed[1:])


def test_frozen_saves_the_head_only_and_fine_tuned_everything(bert_dir, tiny_models, tmp_path):
    items = _items()
    for freeze in (True, False):
        net = _net(bert_dir, tiny_models, freeze)
        if not freeze:  # a fine-tuned tower differs from its source
            with torch.no_grad():
                next(net.towers[0].parameters()).add_(0.5)
        keys = set(net.state_dict())
        assert any(k.startswith("towers.") for k in keys) is (not freeze)
        meta = ModelMeta("bi", "fusion", "biencoder", net.config.__dict__, list(CANONICAL))
        folder = save_model(net, meta, tmp_path / f"bi-{freeze}")
        loaded = load_model(folder).module
        with torch.inference_mode():
            torch.testing.assert_close(loaded(*loaded.prepare(items)), net(*net.prepare(items)))


def test_param_groups_and_frozen_towers(bert_dir, tiny_models):
    frozen = _net(bert_dir, tiny_models).train()
    assert [g["name"] for g in frozen.param_groups(1e-5, 1e-3)] == ["head"]
    assert not frozen.towers[0].training  # frozen towers stay in eval mode
    tuned = _net(bert_dir, tiny_models, freeze=False).train()
    groups = {g["name"]: g for g in tuned.param_groups(1e-5, 1e-3)}
    assert groups["encoders"]["lr"] == 1e-5 and groups["head"]["lr"] == 1e-3
    n_enc = sum(p.numel() for p in groups["encoders"]["params"])
    assert n_enc == sum(p.numel() for p in tuned.towers.parameters())


def test_bad_configs(bert_dir, tiny_models):
    with pytest.raises(UsageError, match="two towers"):
        BiEncoder(BiEncoderConfig(towers=[{"kind": "face_cnn"}]))
    with pytest.raises(UsageError, match="unknown tower"):
        BiEncoder(BiEncoderConfig(towers=[{"kind": "nope"}, {"kind": "face_cnn"}]))
    face = {"kind": "face_cnn", "model_dir": str(tiny_models / "face")}
    with pytest.raises(UsageError, match="different modalities"):
        BiEncoder(BiEncoderConfig(towers=[face, face]))
