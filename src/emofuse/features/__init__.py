"""Feature store and extraction: manifest rows -> encoder outputs, cached and resumable.

>>> from emofuse.features import FeatureStore, extract, load_features  # doctest: +SKIP
"""

from __future__ import annotations

from .extract import ENGINES, Summary, extract
from .store import FeatureStore, load_features

__all__ = ["ENGINES", "FeatureStore", "Summary", "extract", "load_features"]
