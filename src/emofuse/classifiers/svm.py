"""Support-vector heads: linear and RBF SVM classifiers with calibrated probabilities, SVR.

SVMs have no probabilities of their own; both classifiers are wrapped in
``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` (Platt scaling on
``calibration_cv`` internal folds, then one SVM refitted on all rows), which is what
scikit-learn recommends instead of the deprecated ``SVC(probability=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import EstimatorConfig


def _calibrated(svm: Any, cv: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(svm, method="sigmoid", cv=cv, ensemble=False)


@dataclass
class LinearSVMConfig(EstimatorConfig):
    """``LinearSVC`` (squared hinge, L2), sigmoid-calibrated."""

    C: float = 0.1
    max_iter: int = 5000
    class_weight: str | None = None
    calibration_cv: int = 3
    seed: int = 0

    def estimator(self) -> Any:
        from sklearn.svm import LinearSVC

        svm = LinearSVC(
            C=self.C, max_iter=self.max_iter, class_weight=self.class_weight,
            random_state=self.seed,
        )  # fmt: skip
        return _calibrated(svm, self.calibration_cv)


@dataclass
class RBFSVMConfig(EstimatorConfig):
    """``SVC(kernel="rbf")``, sigmoid-calibrated; ``gamma`` is a number or "scale"/"auto"."""

    C: float = 1.0
    gamma: float | str = "scale"
    class_weight: str | None = None
    calibration_cv: int = 3
    seed: int = 0

    def estimator(self) -> Any:
        from sklearn.svm import SVC

        svm = SVC(
            kernel="rbf", C=self.C, gamma=self.gamma, class_weight=self.class_weight,
            random_state=self.seed,
        )  # fmt: skip
        return _calibrated(svm, self.calibration_cv)


@dataclass
class SVRConfig(EstimatorConfig):
    """One ``SVR`` per target (``MultiOutputRegressor``); ``epsilon`` is in target z-units."""

    C: float = 1.0
    epsilon: float = 0.1
    kernel: str = "rbf"
    gamma: float | str = "scale"

    def estimator(self) -> Any:
        from sklearn.multioutput import MultiOutputRegressor
        from sklearn.svm import SVR

        svr = SVR(kernel=self.kernel, C=self.C, epsilon=self.epsilon, gamma=self.gamma)
        return MultiOutputRegressor(svr)
