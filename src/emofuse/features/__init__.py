"""Feature store and extraction: manifest rows -> encoder outputs, cached and resumable.

>>> from emofuse.features import FeatureStore, extract, load_features  # doctest: +SKIP
>>> from emofuse.features import load_sequences, pad_sequences          # doctest: +SKIP
"""

from __future__ import annotations

from .engines import ENGINES
from .extract import Summary, extract
from .sequences import pad_sequences
from .store import FeatureStore, load_features, load_sequences

__all__ = [
    "ENGINES",
    "FeatureStore",
    "Summary",
    "extract",
    "load_features",
    "load_sequences",
    "pad_sequences",
]
