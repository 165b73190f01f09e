"""Text corpora for the text recipe: manifests, soft targets, the holdout, dialogue context,
and embeddings through the feature store.

MELD and GoEmotions (Ekman) come from their corpus manifests
(:func:`emofuse.data.datasets.prepare`); texts are embedded by :func:`emofuse.features.extract`
into one store per corpus and split under ``cache_dir/<encoder name>/``, so a rerun
embeds nothing again::

    >>> df = load_text_corpora(Path("../shared/data"), limit=100)          # doctest: +SKIP
    >>> emb = embed_texts(df, build_encoder("minilm"), Path(".cache/emofuse"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.datasets import prepare
from ..data.manifest import Manifest
from ..errors import DataError
from ..features import extract, load_features
from ..labels import CANONICAL, MAPPINGS
from .evaluation import grouped_holdout

#: texts per encoder call (and per feature-store shard)
EMBED_BATCH = 1024


def load_text_corpora(data_root: Path, limit: int | None = None, seed: int = 0) -> pd.DataFrame:
    """MELD + GoEmotions (Ekman) train/dev rows; ``labels``: each row's canonical labels.

    ``limit`` keeps a seeded random subset of that many rows per corpus and split.
    """
    meld = prepare("meld", Path(data_root) / "meld").frame
    meld["labels"] = meld["label_canonical"].map(lambda c: [c])
    goemo = prepare("goemotions", Path(data_root) / "goemotions", label_set="ekman").frame
    goemo["labels"] = goemo["labels"].map(lambda ls: [MAPPINGS["goemotions_ekman"][x] for x in ls])
    df = pd.concat([meld[goemo.columns.intersection(meld.columns)], goemo], ignore_index=True)
    # MELD utterance order within a dialogue (dialogue context); -1 for GoEmotions.
    utt = meld["utterance"] if "utterance" in meld else pd.Series(-1, index=meld.index)
    df["utterance"] = np.concatenate([utt.to_numpy(), np.full(len(goemo), -1)]).astype(int)
    df = df[df["split"].isin(["train", "dev"])]
    if limit is not None:
        df = (
            df.sample(frac=1.0, random_state=seed)
            .groupby(["corpus", "split"])
            .head(limit)
            .sort_index()
        )
    return df.reset_index(drop=True)


def embed_texts(
    df: pd.DataFrame, encoder: Any, cache_dir: Path, progress: bool = False
) -> np.ndarray:
    """``(len(df), encoder.dim)`` float32 vectors of ``df["text"]``, from the feature store.

    One store per (corpus, split) under ``cache_dir/<encoder name>/``; items already there
    are read, not encoded. A text the encoder rejects is a :class:`DataError`.
    """
    emb = np.zeros((len(df), encoder.dim), dtype=np.float32)
    for (corpus, split), idx in df.groupby(["corpus", "split"], sort=False).groups.items():
        rows = df.index.get_indexer(idx)
        part = Manifest(df.loc[idx, ["id", "corpus", "text", "split"]].copy())
        store = Path(cache_dir) / encoder.name / f"{corpus}-{split}"
        summary = extract(part, encoder, store, batch_size=EMBED_BATCH, workers=0,
                          progress=progress)  # fmt: skip
        if summary.failed:
            item, error = next(iter(summary.errors.items()))
            raise DataError(f"{summary.failed} {corpus} {split} texts failed ({item}: {error})")
        ids, x = load_features(store)
        if len(ids) != len(rows):
            raise DataError(f"feature store {store} returned {len(ids)} of {len(rows)} texts")
        emb[rows] = x
    return emb


def soft_targets(labels: pd.Series) -> np.ndarray:
    """Spread each item's weight evenly over its canonical labels: ``(N, 7)`` float32."""
    t = np.zeros((len(labels), len(CANONICAL)), dtype=np.float32)
    for i, ls in enumerate(labels):
        for c in ls:
            t[i, CANONICAL.index(c)] += 1.0 / len(ls)
    return t


