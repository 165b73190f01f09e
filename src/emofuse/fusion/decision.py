"""Late (decision-level) fusion: one classifier per modality, then their probabilities
are combined over the modalities present in each row.

- ``late_mean`` (:class:`MeanFusion`): the mean of the probabilities.
- ``late_weighted`` (:class:`WeightedFusion`): a weighted mean; the weights are searched
  on the simplex (resolution ``step``, the most even first) for the best accuracy of
  *out-of-fold* probabilities (``cv`` stratified folds inside ``fit``), ties broken by
  log-likelihood, then the per-modality classifiers are refitted on all rows. (Accuracy
  first, because the likelihood of a linear pool hardly rewards complementary modalities:
  the true class's mean probability barely depends on the weights.) A modality with
  weight 0 is used only in rows where no modality with a positive weight is present
  (then the present ones are averaged equally).
- ``late_product`` (:class:`ProbProductFusion`): the product of the probabilities
  (their geometric mean, renormalised; probabilities are floored at 1e-6).
- ``late_stacking``: see :mod:`emofuse.fusion.stacking`.

The weights of the present modalities are renormalised per row. Each modality's
classifier is fitted on the rows where it is present (``estimators_``);
:meth:`unimodal_proba` gives their probabilities and :meth:`transform` their
concatenation (a missing modality as the uniform distribution).
"""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from .estimator import FusionMethod, Masks, aligned_proba, folds

MAX_CANDIDATES = 20_000  # weight vectors tried by WeightedFusion


