"""The fusion registry: fusion methods by name, built from plain data.

    >>> build_fusion("early_sum", projection="pca", dim="16").dim      # strings converted
    16
    >>> "late_stacking" in fusion_names()
    True

Early fusion (a classifier on fused features): ``early_concat``, ``early_sum``,
``early_product`` (:mod:`emofuse.fusion.early`). Late fusion (one classifier per modality,
then their probabilities are combined): ``late_mean``, ``late_weighted``, ``late_product``
(:mod:`emofuse.fusion.decision`) and ``late_stacking`` (:mod:`emofuse.fusion.stacking`).
Every method is a scikit-learn estimator on ``X = {modality: (N, d) array}`` (see
:class:`~emofuse.fusion.estimator.FusionMethod`); third parties register theirs with
``FUSIONS.register(name, cls)`` or the entry-point group ``emofuse.fusions``.

The bundled Recognizer's weighted average of fixed per-modality models is the separate
:class:`~emofuse.fusion.late.LateFusion`.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from ..errors import UsageError
from ..utils.config import convert_value
from ..utils.registry import Registry

__all__ = ["FUSIONS", "build_fusion", "fusion_names"]

FUSIONS = Registry(
    "fusion",
    {
        "early_concat": "emofuse.fusion.early:ConcatFusion",
        "early_sum": "emofuse.fusion.early:SumFusion",
        "early_product": "emofuse.fusion.early:ProductFusion",
        "late_mean": "emofuse.fusion.decision:MeanFusion",
        "late_weighted": "emofuse.fusion.decision:WeightedFusion",
        "late_product": "emofuse.fusion.decision:ProbProductFusion",
        "late_stacking": "emofuse.fusion.stacking:StackingFusion",
        # networks (trained by the fit loop, so they live in emofuse.train)
        "attention": "emofuse.train.attention:AttentionFusion",
        "biencoder": "emofuse.train.biencoder:BiEncoderFusion",
        "realtime": "emofuse.train.realtime:RealtimeFusion",
    },
    group="emofuse.fusions",
)


def build_fusion(
    name: str, classifier: str = "logreg", classifier_params: dict | None = None, **params: Any
) -> Any:
    """An unfitted fusion method ``name`` using classifier ``classifier``.

    ``classifier``/``classifier_params`` name a registered classifier
    (:func:`~emofuse.classifiers.build_classifier`): the one on fused features (early) or
    the one per modality (late). ``params`` are the method's other constructor arguments,
    converted to their annotated types; an unknown name, parameter or value is a
    :class:`~emofuse.errors.UsageError`.
    """
    from ..classifiers import classifier_config

    cls = FUSIONS.get(name)
    classifier_config(classifier, **(classifier_params or {}))  # fail early on a typo
    signature = inspect.signature(cls.__init__)
    hints = typing.get_type_hints(cls.__init__)
    accepted = [p for p in signature.parameters if p not in ("self", "classifier")]
    converted: dict[str, Any] = {}
    for key, value in params.items():
        if key not in accepted:
            raise UsageError(f"fusion {name!r} has no parameter {key!r}; parameters: {accepted}")
        try:
            converted[key] = convert_value(value, hints.get(key, Any))
        except (TypeError, ValueError) as e:
            raise UsageError(f"fusion {name!r}, {key}: {e}") from None
    return cls(classifier=classifier, classifier_params=dict(classifier_params or {}), **converted)


def fusion_names() -> list[str]:
    return FUSIONS.names()
