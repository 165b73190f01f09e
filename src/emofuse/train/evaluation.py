"""What the recipes share to select and score: holdout splits, calibration, metric dicts.

Holdouts are seeded and, where items belong to a group (a dialogue, a speaker), grouped so
that no group is on both sides. Metric dicts build on
:func:`emofuse.evaluate.metrics.classification_metrics` and temperature scaling on
:mod:`emofuse.models.calibration`.

>>> fit, held = stratified_holdout(np.array([0, 1] * 10), 0.2, seed=0)
>>> len(fit), len(held)
(16, 4)
>>> cross_fitted([1.0, 2.0, 3.0])
[2.5, 2.0, 1.5]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..evaluate.metrics import classification_metrics
from ..models.calibration import expected_calibration_error, softmax


def stratified_holdout(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified ``(fit_indices, holdout_indices)`` of ``y``; ``fraction`` goes to the holdout.

    Falls back to a plain random split when ``y`` is too small to stratify.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    try:
        fit, held = train_test_split(idx, test_size=fraction, stratify=y, random_state=seed)
    except ValueError:  # fewer held-out items than classes, or a class with one item
        fit, held = train_test_split(idx, test_size=fraction, random_state=seed)
    return np.sort(fit), np.sort(held)


def grouped_holdout(
    groups: np.ndarray, mask: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Boolean mask of the rows in ``mask`` whose group is drawn for the holdout.

    ``round(fraction * n_groups)`` groups (at least 1) are drawn without replacement among
    the sorted distinct ``groups[mask]``; every row of a drawn group is held out. Give each
    row its own group (e.g. its index) for a plain random holdout.
    """
    groups, mask = np.asarray(groups), np.asarray(mask, dtype=bool)
    held = np.zeros(len(groups), dtype=bool)
    names = np.unique(groups[mask])
    if len(names):
        k = min(len(names), max(1, round(fraction * len(names))))
        held = mask & np.isin(groups, rng.choice(names, k, replace=False))
    return held


def cross_fitted(temperatures: Sequence[float]) -> list[float]:
    """For each fold, the mean temperature of the *other* folds (1.0 when there is none)."""
    temps = [float(t) for t in temperatures]
    out = []
    for k in range(len(temps)):
        others = temps[:k] + temps[k + 1 :]
        out.append(float(np.mean(others)) if others else 1.0)
    return out


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    return float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())


def temperature_metrics(logits: np.ndarray, y: np.ndarray, temperature: float) -> dict[str, float]:
    """ECE at temperature 1 (``ece_before``) and at ``temperature`` (``ece_after``)."""
    return {
        "ece_before": expected_calibration_error(softmax(logits), y),
        "ece_after": expected_calibration_error(softmax(logits, temperature), y),
    }


def logit_metrics(
    logits: np.ndarray, y: np.ndarray, labels: Sequence[str], temperature: float
) -> dict[str, Any]:
    """Classification metrics of the arg-max plus :func:`temperature_metrics`."""
    metrics = classification_metrics(y, np.asarray(logits).argmax(1), labels=list(labels))
    metrics.update(temperature_metrics(logits, y, temperature))
    return metrics


def probability_metrics(
    probs: np.ndarray, y: np.ndarray, labels: Sequence[str], confusion: bool = True
) -> dict[str, Any]:
    """Classification metrics of the arg-max, ``ece``, ``nll`` (and ``confusion_matrix``)."""
    from sklearn.metrics import confusion_matrix

    pred = probs.argmax(axis=1)
    m = classification_metrics(y, pred, labels)
    m["ece"] = expected_calibration_error(probs, y)
    m["nll"] = nll(probs, y)
    if confusion:
        m["confusion_matrix"] = confusion_matrix(y, pred, labels=range(len(labels))).tolist()
    return m


def ascend_bias(
    score: Callable[[np.ndarray], float], n_classes: int, span: float, rounds: int = 3
) -> np.ndarray:
    """Per-class logit bias maximising ``score(bias)``: coordinate ascent, each class over
    ``-span..span`` in steps of 0.1, for at most ``rounds`` passes (stops when none improves)."""
    bias = np.zeros(n_classes)
    best = score(bias)
    for _ in range(rounds):
        improved = False
        for k in range(n_classes):
            for d in np.linspace(-span, span, round(20 * span) + 1):
                trial = bias.copy()
                trial[k] = d
                s = score(trial)
                if s > best + 1e-6:
                    best, bias, improved = s, trial, True
        if not improved:
            break
    return bias


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "std" (sample, ddof=1; 0 for one value), "per_fold"}``."""
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        "per_fold": [float(x) for x in v],
    }
