"""Pair unimodal corpora into a multimodal manifest (voice + face + text of one emotion).

No public corpus here has the same people in every modality, so items of 2 or 3
unimodal manifests are joined on canonical emotion (and gender / age group where every
source has them), then split person-disjointly::

    >>> paired, stats = pair_manifests([voice, faces, texts], seed=0)   # doctest: +SKIP
    >>> paired.frame[["label_canonical", "audio", "image", "text"]].columns.size  # doctest: +SKIP
    4
    >>> stats.loc["total", "total"] == len(paired)                       # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError
from ..labels import CANONICAL
from .manifest import MEDIA_COLUMNS, Manifest
from .splits import PARTS, speaker_split

# media column -> source name, in the order sources are looked for
SOURCES: dict[str, str] = {"audio": "voice", "image": "face", "video": "video", "text": "text"}


def source_of(manifest: Manifest) -> tuple[str, str]:
    """``(source name, media column)`` of a unimodal manifest (the first filled column)."""
    for column, name in SOURCES.items():
        if manifest.frame[column].notna().any():
            return name, column
    raise DataError(f"manifest has none of the columns {list(SOURCES)} filled")


def _absolute(manifest: Manifest, column: str) -> pd.Series:
    values = manifest.frame[column]
    if column not in MEDIA_COLUMNS:
        return values
    root = os.path.abspath(manifest.root or ".")
    return values.map(lambda p: None if p is None else os.path.join(root, p))


def pair_manifests(
    manifests: Sequence[Manifest],
    *,
    on: Sequence[str] = ("label_canonical", "gender", "age_group"),
    ratio: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[Manifest, pd.DataFrame]:
    """Join 2 or 3 unimodal manifests into paired items and a label x split count table.

    Each source (named ``voice``, ``face``, ``video`` or ``text`` after its media column)
    is first split train/validation/test in ``ratio`` by person with
    :func:`~emofuse.data.splits.speaker_split`. Persons are ``speaker`` ids; a source
    without them (FER2013 faces, GoEmotions texts) counts each item as its own person,
    and MELD's speaker names count as persons. Within each split part, items meet in
    cells of ``on``: ``label_canonical`` always, other keys only when every source has
    them for every item. Each cell keeps as many items from every source as its smallest
    source has (a seeded sample, no item reused), so no person of any source is in two
    parts. Paired rows get ``id`` (``pair-NNNNNN``), ``corpus`` ``"paired"``, the fused
    ``label``/``label_canonical``, the shared keys, ``split``, and per source
    ``id_<source>``, ``corpus_<source>``, ``speaker_<source>`` and its media column
    (``audio``, ``image``, ``video`` or ``text``) holding an *absolute* path (or the text),
    so the manifest has no root and opens its media from anywhere.
    """
    if not 2 <= len(manifests) <= 3:
        raise UsageError(f"pair 2 or 3 manifests, got {len(manifests)}")
    if "label_canonical" not in on:
        raise UsageError("pairing needs 'label_canonical' in `on`")
    sources = [source_of(m) for m in manifests]
    names = [name for name, _ in sources]
    if len(set(names)) != len(names):
        raise UsageError(f"pair manifests of different modalities, got {names}")
    labeled = [m.filter(m.frame["label_canonical"].notna()) for m in manifests]
    for (name, _), m in zip(sources, labeled):
        if not len(m):
            raise DataError(f"the {name} manifest has no items with a canonical label")
    keys = [k for k in on if all(m.frame[k].notna().all() for m in labeled)]

    rng = np.random.default_rng(seed)
    tables = []
    for i, ((name, column), m) in enumerate(zip(sources, labeled)):
        split = speaker_split(m, ratio, seed=seed + i).frame
        tables.append(
            pd.DataFrame(
                {
                    **{k: split[k] for k in keys},
                    "split": split["split"],
                    f"id_{name}": split["id"],
                    f"corpus_{name}": split["corpus"],
                    f"speaker_{name}": split["speaker"],
                    column: _absolute(m, column),
                }
            )
        )
    cells = [dict(list(t.groupby([*keys, "split"], sort=True))) for t in tables]
    common = sorted(set.intersection(*(set(c) for c in cells)), key=str)
    rows = []
    for cell in common:
        groups = [c[cell] for c in cells]
        n = min(len(g) for g in groups)
        picks = [g.iloc[np.sort(rng.choice(len(g), n, replace=False))] for g in groups]
        block = picks[0].reset_index(drop=True)
        for p in picks[1:]:
            block = pd.concat(
                [block, p.drop(columns=[*keys, "split"]).reset_index(drop=True)], axis=1
            )
        rows.append(block)
    if not rows:
        raise DataError(f"no cell of {keys} holds items of every source")
    df = pd.concat(rows, ignore_index=True)
    df = df.sort_values(["split", "label_canonical"], key=_order, kind="stable")
    df = df.reset_index(drop=True)
    df.insert(0, "id", [f"pair-{i:06d}" for i in range(len(df))])
    df.insert(1, "corpus", "paired")
    df["label"] = df["label_canonical"]
    paired = Manifest(df)
    return paired, stats_table(paired)


def _order(column: pd.Series) -> pd.Series:
    ranks = {"split": PARTS, "label_canonical": CANONICAL}.get(column.name)
    if ranks is None:
        return column
    return column.map({v: i for i, v in enumerate(ranks)})


def stats_table(manifest: Manifest, by: str = "label_canonical") -> pd.DataFrame:
    """Counts of ``by`` x split with row and column totals (``total``)."""
    f = manifest.frame
    split = f["split"].fillna("none")
    table = pd.crosstab(f[by].fillna("none"), split, margins=True, margins_name="total")
    parts = [p for p in (*PARTS, "none") if p in table.columns] + sorted(
        set(table.columns) - {*PARTS, "none", "total"}
    )
    rows = [r for r in (*CANONICAL, "none") if r in table.index] + sorted(
        set(table.index) - {*CANONICAL, "none", "total"}
    )
    table = table.loc[[*rows, "total"], [*parts, "total"]]
    table.index.name, table.columns.name = by, None
    return table
