"""Holdouts, cross-fitted temperatures and the metric dicts the recipes share."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.evaluate.metrics import classification_metrics
from emofuse.train.evaluation import (
    cross_fitted,
    grouped_holdout,
    logit_metrics,
    mean_std,
    nll,
    probability_metrics,
    stratified_holdout,
)


def test_stratified_holdout_is_stratified_disjoint_and_seeded():
    y = np.repeat(np.arange(7), 20)
    fit, held = stratified_holdout(y, 0.1, seed=0)
    assert not set(fit) & set(held) and len(fit) + len(held) == len(y)
    assert np.bincount(y[held]).tolist() == [2] * 7
    assert np.array_equal(held, stratified_holdout(y, 0.1, seed=0)[1])
    fit, held = stratified_holdout(np.array([0, 1, 2]), 0.2, seed=0)  # too small to stratify
    assert len(held) == 1 and len(fit) == 2


def test_grouped_holdout_keeps_groups_whole_and_stays_in_the_mask():
    groups = np.repeat(np.arange(10), 3)
    mask = np.ones(30, bool)
    mask[-3:] = False  # group 9 may not be drawn
    held = grouped_holdout(groups, mask, 0.3, np.random.default_rng(0))
    drawn = set(groups[held])
    assert len(drawn) == 3 and 9 not in drawn  # round(0.3 * 9 groups)
    assert all(held[groups == g].all() for g in drawn)
    assert not grouped_holdout(groups, np.zeros(30, bool), 0.3, np.random.default_rng(0)).any()
    single = grouped_holdout(np.arange(5), np.ones(5, bool), 0.01, np.random.default_rng(0))
    assert single.sum() == 1  # at least one group


def test_cross_fitted_temperatures_and_mean_std():
    assert cross_fitted([1.0, 2.0, 4.0]) == [3.0, 2.5, 1.5]
    assert cross_fitted([2.0]) == [1.0]
    m = mean_std([1.0, 2.0, 3.0])
    assert m["mean"] == 2.0 and m["std"] == pytest.approx(1.0) and m["per_fold"] == [1.0, 2.0, 3.0]
    assert mean_std([5.0])["std"] == 0.0


def test_metric_dicts_extend_classification_metrics():
    y = np.array([0, 1, 1, 2])
    logits = np.array([[4.0, 0, 0], [0, 3.0, 0], [2.0, 0, 0], [0, 0, 1.0]])
    base = classification_metrics(y, logits.argmax(1), ["a", "b", "c"])
    m = logit_metrics(logits, y, ["a", "b", "c"], temperature=2.0)
    assert {k: m[k] for k in base} == base
    assert m["ece_before"] != m["ece_after"]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p = probability_metrics(probs, y, ["a", "b", "c"])
    assert p["accuracy"] == 0.75 and p["nll"] == pytest.approx(nll(probs, y))
    assert p["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert "confusion_matrix" not in probability_metrics(probs, y, ["a", "b", "c"], False)
