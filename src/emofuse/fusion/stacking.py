"""Stacking (``late_stacking``): a meta-classifier over out-of-fold per-modality
probabilities, like scikit-learn's ``StackingClassifier``.

Each modality's classifier is cross-validated inside ``fit`` (``cv`` stratified folds) to
get probabilities for rows it did not see; the meta-classifier (``meta_classifier``,
default logistic regression) learns from them, one block of ``C`` probabilities plus a
"missing" indicator per modality (a missing modality's block is the uniform
distribution). Then the per-modality classifiers are refitted on all their rows.
"""

from __future__ import annotations

import numpy as np

from .decision import LateFusionMethod
from .estimator import Masks, aligned_proba


class StackingFusion(LateFusionMethod):
    """Per-modality classifiers + a meta-classifier (``meta_``) on their probabilities."""

    name = "late_stacking"

    def __init__(
        self,
        classifier: str = "logreg",
        classifier_params: dict | None = None,
        meta_classifier: str = "logreg",
        meta_params: dict | None = None,
        cv: int = 5,
        seed: int = 0,
    ):
        super().__init__(classifier, classifier_params)
        self.meta_classifier = meta_classifier
        self.meta_params = meta_params
        self.cv = cv
        self.seed = seed

    def _fit_combiner(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> None:
        features = self._meta_features(self._out_of_fold(X, masks, codes))
        self.meta_ = self._classifier(self.meta_classifier, self.meta_params).fit(features, codes)

    def _combine(self, probs: dict[str, np.ndarray]) -> np.ndarray:
        return aligned_proba(self.meta_, self._meta_features(probs), len(self.classes_))

    def _meta_features(self, probs: dict[str, np.ndarray]) -> np.ndarray:
        uniform = 1.0 / len(self.classes_)
        blocks = []
        for m in self.modalities_:
            missing = np.isnan(probs[m][:, :1])
            blocks += [np.nan_to_num(probs[m], nan=uniform), missing.astype(np.float64)]
        return np.hstack(blocks)
