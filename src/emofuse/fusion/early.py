"""Early (feature-level) fusion: fuse the modalities' features, then one classifier.

- ``early_concat`` (:class:`ConcatFusion`): each modality standardised, concatenated.
- ``early_sum`` / ``early_product`` (:class:`SumFusion`, :class:`ProductFusion`): each
  modality projected to a common size, then summed / multiplied element-wise.
  ``projection="linear"`` (default) is a ridge map from the standardised features to the
  one-hot class targets (strength picked by leave-one-out from ``alphas``): the common
  size is the number of classes and column *k* is each modality's evidence for class *k*,
  so sums and products line up across modalities. The classifier is trained on
  *out-of-fold* projections (``cv`` folds), so it sees them as they will be at test time.
  ``projection="pca"`` is a whitened PCA to ``dim`` components per modality (unsupervised;
  the components of two modalities do not correspond, so a product only carries their
  interactions).

Missing modality rows are imputed before fusing (zeros after standardisation for
concatenation; the modality's mean projection over its training rows for a sum or a
product) and flagged: the fused features end with one 0/1 "present" column per modality.
The classifier (``classifier``, ``classifier_params``: see
:func:`~emofuse.classifiers.build_classifier`) is trained on the fused features;
:meth:`transform` returns them.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import UsageError
from .estimator import FusionMethod, Masks, folds

ALPHAS = (0.1, 1.0, 10.0, 100.0, 1e3, 1e4)


class _EarlyFusion(FusionMethod):
    kind = "early"

    def _fit(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> None:
        fused = self._fit_fused(X, masks, codes)
        self.classifier_ = self._classifier().fit(fused, codes)

    def _proba(self, X: dict[str, np.ndarray], masks: Masks) -> np.ndarray:
        from .estimator import aligned_proba

        return aligned_proba(self.classifier_, self._fused(X, masks), len(self.classes_))

    def transform(self, X: Any) -> np.ndarray:
        X, masks = self._checked(X)
        return self._fused(X, masks)

    def _fit_fused(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fused(self, X: dict[str, np.ndarray], masks: Masks) -> np.ndarray:
        raise NotImplementedError

    def _flags(self, masks: Masks) -> np.ndarray:
        return np.stack([masks[m] for m in self.modalities_], axis=1).astype(np.float32)


class ConcatFusion(_EarlyFusion):
    """Concatenated standardised features (+ presence flags), then one classifier."""

    name = "early_concat"

    def __init__(self, classifier: str = "logreg", classifier_params: dict | None = None):
        self.classifier = classifier
        self.classifier_params = classifier_params

    def _fit_fused(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> np.ndarray:
        self.center_, self.scale_ = {}, {}
        for m in self.modalities_:
            self.center_[m], self.scale_[m] = _standardiser(X[m][masks[m]].astype(np.float64))
        return self._fused(X, masks)

    def _fused(self, X: dict[str, np.ndarray], masks: Masks) -> np.ndarray:
        parts = []
        for m in self.modalities_:
            z = (X[m] - self.center_[m]) / self.scale_[m]
            parts.append(np.where(masks[m][:, None], z, 0.0).astype(np.float32))
        return np.hstack([*parts, self._flags(masks)])


class _ProjectedFusion(_EarlyFusion):
    """Each modality mapped by an affine ``x @ projection_[m] + offset_[m]``, then combined."""

    def __init__(
        self,
        classifier: str = "logreg",
        classifier_params: dict | None = None,
        projection: Literal["linear", "pca"] = "linear",
        dim: int = 64,
        cv: int = 5,
        seed: int = 0,
    ):
        self.classifier = classifier
        self.classifier_params = classifier_params
        self.projection = projection
        self.dim = dim
        self.cv = cv
        self.seed = seed

    def _combine(self, parts: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _fit_fused(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> np.ndarray:
        if self.projection not in ("linear", "pca"):
            raise UsageError(f"projection must be 'linear' or 'pca', got {self.projection!r}")
        if self.dim < 1 or self.cv < 2:
            raise UsageError(f"need dim >= 1 and cv >= 2, got dim={self.dim}, cv={self.cv}")
        size = min([self.dim] + [X[m].shape[1] for m in X] + [int(k.sum()) for k in masks.values()])
        self.projection_, self.offset_, self.fill_ = {}, {}, {}
        train_parts = []
        for m in self.modalities_:
            rows, y = X[m][masks[m]].astype(np.float64), codes[masks[m]]
            if self.projection == "pca":
                w, b = _pca_map(rows, size, self.seed)
                projected = rows @ w + b
            else:
                w, b = _ridge_map(rows, y, len(self.classes_))
                projected = np.zeros((len(rows), len(self.classes_)))
                for train, val in folds(y, self.cv, self.seed):
                    fw, fb = _ridge_map(rows[train], y[train], len(self.classes_))
                    projected[val] = rows[val] @ fw + fb
            self.projection_[m], self.offset_[m] = w, b
            self.fill_[m] = (rows @ w + b).mean(axis=0)
            part = np.tile(self.fill_[m], (len(codes), 1))
            part[masks[m]] = projected
            train_parts.append(part)
        return np.hstack([self._combine(train_parts), self._flags(masks)]).astype(np.float32)

    def _fused(self, X: dict[str, np.ndarray], masks: Masks) -> np.ndarray:
        parts = []
        for m in self.modalities_:
            p = X[m].astype(np.float64) @ self.projection_[m] + self.offset_[m]
            parts.append(np.where(masks[m][:, None], p, self.fill_[m]))
        return np.hstack([self._combine(parts), self._flags(masks)]).astype(np.float32)


class SumFusion(_ProjectedFusion):
    """Sum of the projected modalities (+ presence flags), then one classifier."""

    name = "early_sum"

    def _combine(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.sum(parts, axis=0)


class ProductFusion(_ProjectedFusion):
    """Element-wise product of the projected modalities (+ presence flags), then one
    classifier."""

    name = "early_product"

    def _combine(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.prod(parts, axis=0)


def _standardiser(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    center = rows.mean(axis=0)
    std = rows.std(axis=0)
    return center, np.where(std > 1e-12, std, 1.0)


def _pca_map(rows: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardise, then whitened PCA to ``size`` components, as one affine map."""
    from sklearn.decomposition import PCA

    center, scale = _standardiser(rows)
    pca = PCA(n_components=size, random_state=seed).fit((rows - center) / scale)
    w = pca.components_.T / np.sqrt(np.maximum(pca.explained_variance_, 1e-12))
    w = w / scale[:, None]
    return w, -(center + pca.mean_ * scale) @ w


def _ridge_map(rows: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardise, then ridge to one-hot targets, as one affine map ``(d, n_classes)``."""
    from sklearn.linear_model import RidgeCV

    center, scale = _standardiser(rows)
    ridge = RidgeCV(alphas=ALPHAS).fit((rows - center) / scale, np.eye(n_classes)[y])
    w = ridge.coef_.T / scale[:, None]
    return w, ridge.intercept_ - center @ w
