"""Gradient-boosted trees: scikit-learn's ``HistGradientBoostingClassifier`` and XGBoost.

XGBoost is optional (``pip install 'emofuse[xgboost]'``, or the smaller ``xgboost-cpu``
wheel, which provides the same module). :class:`XGBoostClassifier` wraps it so that it
takes any labels (XGBoost wants ``0..K-1``) and keeps its fitted booster in XGBoost's own
JSON model format, never pickle (see :mod:`emofuse.classifiers.state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import DataError, MissingExtraError
from .base import EstimatorConfig


@dataclass
class HistGBConfig(EstimatorConfig):
    """``HistGradientBoostingClassifier`` with early stopping on 10% of the rows;
    ``max_features`` is the fraction of features tried per split (faster on embeddings)."""

    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    max_bins: int = 63
    max_features: float = 0.1
    l2_regularization: float = 0.0
    early_stopping: bool = True
    class_weight: str | None = None
    seed: int = 0

    def estimator(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, max_bins=self.max_bins,
            max_features=self.max_features, l2_regularization=self.l2_regularization,
            early_stopping=self.early_stopping, class_weight=self.class_weight,
            random_state=self.seed,
        )  # fmt: skip


@dataclass
class XGBoostConfig(EstimatorConfig):
    """XGBoost (``tree_method="hist"``) through :class:`XGBoostClassifier`."""

    n_estimators: int = 100
    learning_rate: float = 0.1
    max_depth: int = 3
    subsample: float = 0.8
    colsample_bytree: float = 0.2
    n_jobs: int | None = None
    seed: int = 0

    def estimator(self) -> Any:
        _xgboost()  # fail now, with the extra's name, rather than at fit time
        return XGBoostClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            max_depth=self.max_depth, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, n_jobs=self.n_jobs, random_state=self.seed,
        )  # fmt: skip


def _xgboost() -> Any:
    try:
        import xgboost
    except ImportError:
        raise MissingExtraError("xgboost", "xgboost") from None
    return xgboost


class XGBoostClassifier(ClassifierMixin, BaseEstimator):
    """``xgboost.XGBClassifier`` for any labels; the fitted model is ``booster_``.

    Its state (``__getstate__``) holds the booster as XGBoost's JSON text, so the
    classifier serialises safely (skops) and reloads without pickle.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        max_depth: int = 3,
        subsample: float = 0.8,
        colsample_bytree: float = 0.2,
        n_jobs: int | None = None,
        random_state: int = 0,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> XGBoostClassifier:
        xgb = _xgboost()
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError("XGBoost needs at least two classes to fit")
        model = xgb.XGBClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            max_depth=self.max_depth, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, n_jobs=self.n_jobs,
            random_state=self.random_state, tree_method="hist",
        )  # fmt: skip
        model.fit(np.asarray(X, dtype=np.float32), codes)
        self.booster_ = model.get_booster()
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = self.booster_.inplace_predict(np.asarray(X, dtype=np.float32))
        p = np.asarray(p, dtype=np.float64)
        return np.column_stack([1 - p, p]) if p.ndim == 1 else p

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if "booster_" in state:
            state["booster_"] = bytes(self.booster_.save_raw(raw_format="json")).decode()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        booster = state.pop("booster_", None)
        self.__dict__.update(state)
        if booster is not None:
            self.booster_ = _xgboost().Booster(model_file=bytearray(booster.encode()))
