"""Two-layer perceptrons (one hidden ReLU layer + the output layer), with early stopping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import EstimatorConfig


@dataclass
class MLPConfig(EstimatorConfig):
    """``MLPClassifier(hidden_layer_sizes=(hidden,))`` trained with Adam; ``alpha`` is the
    L2 penalty; training stops when the score on a held-out ``validation_fraction``
    stalls for 10 epochs."""

    hidden: int = 256
    alpha: float = 1e-3
    learning_rate: float = 1e-3
    max_iter: int = 200
    early_stopping: bool = True
    validation_fraction: float = 0.1
    seed: int = 0

    def _kwargs(self) -> dict[str, Any]:
        return {
            "hidden_layer_sizes": (self.hidden,),
            "alpha": self.alpha,
            "learning_rate_init": self.learning_rate,
            "max_iter": self.max_iter,
            "early_stopping": self.early_stopping,
            "validation_fraction": self.validation_fraction,
            "n_iter_no_change": 10,
            "random_state": self.seed,
        }

    def estimator(self) -> Any:
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(**self._kwargs())


@dataclass
class MLPRegressorConfig(MLPConfig):
    """``MLPRegressor`` (multi-output), same parameters as the classifier."""

    def estimator(self) -> Any:
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(**self._kwargs())
