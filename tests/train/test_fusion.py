import json

import numpy as np
import pytest

from emofuse.errors import DataError
from emofuse.labels import CANONICAL
from emofuse.train import fusion as fusion_recipe
from emofuse.train.fusion import pair_triples, tune_fusion, voice_oof

K = len(CANONICAL)


def onehot(y):
    return np.eye(K)[y]


def _pool(n, seed):
    y = np.random.default_rng(seed).permutation(np.arange(n) % K)
    return onehot(y), y


def test_triples_share_the_voice_label():
    v_y = np.arange(14) % K
    probs, y = pair_triples(
        (onehot(v_y), v_y),
        {"face": _pool(70, 1), "text": _pool(70, 2)},
        np.random.default_rng(0),
        3,
    )
    assert len(y) == 14 * 3
    for m in ("voice", "face", "text"):
        assert (probs[m].argmax(1) == y).all()


def test_clips_without_a_same_label_partner_are_skipped():
    v_y = np.array([0, 1, 2])
    face_y = np.array([0, 0, 1])  # no label 2
    probs, y = pair_triples(
        (onehot(v_y), v_y), {"face": (onehot(face_y), face_y)}, np.random.default_rng(0), 2
    )
    assert y.tolist() == [0, 0, 1, 1] and set(probs) == {"voice", "face"}


def _cv_json(path, monkeypatch, n_per_actor=8, seed=0):
    """A 5-fold CV result (8 native logits per clip) and a stand-in RAVDESS manifest."""
    import pandas as pd

    from emofuse.train import voice_data

    rng = np.random.default_rng(seed)
    folds = {}
    for k in range(5):
        actors = list(range(4 * k + 1, 4 * k + 5))
        y = np.tile(np.arange(n_per_actor) % 8, 4)
        logits = 3 * np.eye(8)[y] + rng.normal(size=(len(y), 8))
        folds[str(k + 1)] = {
            "test_actors": actors,
            "temperature": 1.0 + k / 10,
            "clean_logits": logits.tolist(),
            "y_native": y.tolist(),
        }
    path.write_text(json.dumps({"folds": folds}))

    def frame(root, actors):
        return pd.DataFrame(
            {"speaker": [f"Actor_{a:02d}" for a in actors for _ in range(n_per_actor)]}
        )

    monkeypatch.setattr(voice_data, "ravdess_frame", frame)
    return path


def test_voice_oof_merges_calm_and_cross_fits(tmp_path, monkeypatch):
    p, y, actor = voice_oof(_cv_json(tmp_path / "cv.json", monkeypatch), tmp_path)
    assert p.shape == (160, K) and len(y) == len(actor) == 160
    assert np.allclose(p.sum(1), 1) and sorted(set(actor)) == list(range(1, 21))
    assert set(y) == set(range(K))  # calm (native 1) counted as neutral (0)
    with pytest.raises(DataError, match="no voice cross-validation"):
        voice_oof(tmp_path / "missing.json", tmp_path)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match="no cross-validation folds"):
        voice_oof(tmp_path / "bad.json", tmp_path)


def test_tune_fusion_cross_fits_by_actor_fold(tmp_path, monkeypatch):
    pools = {"tune": _pool(140, 3), "score": _pool(140, 4)}
    monkeypatch.setattr(fusion_recipe, "load_modality_model", lambda modality, folder: None)
    monkeypatch.setattr(fusion_recipe, "face_pools", lambda model, root, limit: pools)
    monkeypatch.setattr(fusion_recipe, "text_pools", lambda model, root, limit: pools)
    out = tune_fusion(tmp_path, tmp_path, _cv_json(tmp_path / "cv.json", monkeypatch), draws=2)
    saved = json.loads((tmp_path / "fusion.json").read_text())
    assert saved["weights"] == out["weights"] and set(out["weights"]) == {"voice", "face", "text"}
    assert out["n_triples"] == 160 * 2
    assert "5-fold cross-fitted" in out["metrics"]["protocol"]
    # one-hot face/text pools are always right, so fusion can only match or beat voice alone
    assert out["metrics"]["accuracy_fused"] >= out["metrics"]["accuracy_voice"]
    assert out["metrics"]["accuracy_face"] == 1.0


class _Recording:
    """A text model that records the contexts it is given (uniform probabilities)."""

    def __init__(self):
        self.meta = type("Meta", (), {"training": {"settings": {"seed": 0, "holdout": 0.5}}})
        self.contexts: list = []

    def predict_proba(self, texts, context=None):
        assert context is not None and len(context) == len(texts)
        self.contexts += list(context)
        return np.full((len(texts), K), 1 / K)


def test_text_pools_read_meld_in_dialogue_and_goemotions_alone(tmp_path, monkeypatch):
    """GoEmotions comments get ``None`` (the text domain), not ``[]``: an empty list
    selects the fine-tuned model's dialogue calibration (GoEmotions dev 0.630 -> 0.593)."""
    import pandas as pd

    from emofuse.train import text_data

    rows = []
    for split in ("train", "dev"):
        for d in range(4):  # 4 MELD dialogues of 3 utterances, 12 comments per split
            rows += [
                {"corpus": "meld", "split": split, "dialogue": d, "utterance": u,
                 "text": f"{split} d{d} u{u}", "labels": [CANONICAL[u]]}
                for u in range(3)
            ]  # fmt: skip
        rows += [
            {"corpus": "goemotions", "split": split, "dialogue": -1, "utterance": -1,
             "text": f"{split} c{i}", "labels": [CANONICAL[i % K]]}
            for i in range(12)
        ]  # fmt: skip
    df = pd.DataFrame(rows)
    monkeypatch.setattr(text_data, "load_text_corpora", lambda root, limit=None: df)
    model = _Recording()
    pools = fusion_recipe.text_pools(model, tmp_path)
    n_tune, n_score = len(pools["tune"][1]), len(pools["score"][1])
    assert n_score == 24 and 0 < n_tune < 24 and len(model.contexts) == n_tune + n_score
    score = dict(zip(df[df["split"].eq("dev")]["text"], model.contexts[n_tune:]))
    assert all(score[f"dev c{i}"] is None for i in range(12))
    assert score["dev d1 u0"] == [] and score["dev d1 u2"] == ["dev d1 u0", "dev d1 u1"]
