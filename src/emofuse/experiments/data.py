"""A recipe's items: prepare or read its sources, pair or stack them, subsample, label.

>>> m = build_manifest(recipe)                  # doctest: +SKIP
>>> labels, y = targets_of(m, recipe)           # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from ..data.datasets import prepare
from ..data.manifest import MEDIA_COLUMNS, Manifest
from ..data.pairing import pair_manifests
from ..data.splits import strata_of
from ..errors import DataError, UsageError
from ..labels import CANONICAL
from .recipe import Recipe, SourceConfig


def build_manifest(recipe: Recipe) -> Manifest:
    """The recipe's items, validated, with only rows that carry its targets."""
    data = recipe.data
    sources = [_source(recipe, s, data.seed + i) for i, s in enumerate(data.source_configs())]
    if data.pair:
        if not 2 <= len(sources) <= 3:
            raise UsageError(f"data.pair joins 2 or 3 sources, got {len(sources)}")
        manifest, _ = pair_manifests(sources, ratio=data.pair_ratios, seed=data.seed)
    elif len(sources) == 1:
        manifest = sources[0]
    else:
        frames = [_absolute(m).frame for m in sources]
        manifest = Manifest(pd.concat(frames, ignore_index=True))
    manifest = _with_targets(manifest, recipe)
    if data.limit is not None:
        manifest = subsample(manifest, data.limit, data.seed)
    return manifest.validate()


def _source(recipe: Recipe, source: SourceConfig, seed: int) -> Manifest:
    if source.manifest is not None:
        m = Manifest.read(recipe.resolve(source.manifest))
        name = source.manifest
    else:
        m = prepare(source.corpus, recipe.resolve(source.root), **source.options)
        name = source.corpus
    if source.splits is not None:
        m = m.filter(m.frame["split"].isin(source.splits).to_numpy())
    if source.limit is not None:
        m = subsample(m, source.limit, seed)
    if not len(m):
        raise DataError(f"data source {name} has no items (splits {source.splits})")
    return m


def _absolute(manifest: Manifest) -> Manifest:
    """Media paths made absolute so manifests of different roots can be stacked."""
    f = manifest.frame.copy()
    root = os.path.abspath(manifest.root or ".")
    for c in MEDIA_COLUMNS:
        f[c] = f[c].map(lambda p: None if p is None else os.path.join(root, str(p)))
    return Manifest(f)


def subsample(manifest: Manifest, limit: int, seed: int) -> Manifest:
    """At most ``limit`` items: a seeded sample stratified by label, in manifest order."""
    if limit < 1:
        raise UsageError(f"limit must be >= 1, got {limit}")
    n = len(manifest)
    if limit >= n:
        return manifest
    from sklearn.model_selection import train_test_split

    strata = strata_of(manifest)
    counts = pd.Series(strata).value_counts()
    stratify = strata if counts.min() >= 2 and len(counts) <= limit else None
    keep, _ = train_test_split(np.arange(n), train_size=limit, stratify=stratify, random_state=seed)
    mask = np.zeros(n, bool)
    mask[keep] = True
    return manifest.filter(mask)


def _with_targets(manifest: Manifest, recipe: Recipe) -> Manifest:
    f = manifest.frame
    if recipe.task == "regression":
        missing = [t for t in recipe.targets if t not in f.columns]
        if missing:
            raise DataError(f"the data has no target column(s) {missing}")
        keep = f[recipe.targets].notna().all(axis=1).to_numpy()
    else:
        if recipe.label_column not in f.columns:
            raise DataError(f"the data has no label column {recipe.label_column!r}")
        keep = f[recipe.label_column].notna().to_numpy()
        if recipe.labels is not None:
            keep = keep & f[recipe.label_column].isin(recipe.labels).to_numpy()
    out = manifest.filter(keep)
    if not len(out):
        raise DataError(f"no item carries the recipe's {recipe.task} targets")
    return out


def targets_of(manifest: Manifest, recipe: Recipe) -> tuple[list[str], np.ndarray]:
    """``(label names, (N,) int indices)`` or ``(target names, (N, T) float)``."""
    f = manifest.frame
    if recipe.task == "regression":
        return list(recipe.targets), f[recipe.targets].to_numpy(dtype=np.float64)
    values = f[recipe.label_column].astype(str)
    present = set(values)
    if recipe.labels is not None:
        labels = list(recipe.labels)
    elif present <= set(CANONICAL):
        labels = [c for c in CANONICAL if c in present]
    else:
        labels = sorted(present)
    if len(labels) < 2:
        raise DataError(f"classification needs at least 2 labels, found {labels}")
    index = {label: i for i, label in enumerate(labels)}
    return labels, values.map(index).to_numpy(dtype=np.int64)


def describe(manifest: Manifest, recipe: Recipe) -> dict[str, Any]:
    """Counts for the report: items, per label (or target means), per split and corpus."""
    f = manifest.frame
    out: dict[str, Any] = {"items": len(f)}
    if recipe.task == "classification":
        out["per_label"] = f[recipe.label_column].value_counts().to_dict()
    else:
        out["target_mean"] = {t: float(f[t].mean()) for t in recipe.targets}
    for column in ("split", "corpus"):
        out[f"per_{column}"] = f[column].fillna("none").value_counts().to_dict()
    return out