class LateFusionMethod(FusionMethod):
    """Per-modality classifiers (``estimators_``) and a rule that combines them."""

    kind = "late"

    def __init__(self, classifier: str = "logreg", classifier_params: dict | None = None):
        self.classifier = classifier
        self.classifier_params = classifier_params

    def _fit(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> None:
        for m in self.modalities_:
            if len(np.unique(codes[masks[m]])) < 2:
                raise DataError(f"modality {m!r}: its rows hold a single class")
        self._fit_combiner(X, masks, codes)
        self.estimators_ = {m: self._classifier().fit(X[m][masks[m]], codes[masks[m]])
                            for m in self.modalities_}  # fmt: skip

    def _fit_combiner(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> None:
        """Learn how to combine (before ``estimators_`` exist); nothing for fixed rules."""

    def _combine(self, probs: dict[str, np.ndarray]) -> np.ndarray:
        """``(N, C)`` from per-modality probabilities (NaN rows where missing)."""
        raise NotImplementedError

    def _proba(self, X: dict[str, np.ndarray], masks: Masks) -> np.ndarray:
        return self._combine(self._unimodal(X, masks))

    def unimodal_proba(self, X: Any) -> dict[str, np.ndarray]:
        """Each modality's own ``(N, C)`` probabilities; NaN rows where it is missing."""
        return self._unimodal(*self._checked(X))

    def transform(self, X: Any) -> np.ndarray:
        """The per-modality probabilities side by side ``(N, M * C)`` (``modalities_``
        order); a missing modality contributes the uniform distribution."""
        probs = self.unimodal_proba(X)
        uniform = 1.0 / len(self.classes_)
        return np.hstack([np.nan_to_num(probs[m], nan=uniform) for m in self.modalities_])

    def _unimodal(self, X: dict[str, np.ndarray], masks: Masks) -> dict[str, np.ndarray]:
        out = {}
        for m in self.modalities_:
            p = np.full((len(masks[m]), len(self.classes_)), np.nan)
            p[masks[m]] = aligned_proba(self.estimators_[m], X[m][masks[m]], len(self.classes_))
            out[m] = p
        return out

    def _out_of_fold(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> dict:
        """Per modality, probabilities from classifiers that did not see the row."""
        out = {}
        for m in self.modalities_:
            rows, y = X[m][masks[m]], codes[masks[m]]
            p = np.zeros((len(rows), len(self.classes_)))
            for train, val in folds(y, self.cv, self.seed):
                clf = self._classifier().fit(rows[train], y[train])
                p[val] = aligned_proba(clf, rows[val], len(self.classes_))
            full = np.full((len(codes), len(self.classes_)), np.nan)
            full[masks[m]] = p
            out[m] = full
        return out


def _nanmean(stack: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no modality: NaN
        return np.nanmean(stack, axis=0)


class MeanFusion(LateFusionMethod):
    """The mean of the per-modality probabilities."""

    name = "late_mean"

    def _combine(self, probs: dict[str, np.ndarray]) -> np.ndarray:
        return _nanmean(np.stack([probs[m] for m in self.modalities_]))


class ProbProductFusion(LateFusionMethod):
    """The renormalised product (geometric mean) of the per-modality probabilities."""

    name = "late_product"

    def _combine(self, probs: dict[str, np.ndarray]) -> np.ndarray:
        logs = np.log(np.clip(np.stack([probs[m] for m in self.modalities_]), 1e-6, None))
        p = np.exp(_nanmean(logs))
        return p / p.sum(axis=1, keepdims=True)


class WeightedFusion(LateFusionMethod):
    """A weighted mean with weights (``weights_``) tuned on out-of-fold probabilities."""

    name = "late_weighted"

    def __init__(
        self,
        classifier: str = "logreg",
        classifier_params: dict | None = None,
        step: float = 0.1,
        cv: int = 5,
        seed: int = 0,
    ):
        super().__init__(classifier, classifier_params)
        self.step = step
        self.cv = cv
        self.seed = seed

    def _fit_combiner(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> None:
        candidates = simplex_grid(len(self.modalities_), self.step)
        probs = self._out_of_fold(X, masks, codes)
        rows = np.arange(len(codes))
        best, best_score = None, (-np.inf, -np.inf)
        for w in candidates:
            p = _weighted(probs, dict(zip(self.modalities_, w)))
            score = (
                float((p.argmax(axis=1) == codes).mean()),
                float(np.log(np.clip(p[rows, codes], 1e-12, None)).mean()),
            )
            if score > best_score:
                best, best_score = w, score
        self.weights_ = {m: float(v) for m, v in zip(self.modalities_, best)}

    def _used(self, masks: Masks) -> Masks:
        # weight 0: unused, unless no modality with a positive weight is present in the row
        positive = np.zeros(len(next(iter(masks.values()))), dtype=bool)
        for m, w in self.weights_.items():
            positive |= masks[m] & (w > 0)
        return {m: masks[m] & ((w > 0) | ~positive) for m, w in self.weights_.items()}

    def _combine(self, probs: dict[str, np.ndarray]) -> np.ndarray:
        return _weighted(probs, self.weights_)


def _weighted(probs: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean over the present modalities (plain mean where their weights are 0)."""
    stack = np.stack([probs[m] for m in weights])
    w = np.array([weights[m] for m in weights])[:, None, None] * ~np.isnan(stack[..., :1])
    total = w.sum(axis=0)
    fused = np.nansum(stack * w, axis=0) / np.where(total > 0, total, 1.0)
    return np.where(total > 0, fused, _nanmean(stack))


def simplex_grid(n: int, step: float) -> np.ndarray:
    """Every weight vector of length ``n`` with entries in multiples of ``step`` summing
    to 1 (stars and bars), first the uniform-most ones; at most ``MAX_CANDIDATES``."""
    if not 0 < step <= 1:
        raise UsageError(f"step must be in (0, 1], got {step}")
    k = round(1 / step)
    count = _binom(k + n - 1, n - 1)
    if count > MAX_CANDIDATES:
        raise UsageError(f"{count} weight combinations for {n} modalities; use a larger step")
    rows = []
    for bars in combinations(range(k + n - 1), n - 1):
        edges = (-1, *bars, k + n - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(n)])
    grid = np.array(rows, dtype=np.float64) / k
    return grid[np.argsort(grid.var(axis=1), kind="stable")]


def _binom(a: int, b: int) -> int:
    from math import comb

    return comb(a, b)
