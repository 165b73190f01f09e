"""Selection helpers of the text recipe: the objective, the logit bias, per-set metrics."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.train.text_selection import objective, objective_of, set_metrics, tune_logit_bias


def _sets():
    meld_rows, goemo_rows = np.arange(0, 6), np.arange(6, 13)
    return {
        "meld_holdout": (meld_rows, np.array([0, 0, 0, 1, 1, 2])),
        "goemotions_holdout": (goemo_rows, np.arange(7)),  # macro F1 counts all 7 labels
    }


def test_objective_is_the_mean_of_meld_weighted_and_goemotions_macro_f1():
    sets = _sets()
    y = np.concatenate([yy for _, yy in sets.values()])
    perfect = np.eye(7)[y]
    assert objective(perfect, sets) == {
        "meld_weighted_f1": 1.0, "goemotions_macro_f1": 1.0, "objective": 1.0,
    }  # fmt: skip
    z = {k: np.eye(7)[np.zeros(len(yy), int)] for k, (_, yy) in sets.items()}  # all neutral
    s = objective_of(z, sets)
    assert s["objective"] == pytest.approx((s["meld_weighted_f1"] + s["goemotions_macro_f1"]) / 2)
    assert 0 < s["meld_weighted_f1"] < 1 and 0 < s["goemotions_macro_f1"] < 0.1


def test_logit_bias_never_lowers_the_objective():
    sets = _sets()
    y = np.concatenate([yy for _, yy in sets.values()])
    z = np.random.default_rng(0).normal(size=(13, 7)) + 0.8 * np.eye(7)[y]
    bias = tune_logit_bias(z, sets, rounds=1)
    assert bias.shape == (7,) and np.abs(bias).max() <= 1.5
    assert objective(z + bias, sets)["objective"] >= objective(z, sets)["objective"]


def test_set_metrics_pool_calibration_over_the_sets():
    sets = _sets()
    z = {k: 3 * np.eye(7)[yy] for k, (_, yy) in sets.items()}
    m = set_metrics(z, sets, temperature=2.0)
    assert m["meld_holdout"]["accuracy"] == 1.0 and m["goemotions_holdout"]["protocol"]
    assert m["ece_after_holdout"] != m["ece_before_holdout"]