def holdout_split(
    df: pd.DataFrame, frac: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(fit, holdout)`` masks over the train rows: MELD by dialogue, GoEmotions by comment."""
    rng = np.random.default_rng(seed)
    train = df["split"].eq("train").to_numpy()
    is_meld = df["corpus"].eq("meld").to_numpy()
    dialogue = np.full(len(df), -1, dtype=np.int64)
    dialogue[is_meld] = df.loc[is_meld, "dialogue"].astype(int).to_numpy()
    hold = grouped_holdout(dialogue, train & is_meld, frac, rng)
    hold |= grouped_holdout(np.arange(len(df)), train & ~is_meld, frac, rng)
    return train & ~hold, hold


def context_embeddings(df: pd.DataFrame, emb: np.ndarray) -> np.ndarray:
    """Embedding of each MELD row's previous utterance in its dialogue; zeros otherwise."""
    ctx = np.zeros_like(emb)
    prev = _previous_row(df)
    has = prev >= 0
    ctx[has] = emb[prev[has]]
    return ctx


def previous_texts(df: pd.DataFrame) -> list[list[str]]:
    """Each row's earlier utterances of the same MELD dialogue, oldest first ([] otherwise)."""
    prev = _previous_row(df)
    texts = df["text"].tolist()
    out: list[list[str]] = [[] for _ in range(len(df))]
    for i in np.argsort(df["utterance"].to_numpy(), kind="stable"):
        if prev[i] >= 0:
            out[i] = out[prev[i]] + [texts[prev[i]]]
    return out


def _previous_row(df: pd.DataFrame) -> np.ndarray:
    """Row index of each MELD row's previous utterance in its dialogue; -1 otherwise."""
    prev = np.full(len(df), -1, dtype=np.int64)
    meld = df.index[df["corpus"].eq("meld")]
    if len(meld) == 0:
        return prev
    sub = df.loc[meld, ["split", "dialogue", "utterance"]].copy()
    sub["row"] = df.index.get_indexer(meld)
    sub = sub.sort_values(["split", "dialogue", "utterance"], kind="stable")
    same = sub["split"].eq(sub["split"].shift()) & sub["dialogue"].eq(sub["dialogue"].shift())
    before = sub["row"].shift().fillna(-1).astype(np.int64).to_numpy()
    prev[sub["row"].to_numpy()] = np.where(same.to_numpy(), before, -1)
    return prev


def eval_sets(
    df: pd.DataFrame, mask: np.ndarray, suffix: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``meld_{suffix}``/``goemotions_{suffix}`` -> (row indices, label ids); single-label."""
    single = mask & df["labels"].map(len).eq(1).to_numpy()
    out = {}
    for corpus in ("meld", "goemotions"):
        rows = np.flatnonzero(single & df["corpus"].eq(corpus).to_numpy())
        y = np.array([CANONICAL.index(df["labels"].iat[i][0]) for i in rows], dtype=np.int64)
        out[f"{corpus}_{suffix}"] = (rows, y)
    return out


def item_weights(
    corpus: np.ndarray, y: np.ndarray, class_power: float, corpus_balance: float
) -> np.ndarray:
    """Per-item weights: class weights ``(n_c / n_max)^-class_power``, then corpus balance.

    ``corpus_balance`` 0 weighs every item alike, 1 gives each corpus equal total weight.
    """
    counts = y.sum(0)
    cw = np.where(counts > 0, (np.maximum(counts, 1e-9) / counts.max()) ** -class_power, 0.0)
    w = (y * cw).sum(1)
    names, n = np.unique(corpus, return_counts=True)
    for name, k in zip(names, n, strict=True):
        w[corpus == name] *= (len(corpus) / (len(names) * k)) ** corpus_balance
    return (w / w.mean()).astype(np.float32)


def expand_soft(rows: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Soft targets -> (row, label id, weight) triples for a hard-label classifier."""
    r, c = np.nonzero(y)
    return rows[r], c.astype(np.int64), (y[r, c] * w[r]).astype(np.float64)
