"""Fusion of modalities: registered scikit-learn style methods, and the Recognizer's
late fusion of the bundled models (:class:`LateFusion`).

The estimator classes (they import scikit-learn) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import FUSIONS, build_fusion, fusion_names
from .late import LateFusion

_LAZY = {
    "FusionMethod": "estimator",
    "LateFusionMethod": "decision",
    "ConcatFusion": "early",
    "SumFusion": "early",
    "ProductFusion": "early",
    "MeanFusion": "decision",
    "WeightedFusion": "decision",
    "ProbProductFusion": "decision",
    "StackingFusion": "stacking",
    "save_estimator": "state",
    "load_estimator": "state",
}

__all__ = ["FUSIONS", "LateFusion", "build_fusion", "fusion_names", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
