"""Metrics as plain dicts (JSON-ready), built on scikit-learn and NumPy.

>>> import numpy as np
>>> m = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), labels=["a", "b"])
>>> round(m["accuracy"], 3), m["uar"], m["confusion"]
(0.667, 0.75, [[1, 0], [1, 1]])
>>> low, high = bootstrap_ci([0, 1, 1, 0] * 25, [0, 1, 0, 0] * 25, metric="uar")
>>> bool(low < 0.75 < high)
True
>>> round(ccc(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])), 3)
1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import DataError, UsageError

BOOTSTRAP_METRICS = ("accuracy", "uar", "weighted_f1", "macro_f1")
DIMENSIONS = ("valence", "arousal", "dominance")


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, UAR, weighted/macro F1, per-class precision/recall/F1/support and the
    confusion matrix (rows: true label, columns: predicted, both in ``labels`` order).

    ``y_true``/``y_pred`` are integer indices into ``labels``. UAR (unweighted average
    recall, i.e. balanced accuracy) averages the recall of the labels that occur in
    ``y_true``; the F1 averages run over all ``labels`` (absent ones count as 0).
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=idx, zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "uar": float(r[s > 0].mean()) if (s > 0).any() else 0.0,
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=idx, average="weighted", zero_division=0)
        ),
        "macro_f1": float(f1_score(y_true, y_pred, labels=idx, average="macro", zero_division=0)),
        "per_class": {
            label: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=idx).tolist(),
    }


def bootstrap_ci(
    y_true: Iterable[Any],
    y_pred: Iterable[Any],
    metric: str = "accuracy",
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap ``(low, high)`` interval (``1 - alpha``) of a classification
    metric: rows are resampled with replacement ``n_resamples`` times.

    ``metric``: ``accuracy``, ``uar``, ``weighted_f1`` or ``macro_f1`` (as scikit-learn
    computes them on each resample: F1 over the labels present in it). Labels may be any
    hashable values. Vectorised: every resample's confusion matrix comes from one
    ``bincount``, in chunks of bounded memory.
    """
    if metric not in BOOTSTRAP_METRICS:
        raise UsageError(f"unknown metric {metric!r}; known: {list(BOOTSTRAP_METRICS)}")
    if not 1 <= n_resamples <= 1_000_000:
        raise UsageError(f"n_resamples must be in [1, 1000000], got {n_resamples}")
    if not 0 < alpha < 1:
        raise UsageError(f"alpha must be in (0, 1), got {alpha}")
    t, p = np.asarray(list(y_true)), np.asarray(list(y_pred))
    if t.ndim != 1 or t.shape != p.shape or not len(t):
        raise DataError(f"y_true and y_pred must be equal, non-empty 1-D: {t.shape}, {p.shape}")
    _, codes = np.unique(np.concatenate([t, p]), return_inverse=True)
    t, p, k, n = codes[: len(t)], codes[len(t) :], int(codes.max()) + 1, len(t)
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // (n + k * k))
    stats = []
    for start in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(r, n))
        if metric == "accuracy":
            stats.append((t[idx] == p[idx]).mean(axis=1))
            continue
        cells = (np.arange(r)[:, None] * k * k + t[idx] * k + p[idx]).ravel()
        cm = np.bincount(cells, minlength=r * k * k).reshape(r, k, k)
        stats.append(_from_confusion(cm, metric))
    low, high = np.quantile(np.concatenate(stats), [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _from_confusion(cm: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` of each confusion matrix in ``cm`` ``(R, K, K)``."""
    diag = np.diagonal(cm, axis1=1, axis2=2).astype(np.float64)
    support, predicted = cm.sum(axis=2), cm.sum(axis=1)
    recall = np.divide(diag, support, out=np.zeros_like(diag), where=support > 0)
    if metric == "uar":
        return recall.sum(axis=1) / (support > 0).sum(axis=1)
    precision = np.divide(diag, predicted, out=np.zeros_like(diag), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(diag), where=denom > 0)
    if metric == "weighted_f1":
        return (f1 * support).sum(axis=1) / support.sum(axis=1)
    present = (support + predicted) > 0
    return (f1 * present).sum(axis=1) / present.sum(axis=1)


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Lin's concordance correlation coefficient of two 1-D arrays (population moments):
    ``2 cov / (var_t + var_p + (mean_t - mean_p)^2)``; 1.0 for two equal constants."""
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.ndim != 1 or t.shape != p.shape or not len(t):
        raise DataError(f"ccc needs two equal, non-empty 1-D arrays: {t.shape}, {p.shape}")
    cov = ((t - t.mean()) * (p - p.mean())).mean()
    denom = t.var() + p.var() + (t.mean() - p.mean()) ** 2
    return 1.0 if denom == 0 else float(2 * cov / denom)


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """``{name: {"ccc", "pearson_r", "mae"}}`` per target column.

    ``y_true``/``y_pred``: ``(N, k)`` (or ``(N,)`` for one target). ``names`` default to
    valence, arousal, dominance (the first ``k``). ``pearson_r`` is NaN when a column is
    constant (undefined).
    """
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    t, p = (t[:, None], p[:, None]) if t.ndim == 1 else (t, p)
    if t.ndim != 2 or t.shape != p.shape or not len(t):
        raise DataError(f"y_true and y_pred must have the same (N, k) shape: {t.shape}, {p.shape}")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise DataError("regression targets and predictions must be finite")
    k = t.shape[1]
    if names is None:
        names = DIMENSIONS[:k] if k <= len(DIMENSIONS) else [f"target_{i}" for i in range(k)]
    if len(names) != k:
        raise UsageError(f"{len(names)} names for {k} target columns")
    out = {}
    for i, name in enumerate(names):
        a, b = t[:, i], p[:, i]
        r = np.nan if a.std() == 0 or b.std() == 0 else float(np.corrcoef(a, b)[0, 1])
        out[name] = {"ccc": ccc(a, b), "pearson_r": r, "mae": float(np.abs(a - b).mean())}
    return out


def summarize_folds(folds: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation (``ddof=1``; 0 for one fold) of every numeric scalar
    over the folds' metric dicts; nested keys are joined with dots
    (``per_class.anger.f1``, ``valence.ccc``); lists (confusion matrices) are skipped.

    >>> summarize_folds([{"accuracy": 0.5}, {"accuracy": 0.7}])["accuracy"]["mean"]
    0.6
    """
    values: dict[str, list[float]] = {}
    for fold in folds:
        for key, value in _flatten(fold):
            values.setdefault(key, []).append(value)
    out = {}
    for key, vals in values.items():
        a = np.asarray(vals, dtype=np.float64)
        std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
        out[key] = {"mean": float(a.mean()), "std": std, "n": len(a)}
    return out


def _flatten(d: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, float]]:
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool
        ):
            yield name, float(value)
