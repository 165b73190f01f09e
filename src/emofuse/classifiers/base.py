"""Classifiers and regressors on (fused) features: scikit-learn pipelines, registered by name.

Every registry entry is a config dataclass (:class:`EstimatorConfig`): its fields are the
estimator's tunable parameters (type-converted from strings, unknown keys rejected, like
encoder configs) and its ``estimator()`` builds the unfitted scikit-learn estimator.
:func:`build_classifier` / :func:`build_regressor` put a ``StandardScaler`` in front::

    >>> clf = build_classifier("logreg", C="0.5")          # strings are converted
    >>> [name for name, _ in clf.steps], clf.named_steps["model"].C
    (['scale', 'model'], 0.5)
    >>> classifier_config("rbf_svm").to_dict()["gamma"]
    'scale'

Classifiers: ``linear_svm``, ``rbf_svm`` (both sigmoid-calibrated, so they give
probabilities), ``logreg``, ``mlp`` (one hidden layer, early stopping), ``hist_gb``
(scikit-learn's histogram gradient boosting) and ``xgboost`` (``pip install
'emofuse[xgboost]'``). Every classifier takes any labels (strings or integers) and has
``predict_proba`` with columns in ``classes_`` order. Regressors (``ridge``, ``svr``,
``mlp``) predict several targets at once (valence, arousal, dominance) and standardise the
targets inside (``TransformedTargetRegressor``). Defaults are seeded (``seed``) and fit in
seconds on a few thousand 384-d rows on two cores.

Third parties register their own config class (a dataclass with ``estimator()``) with
``CLASSIFIERS.register("mine", MyConfig)`` or the entry-point group
``emofuse.classifiers`` / ``emofuse.regressors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..utils.config import Config
from ..utils.registry import Registry

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

CLASSIFIERS = Registry(
    "classifier",
    {
        "linear_svm": "emofuse.classifiers.svm:LinearSVMConfig",
        "rbf_svm": "emofuse.classifiers.svm:RBFSVMConfig",
        "logreg": "emofuse.classifiers.linear:LogRegConfig",
        "mlp": "emofuse.classifiers.mlp:MLPConfig",
        "hist_gb": "emofuse.classifiers.gbdt:HistGBConfig",
        "xgboost": "emofuse.classifiers.gbdt:XGBoostConfig",
    },
    group="emofuse.classifiers",
)

REGRESSORS = Registry(
    "regressor",
    {
        "ridge": "emofuse.classifiers.linear:RidgeConfig",
        "svr": "emofuse.classifiers.svm:SVRConfig",
        "mlp": "emofuse.classifiers.mlp:MLPRegressorConfig",
    },
    group="emofuse.regressors",
)


@dataclass
class EstimatorConfig(Config):
    """Base of classifier/regressor configs: fields are parameters, ``estimator()`` builds."""

    def estimator(self) -> Any:
        """The unfitted scikit-learn estimator these parameters describe."""
        raise NotImplementedError


def _config(registry: Registry, name: str, params: dict[str, Any]) -> EstimatorConfig:
    config_cls = registry.get(name)
    if not (isinstance(config_cls, type) and issubclass(config_cls, Config)):
        raise UsageError(f"{registry.kind} {name!r} is not a config class: {config_cls!r}")
    return config_cls.from_dict(params)


def classifier_config(name: str, **params: Any) -> EstimatorConfig:
    """The resolved config of classifier ``name`` (defaults filled in, values converted)."""
    return _config(CLASSIFIERS, name, params)


def regressor_config(name: str, **params: Any) -> EstimatorConfig:
    """The resolved config of regressor ``name``."""
    return _config(REGRESSORS, name, params)


def build_classifier(name: str, **params: Any) -> Any:
    """An unfitted ``Pipeline([("scale", StandardScaler()), ("model", <classifier>)])``.

    ``params`` go to the classifier's config (see :func:`classifier_config`); an unknown
    name or parameter is a :class:`~emofuse.errors.UsageError`.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    model = classifier_config(name, **params).estimator()
    return Pipeline([("scale", StandardScaler()), ("model", model)])


def build_regressor(name: str, **params: Any) -> Any:
    """An unfitted multi-output regression pipeline: scaler, then the regressor.

    The regressor is wrapped in ``TransformedTargetRegressor`` with a ``StandardScaler`` on
    the targets, so each target (e.g. valence, arousal, dominance) is fitted in z-units and
    predicted back on its own scale. ``fit(X, Y)`` takes ``Y`` of shape ``(N, k)`` or ``(N,)``.
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    model = regressor_config(name, **params).estimator()
    target = TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    return Pipeline([("scale", StandardScaler()), ("model", target)])


def classifier_names() -> list[str]:
    return CLASSIFIERS.names()


def regressor_names() -> list[str]:
    return REGRESSORS.names()
