"""Linear heads: multinomial logistic regression and ridge regression."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import EstimatorConfig


@dataclass
class LogRegConfig(EstimatorConfig):
    """``LogisticRegression`` (lbfgs, multinomial); ``C`` is the inverse L2 strength."""

    C: float = 1.0
    max_iter: int = 1000
    class_weight: str | None = None  # "balanced" weighs classes by inverse frequency
    seed: int = 0

    def estimator(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=self.C, max_iter=self.max_iter, class_weight=self.class_weight,
            random_state=self.seed,
        )  # fmt: skip


@dataclass
class RidgeConfig(EstimatorConfig):
    """``RidgeCV``: the L2 strength per target is picked from ``alphas`` by efficient
    leave-one-out (one value gives a fixed ridge)."""

    alphas: list[float] = field(default_factory=lambda: [0.1, 1.0, 10.0, 100.0, 1e3, 1e4])

    def estimator(self) -> Any:
        from sklearn.linear_model import RidgeCV

        return RidgeCV(alphas=list(self.alphas), alpha_per_target=True)
