"""Classifiers and regressors on (fused) features: scikit-learn pipelines by name."""

from .base import (
    CLASSIFIERS,
    REGRESSORS,
    EstimatorConfig,
    build_classifier,
    build_regressor,
    classifier_config,
    classifier_names,
    regressor_config,
    regressor_names,
)

__all__ = [
    "CLASSIFIERS",
    "REGRESSORS",
    "EstimatorConfig",
    "build_classifier",
    "build_regressor",
    "classifier_config",
    "classifier_names",
    "regressor_config",
    "regressor_names",
]
