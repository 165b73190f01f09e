"""Transfer protocols of the voice recipe: statement split builders, leak refusal, a tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emofuse.errors import DataError, UsageError
from emofuse.models.voice_cnn import VoiceCNNConfig
from emofuse.train import voice_recipe, voice_transfer
from emofuse.train.voice_data import CONDITIONS, conditioned, statement_of
from emofuse.train.voice_recipe import Recipe
from emofuse.train.voice_transfer import check_disjoint, statement_holdout_voice, statement_split
from tests.train.conftest import _write, tone

TINY = VoiceCNNConfig(channels=[4, 8], embed=8, attention=4, n_classes=8)


@pytest.fixture(scope="module")
def two_statements(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ravdess2")
    for actor in (1, 2, 3):
        (root / f"Actor_{actor:02d}").mkdir()
        for emo in range(1, 9):
            for st in (1, 2):
                name = f"03-01-{emo:02d}-01-{st:02d}-01-{actor:02d}.wav"
                _write(root / f"Actor_{actor:02d}" / name, tone(150.0 * emo + 40 * st, 0.8))
    return root


def test_statement_split_is_actor_and_statement_disjoint():
    actor = np.repeat(np.arange(1, 7), 4)
    statement = np.tile([1, 2], 12)
    s = statement_split(actor, statement, [5, 6], train_statement=2)
    assert set(actor[s["train"]]) == {1, 2, 3, 4} and set(statement[s["train"]]) == {2}
    assert set(actor[s["same"]]) == {5, 6} and set(statement[s["same"]]) == {2}
    assert set(actor[s["other"]]) == {5, 6} and set(statement[s["other"]]) == {1}
    assert (
        len(s["train"]) + len(s["same"]) + len(s["other"]) == 16
    )  # train actors, statement 1: unused
    with pytest.raises(UsageError):
        statement_split(actor, statement, [5, 6], train_statement=3)
    with pytest.raises(DataError, match="no test or no training"):
        statement_split(actor, statement, range(1, 7), train_statement=1)


def test_leaks_are_refused():
    actor = np.array([1, 1, 2, 2])
    statement = np.array([1, 2, 1, 2])
    with pytest.raises(DataError, match="actor leak"):
        check_disjoint(actor, statement, np.array([0]), np.array([1]), statements=False)
    with pytest.raises(DataError, match="statement leak"):
        check_disjoint(actor, statement, np.array([0]), np.array([2]))
    with pytest.raises(DataError, match="empty"):
        check_disjoint(actor, statement, np.array([], int), np.array([2]))
    check_disjoint(actor, statement, np.array([0]), np.array([3]))  # disjoint: fine


def test_conditions_keep_length_and_are_seeded():
    w = [(0.05 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)]
    for name in CONDITIONS:
        a, b = conditioned(w, name, seed=1), conditioned(w, name, seed=1)
        assert a[0].shape == w[0].shape and np.array_equal(a[0], b[0])
        assert not np.allclose(a[0], w[0])
    with pytest.raises(DataError, match="unknown recording condition"):
        conditioned(w, "underwater")


def test_statement_holdout_runs_resumes_and_reports_the_gap(two_statements, tmp_path, monkeypatch):
    monkeypatch.setattr(
        voice_recipe, "DEFAULT_CONFIG", {"channels": [4, 8], "embed": 8, "attention": 4}
    )
    calls = []
    fit = voice_transfer.fit_network
    monkeypatch.setattr(
        voice_transfer, "fit_network", lambda *a, **k: calls.append(a) or fit(*a, **k)
    )
    out = tmp_path / "st.json"
    recipe = Recipe(epochs=1, batch_size=8, n_variants=2, mixup=0.4, gain_norm=True)
    kw = {"recipe": recipe, "folds": 3, "actors": [1, 2, 3], "progress": False}
    r = statement_holdout_voice(two_statements, out, only_folds=[1], **kw)
    assert len(calls) == 1 and len(calls[0][1]) == 16  # actors 2, 3 x statement 1 x 8
    fold = r["folds"]["1"]
    assert fold["n_same"] == 8 and fold["n_other"] == 8 and fold["test_actors"] == [1]
    assert np.array(fold["other_logits"]).shape == (8, 8) and len(fold["other_y_native"]) == 8
    gap = r["summary"]["canonical"]["gap"]["mean"]
    s = r["summary"]["canonical"]
    assert gap == pytest.approx(s["same"]["mean"] - s["other"]["mean"])
    statement_holdout_voice(two_statements, out, only_folds=[1], **kw)  # done: no refit
    assert len(calls) == 1 and json.loads(out.read_text())["folds"]["1"] == json.loads(
        json.dumps(fold)
    )


def test_statement_of_reads_the_fifth_field(two_statements):
    from emofuse.train.voice_data import ravdess_frame

    df = ravdess_frame(two_statements, [1])
    assert sorted(statement_of(df).tolist()) == [1] * 8 + [2] * 8


def test_fold_scoring_covers_every_condition():
    import torch

    from emofuse.models.voice_cnn import VoiceCNN
    from emofuse.train.voice_cv import score_fold
    from emofuse.train.voice_recipe import PREPROCESSING

    torch.manual_seed(0)
    net = VoiceCNN(TINY).eval()
    waves = [tone(300.0 + 50 * i, 1.0) for i in range(8)]
    fold = score_fold(
        net, TINY, PREPROCESSING, waves, np.arange(8), (10.0,), Recipe(gain_norm=True), CONDITIONS
    )
    assert set(fold["conditions"]) == {"clean", "snr_10db", *CONDITIONS}
    assert np.array(fold["clean_logits"]).shape == (8, 8)
