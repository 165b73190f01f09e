"""The bi-encoder as an estimator on raw items: frozen (cached towers) and fine-tuned."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.fusion.base import FUSIONS
from emofuse.train.biencoder import BiEncoderFusion, TowerData
from emofuse.train.items import Items
from tests.fixtures import write_word_bert

transformers = pytest.importorskip("transformers", reason="extra 'hf' not installed")

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "am", "so", "happy", "sad", "angry"]


@pytest.fixture(scope="module")
def towers(tmp_path_factory, tiny_models):
    folder = write_word_bert(tmp_path_factory.mktemp("bert"), WORDS)
    return [
        {"kind": "hf_text", "config": {"model": str(folder)}},
        {"kind": "face_cnn", "model_dir": str(tiny_models / "face")},
    ]


def _rows(n: int = 60, seed: int = 0):
    """Three classes told by the word (text) and by the brightness (face); some texts missing."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    words = ["i am so happy", "i am sad", "so angry"]
    rows = []
    for i, c in enumerate(y):
        face = np.clip(rng.normal(60 + 60 * c, 15, (48, 48)), 0, 255).astype(np.uint8)
        rows.append({"image": face, "text": words[c] if i % 5 else None})
    return rows, y


def test_frozen_fit_caches_the_towers_and_learns(towers):
    assert FUSIONS.get("biencoder") is BiEncoderFusion
    rows, y = _rows()
    est = BiEncoderFusion(towers=towers, epochs=8, lr=1e-2, batch_size=16)
    est.fit({"items": rows[:45]}, y[:45])
    p = est.predict_proba({"items": rows[45:]})
    assert p.shape == (15, 3) and (est.classes_[p.argmax(1)] == y[45:]).mean() > 0.8
    assert est.used_modalities({"items": rows[:2]}) == [["face"], ["text", "face"]]
    data = TowerData(Items(rows[:4]))
    est._collate(data, np.arange(4), None)
    assert len(data.pooled) == 4 + 3  # four faces and three texts encoded once, then reused


def test_fine_tuned_trains_the_towers_and_round_trips(towers, tmp_path):
    rows, y = _rows(24)
    est = BiEncoderFusion(towers=towers, freeze=False, epochs=1, batch_size=8)
    before = {k: v.clone() for k, v in BiEncoderFusion(towers=towers).fit(
        {"items": rows}, y
    ).network_.state_dict().items()}  # fmt: skip
    est.fit({"items": rows}, y)
    tower_keys = [k for k in est.network_.state_dict() if k.startswith("towers.0.")]
    assert tower_keys and "towers.0.backbone.embeddings.word_embeddings.weight" in tower_keys
    assert not any(k.startswith("towers.") for k in before)  # frozen: head only
    est.save(tmp_path / "bi")
    back = BiEncoderFusion.load(tmp_path / "bi")
    np.testing.assert_allclose(
        back.predict_proba({"items": rows[:5]}), est.predict_proba({"items": rows[:5]}), atol=1e-5
    )
