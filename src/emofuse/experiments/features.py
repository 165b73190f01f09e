"""A recipe's feature matrices, read through the feature store (cached, resumable).

Pretrained encoders are run once per item and encoder (the store is content-addressed,
so a second recipe over the same items computes nothing); encoders that learn from data
(``needs_fit``, e.g. ``tfidf``) are fitted on each fold's training rows only. A row whose
input failed to encode is all-NaN (a missing modality)::

    >>> x = encode_manifest(manifest, build_encoder("minilm"), "feats")  # doctest: +SKIP
    >>> x.shape                                                          # doctest: +SKIP
    (1109, 384)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data.manifest import Manifest
from ..encoders.base import build_encoder, get_entry
from ..errors import DataError, EmofuseError
from ..features import FeatureStore, extract, load_sequences
from ..features.extract import row_key
from ..features.inputs import InputOptions, item_ref, load_input
from ..features.keys import encoder_prefix
from .recipe import FeatureConfig, Recipe


def needs_fit(spec: FeatureConfig) -> bool:
    """Whether the encoder learns from data (and is therefore fitted per fold)."""
    return bool(getattr(get_entry(spec.name).cls, "needs_fit", False))


def encode_manifest(
    manifest: Manifest,
    encoder: Any,
    cache: str | Path,
    *,
    workers: int = 0,
    batch_size: int = 32,
    progress: bool = False,
) -> np.ndarray:
    """``(len(manifest), dim)`` float32 in manifest order; failed items are NaN rows.

    Rows are read by their content keys (not the store's last-extract order), so runs that
    share a store at the same time cannot read each other's rows.
    """
    path = store_path(cache, encoder)
    summary = extract(
        manifest, encoder, path, batch_size=batch_size, workers=workers, progress=progress
    )
    store, keys = FeatureStore(path), _keys(manifest, encoder)
    rows = [i for i, k in enumerate(keys) if k is not None and store.has(k)]
    if not rows:
        raise _nothing_encoded(encoder, summary)
    x = store.get([keys[i] for i in rows])
    out = np.full((len(manifest), x.shape[1]), np.nan, dtype=np.float32)
    out[rows] = x
    return out


def encode_sequences(
    manifest: Manifest,
    encoder: Any,
    cache: str | Path,
    workers: int = 0,
    batch_size: int = 32,
    progress: bool = False,
) -> np.ndarray:
    """One ``(T_i, d)`` array (``None`` when it failed) per manifest row, through the store."""
    path = store_path(cache, encoder, "-seq")
    summary = extract(
        manifest,
        encoder,
        path,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        kind="sequence",
    )
    ids, seqs = load_sequences(path)
    if not ids:
        raise _nothing_encoded(encoder, summary)
    position = {item: i for i, item in enumerate(manifest.frame["id"].astype(str))}
    out = np.empty(len(manifest), dtype=object)
    for item, seq in zip(ids, seqs):
        out[position[item]] = seq
    return out


def store_path(cache: str | Path, encoder: Any, suffix: str = "") -> Path:
    """The encoder's folder in the feature store (``-seq``: its sequences)."""
    return Path(cache) / f"{encoder.name}-{encoder.fingerprint()[:16]}{suffix}"


def _nothing_encoded(encoder: Any, summary: Any) -> DataError:
    first = next(iter(summary.errors.items()), ("?", "no items"))
    return DataError(f"{encoder.name}: no item could be encoded (e.g. {first[0]}: {first[1]})")


def _keys(manifest: Manifest, encoder: Any) -> list[str | None]:
    """Each row's feature-store key (``None`` where its input cannot be read)."""
    prefix, options = encoder_prefix(encoder), InputOptions()
    keys: list[str | None] = []
    for _, row in manifest.frame.iterrows():
        try:
            keys.append(row_key(manifest, row, encoder.modality, prefix, options)[1])
        except DataError:
            keys.append(None)
    return keys


def static_features(
    manifest: Manifest, recipe: Recipe, progress: bool = False
) -> dict[str, np.ndarray]:
    """Every feature set whose encoder is not fitted, encoded through the store."""
    out = {}
    for name, spec in recipe.feature_configs().items():
        if needs_fit(spec):
            continue
        encoder = build_encoder(spec.name, spec.config)
        out[name] = encode_manifest(
            manifest,
            encoder,
            recipe.cache,
            workers=recipe.workers,
            batch_size=recipe.batch_size,
            progress=progress,
        )
    return out


def fitted_features(
    manifest: Manifest,
    spec: FeatureConfig,
    train: np.ndarray,
    state_dir: Path,
    recipe: Recipe,
) -> np.ndarray:
    """Fit ``spec``'s encoder on the ``train`` rows (state in ``state_dir``), encode all."""
    entry = get_entry(spec.name)
    modality = entry.modality
    inputs = []
    for _, row in manifest.frame.iloc[train].iterrows():
        try:
            inputs.append(load_input(modality, item_ref(manifest, row, modality)))
        except EmofuseError:
            continue  # an unreadable item is a missing modality, here as everywhere
    if not inputs:
        raise DataError(f"{spec.name}: no training item could be read")
    config = entry.cls.fit_state(inputs, state_dir, **spec.config)
    encoder = build_encoder(spec.name, config)
    return encode_manifest(
        manifest, encoder, recipe.cache, workers=0, batch_size=max(recipe.batch_size, 256)
    )
