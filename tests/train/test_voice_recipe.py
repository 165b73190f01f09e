"""The voice recipe's settings, label merge, network config checks and its network fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emofuse.errors import UsageError
from emofuse.models.voice_cnn import VoiceCNNConfig
from emofuse.train.voice_data import feature_bank
from emofuse.train.voice_recipe import (
    NATIVE,
    PREPROCESSING,
    Recipe,
    check_preprocessing,
    class_weights,
    fit_network,
    merge_matrix,
    network_config,
    network_logits,
    span,
    to_canonical_index,
)
from tests.train.conftest import tone

TINY = VoiceCNNConfig(channels=[4, 8], embed=8, attention=4)


def test_recipe_round_trips_through_yaml():
    r = Recipe(epochs=3, lr=1e-3)
    assert Recipe.from_yaml(r.to_yaml()) == r
    assert Recipe.from_dict({"epochs": "4"}).epochs == 4


def test_merge_matrix_sums_calm_into_neutral():
    m = merge_matrix()
    assert m.shape == (8, 7) and (m.sum(axis=1) == 1).all()
    assert NATIVE[:2] == ("neutral", "calm") and m[:2, 0].tolist() == [1.0, 1.0]
    assert to_canonical_index(np.arange(8)).tolist() == [0, 0, 1, 2, 3, 4, 5, 6]


def test_config_and_preprocessing_checks():
    assert network_config(None, PREPROCESSING).n_classes == 8
    assert network_config(VoiceCNNConfig(n_classes=3), PREPROCESSING).n_classes == 8
    with pytest.raises(UsageError, match="n_mels"):
        network_config(VoiceCNNConfig(n_mels=32), PREPROCESSING)
    with pytest.raises(UsageError, match="16 kHz"):
        check_preprocessing({"sample_rate": 8000})
    assert check_preprocessing({"n_mels": 32})["n_mels"] == 32
    assert span([1, 2, 3]) == "1-3" and span([1, 3]) == "1,3"
    w = class_weights(np.array([0, 0, 1]), 3)
    assert w.tolist() == pytest.approx([0.5, 1.0, 0.0])


def test_fit_network_selects_with_evaluate_and_is_seeded():
    waves = [tone(200.0 + 60 * i, 0.8) for i in range(8)]
    bank = feature_bank(waves, PREPROCESSING, 2, seed=0)
    y, config = np.arange(8), network_config(TINY, PREPROCESSING)
    recipe = Recipe(epochs=2, batch_size=4, n_variants=2)
    scores = iter([0.9, 0.1])
    net, weights, fitted = fit_network(bank, y, config, recipe, PREPROCESSING, seed=5,
                                       evaluate=lambda m, e: next(scores))  # fmt: skip
    assert fitted.best_epoch == 1 and len(fitted.history) == 2 and len(weights) == 8
    a, _, _ = fit_network(bank, y, config, recipe, PREPROCESSING, seed=5)
    b, _, last = fit_network(bank, y, config, recipe, PREPROCESSING, seed=5)
    assert last.best_epoch == 2  # without evaluate: the last epoch
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert not all(torch.equal(v, a.state_dict()[k]) for k, v in net.state_dict().items())
    logits = network_logits(a, config, PREPROCESSING, waves[:3])
    assert logits.shape == (3, 8) and np.isfinite(logits).all() and not a.training
