"""Attention fusion as an estimator (and what every neural method shares: fit, early
stopping, checkpoints, calibration, save/load, regression)."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.errors import DataError, UsageError
from emofuse.fusion.base import FUSIONS
from emofuse.train.attention import AttentionFusion, to_sequences

TINY = {"width": 16, "heads": 2, "batch_size": 32, "lr": 3e-3}


def _data(n: int = 160, seed: int = 0):
    """Four classes: voice sequences tell y % 2, text sequences tell y // 2."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)

    def seqs(code: np.ndarray, d: int, t: int) -> list[np.ndarray]:
        out = []
        for c in code:
            s = rng.normal(0, 1, (int(rng.integers(t // 2, t)), d)).astype(np.float32)
            s[:, 0] += 2.0 * (2 * c - 1)
            out.append(s)
        return out

    return {"voice": seqs(y % 2, 5, 24), "text": seqs(y // 2, 3, 8)}, y


def _take(x, rows):
    return {m: [v[i] for i in rows] for m, v in x.items()}


@pytest.fixture(scope="module")
def fitted():
    x, y = _data()
    est = AttentionFusion(epochs=12, patience=12, **TINY).fit(_take(x, range(120)), y[:120])
    return est, x, y


def test_registered_and_learns_complementary_modalities(fitted):
    assert FUSIONS.get("attention") is AttentionFusion
    est, x, y = fitted
    test = range(120, 160)
    p = est.predict_proba(_take(x, test))
    assert p.shape == (40, 4) and np.allclose(p.sum(1), 1.0)
    acc = (est.classes_[p.argmax(1)] == y[120:]).mean()
    voice_only = est.predict({"voice": [x["voice"][i] for i in test], "text": [None] * 40})
    assert acc > 0.85  # both halves of the label: only fusion can get it
    assert (voice_only % 2 == y[120:] % 2).mean() > 0.85  # voice alone still tells its half
    assert (voice_only == y[120:]).mean() < acc
    assert est.used_modalities({"voice": [x["voice"][0], None], "text": [None, x["text"][0]]}) == [
        ["voice"],
        ["text"],
    ]
    assert [r["epoch"] for r in est.history_] == list(range(1, len(est.history_) + 1))
    assert {"loss", "uar", "nll"} <= set(est.history_[0]) and est.temperature_ > 0


def test_inputs_in_every_form(fitted):
    est, x, _ = fitted
    rows = [0, 1, 2]
    seqs = _take(x, rows)
    padded = {m: np.full((3, 30, v[0].shape[1]), np.nan, np.float32) for m, v in seqs.items()}
    for m, v in seqs.items():
        for i, s in enumerate(v):
            padded[m][i, : len(s)] = s
    np.testing.assert_allclose(est.predict_proba(padded), est.predict_proba(seqs), atol=1e-5)
    pooled = {m: np.stack([s.mean(0) for s in v]) for m, v in seqs.items()}
    assert est.predict_proba(pooled).shape == (3, 4)  # (N, d) rows are one-step sequences
    nan_text = {"voice": seqs["voice"], "text": np.full((3, 3), np.nan)}
    np.testing.assert_allclose(
        est.predict_proba(nan_text), est.predict_proba({"voice": seqs["voice"]}), atol=1e-6
    )
    with pytest.raises(DataError, match="width"):
        est.predict_proba({"voice": [np.zeros((4, 9))] * 3, "text": seqs["text"]})
    with pytest.raises(DataError, match="not on"):
        est.predict_proba({**seqs, "face": seqs["text"]})
    assert to_sequences({"a": [None, np.zeros((2, 3))]}).dims == {"a": 3}


def test_save_load_round_trip(fitted, tmp_path):
    est, x, _ = fitted
    est.labels = ["neutral", "happiness", "sadness", "anger"]
    est.save(tmp_path / "m")
    back = AttentionFusion.load(tmp_path / "m")
    rows = _take(x, range(10))
    np.testing.assert_allclose(back.predict_proba(rows), est.predict_proba(rows), atol=1e-6)
    assert back.history_ == est.history_ and back.modalities_ == ["text", "voice"]
    import json

    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["labels"] == est.labels and meta["architecture"] == "crossmodal_attention"


def test_checkpoint_resumes_a_finished_fit(tmp_path):
    x, y = _data(60)
    first = AttentionFusion(epochs=3, checkpoint_dir=str(tmp_path / "ck"), **TINY).fit(x, y)
    again = AttentionFusion(epochs=3, checkpoint_dir=str(tmp_path / "ck"), **TINY).fit(x, y)
    assert again.history_ == first.history_  # read back, not trained again
    np.testing.assert_allclose(again.predict_proba(x), first.predict_proba(x), atol=1e-6)
    with pytest.raises(UsageError, match="another run"):
        AttentionFusion(epochs=3, checkpoint_dir=str(tmp_path / "ck"), width=8, heads=2).fit(x, y)


def test_validation_part_regression_and_errors():
    x, y = _data(80)
    v = np.stack([y % 2, y // 2], 1).astype(np.float64) + 1.0
    est = AttentionFusion(epochs=6, **TINY).fit(
        _take(x, range(60)), v[:60], validation=(_take(x, range(60, 80)), v[60:])
    )
    assert est.predict(_take(x, range(60, 80))).shape == (20, 2)
    assert "ccc" in est.history_[0]
    with pytest.raises(UsageError, match="predict_proba"):
        est.predict_proba(x)
    with pytest.raises(UsageError, match="not fitted"):
        AttentionFusion().predict_proba(x)
    with pytest.raises(DataError, match="rows"):
        AttentionFusion(epochs=1).fit(x, y[:5])
