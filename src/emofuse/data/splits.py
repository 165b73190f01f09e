"""Honest splits: person-disjoint train/validation/test, group k-fold, leave-one-group-out.

Items whose person is unknown (``speaker`` is ``None``) count as their own person. Every
function is deterministic for a seed::

    >>> m = speaker_split(prepare("ravdess", "../shared/data/ravdess"))  # doctest: +SKIP
    >>> check_leakage(m).empty                                          # doctest: +SKIP
    True
    >>> [name for name, _, _ in leave_one_group_out(iemocap, "session")]  # doctest: +SKIP
    ['Ses01', 'Ses02', 'Ses03', 'Ses04', 'Ses05']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError
from .manifest import Manifest

PARTS: tuple[str, ...] = ("train", "validation", "test")


def groups_of(manifest: Manifest, group: str = "speaker") -> np.ndarray:
    """Person (or session) of each item; items without one are their own group."""
    f = manifest.frame
    if group not in f.columns:
        raise UsageError(f"no column {group!r} in the manifest")
    values = f[group].astype(object)
    missing = values.isna()
    return np.where(missing, "item:" + f["id"].astype(str), values.astype(str)).astype(str)


def strata_of(manifest: Manifest) -> np.ndarray:
    """Canonical label (native label where there is none) of each item, as strings."""
    f = manifest.frame
    labels = f["label_canonical"].where(f["label_canonical"].notna(), f["label"])
    return labels.fillna("?").astype(str).to_numpy()


def _holdout(y, groups, frac: float, seed: int, stratify: bool) -> np.ndarray:
    """Boolean mask of a group-disjoint holdout of about ``frac`` of the items."""
    from sklearn.model_selection import (
        GroupShuffleSplit,
        StratifiedGroupKFold,
        StratifiedShuffleSplit,
    )

    n_groups = len(set(groups))
    if frac <= 0 or n_groups < 2:
        return np.zeros(len(y), bool)
    k = min(max(2, round(1 / frac)), n_groups)
    if stratify and n_groups == len(y) and min(np.unique(y, return_counts=True)[1]) >= 2:
        # every item is its own person: a plain stratified split (much faster)
        cv = StratifiedShuffleSplit(n_splits=1, test_size=frac, random_state=seed)
        _, held = next(cv.split(np.zeros(len(y)), y))
    elif stratify:
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        _, held = next(cv.split(np.zeros(len(y)), y, groups))
    else:
        cv = GroupShuffleSplit(n_splits=1, test_size=frac, random_state=seed)
        _, held = next(cv.split(np.zeros(len(y)), y, groups))
    mask = np.zeros(len(y), bool)
    mask[held] = True
    return mask


def speaker_split(
    manifest: Manifest,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    stratify: bool = True,
    group: str = "speaker",
    keep_official: bool = False,
) -> Manifest:
    """Assign ``split`` (train/validation/test) so that no ``group`` spans two parts.

    Stratified by canonical label (sklearn's ``StratifiedGroupKFold``) when ``stratify``;
    the ratios hold in groups, so they are approximate for few groups. With
    ``keep_official``, a manifest whose every item already has a split is returned as is.
    """
    if len(ratios) != 3 or any(r < 0 for r in ratios) or not np.isclose(sum(ratios), 1):
        raise UsageError(f"ratios must be 3 non-negative numbers summing to 1, got {ratios}")
    f = manifest.frame.copy()
    if keep_official and f["split"].notna().all() and len(f):
        return Manifest(f, manifest.root)
    y, groups = strata_of(manifest), groups_of(manifest, group)
    split = np.full(len(f), "train", dtype=object)
    test = _holdout(y, groups, ratios[2], seed, stratify)
    split[test] = "test"
    rest = np.flatnonzero(~test)
    val_frac = ratios[1] / (ratios[0] + ratios[1]) if ratios[0] + ratios[1] > 0 else 0.0
    val = _holdout(y[rest], groups[rest], val_frac, seed + 1, stratify)
    split[rest[val]] = "validation"
    f["split"] = split
    return Manifest(f, manifest.root)


def group_kfold(
    manifest: Manifest, k: int, group: str = "speaker", seed: int = 0, stratify: bool = True
) -> list[tuple[Manifest, Manifest]]:
    """``k`` (train, test) pairs whose test parts are group-disjoint and cover every item."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    y, groups = strata_of(manifest), groups_of(manifest, group)
    if len(set(groups)) < k:
        raise DataError(f"{k} folds need at least {k} {group}s, found {len(set(groups))}")
    if stratify:
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        cv = GroupKFold(n_splits=k)
    return [
        (_take(manifest, tr, "train"), _take(manifest, te, "test"))
        for tr, te in cv.split(np.zeros(len(y)), y, groups)
    ]


def leave_one_group_out(
    manifest: Manifest, group: str = "session"
) -> list[tuple[str, Manifest, Manifest]]:
    """One ``(group value, train, test)`` fold per value of ``group`` (e.g. IEMOCAP sessions)."""
    values = manifest.frame[group]
    if values.isna().any():
        raise DataError(f"{int(values.isna().sum())} items have no {group}")
    return [
        (
            str(v),
            _take(manifest, np.flatnonzero(values != v), "train"),
            _take(manifest, np.flatnonzero(values == v), "test"),
        )
        for v in sorted(values.unique(), key=str)
    ]


def _take(manifest: Manifest, idx: np.ndarray, part: str) -> Manifest:
    f = manifest.frame.iloc[np.sort(idx)].copy()
    f["split"] = part
    return Manifest(f, manifest.root)


def person_columns(manifest: Manifest, groups: Sequence[str] = ("speaker",)) -> list[str]:
    """``groups`` present in the frame plus per-source ones (``speaker_face``, ...)."""
    cols = manifest.frame.columns
    return [c for g in groups for c in cols if c == g or c.startswith(f"{g}_")]


def check_leakage(
    manifest: Manifest, groups: Sequence[str] = ("speaker",), allow: bool = False
) -> pd.DataFrame:
    """Persons found in more than one split part, per person column.

    Returns the report (columns ``column, person, parts``; empty when clean). Unless
    ``allow``, a non-empty report raises :class:`DataError` naming the leaking persons.
    """
    f = manifest.frame
    rows = []
    for col in person_columns(manifest, groups):
        known = f[f[col].notna() & f["split"].notna()]
        parts = known.groupby(known[col].astype(str))["split"].agg(lambda s: sorted(set(s)))
        for person, where in parts.items():
            if len(where) > 1:
                rows.append({"column": col, "person": person, "parts": ",".join(where)})
    report = pd.DataFrame(rows, columns=["column", "person", "parts"])
    if len(report) and not allow:
        shown = "; ".join(
            f"{r.column} {r.person} in {r.parts}" for r in report.head(10).itertuples()
        )
        more = f" (and {len(report) - 10} more)" if len(report) > 10 else ""
        raise DataError(f"{len(report)} persons leak across split parts: {shown}{more}")
    return report
