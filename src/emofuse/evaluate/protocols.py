"""Evaluation protocols: the folds (train, test and optional validation rows) of a manifest.

Every protocol is person-honest: each fold is checked with
:func:`~emofuse.data.splits.check_leakage`, which refuses a fold in which a person (any
``speaker`` or ``speaker_<source>`` column) is on two sides::

    >>> folds = make_folds(manifest, ProtocolConfig(name="group_kfold", k=5))  # doctest: +SKIP
    >>> [f.name for f in folds]                                                 # doctest: +SKIP
    ['s0-fold1', 's0-fold2', 's0-fold3', 's0-fold4', 's0-fold5']
    >>> loso = ProtocolConfig(name="leave_one_session_out")
    >>> loso.group_column()
    'session'

Protocols: ``official`` (the manifest's ``split`` column), ``group_kfold`` (stratified
k-fold by ``group``, e.g. speaker), ``leave_one_group_out`` and its two named cases
``leave_one_session_out`` (IEMOCAP's sessions) and ``leave_one_corpus_out``. ``seeds``
repeat every protocol (a new k-fold shuffle per seed; the classifiers are seeded too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..data.manifest import Manifest
from ..data.splits import check_leakage, group_kfold, groups_of, speaker_split
from ..errors import DataError, UsageError
from ..utils.config import Config

ProtocolName = Literal[
    "official",
    "group_kfold",
    "leave_one_group_out",
    "leave_one_session_out",
    "leave_one_corpus_out",
]
NAMED_GROUPS = {"leave_one_session_out": "session", "leave_one_corpus_out": "corpus"}
MAX_FOLDS = 1000  # a bound on what a user's recipe can ask for


@dataclass
class ProtocolConfig(Config):
    """How a manifest is cut into folds.

    ``group``: the column kept on one side (k-fold, leave-one-group-out); ``k``: folds;
    ``seeds``: repetitions; ``train_parts``/``test_parts``/``validation_parts``: the
    ``split`` values of the official protocol; ``validation``: when > 0, a person-disjoint
    fraction of each fold's training rows held out for validation (used when the fold has
    no official validation part); ``leakage_groups``: the person columns checked.
    """

    name: ProtocolName = "group_kfold"
    k: int = 5
    group: str = "speaker"
    seeds: list[int] = field(default_factory=lambda: [0])
    stratify: bool = True
    train_parts: list[str] = field(default_factory=lambda: ["train"])
    test_parts: list[str] = field(default_factory=lambda: ["test"])
    validation_parts: list[str] = field(default_factory=lambda: ["validation"])
    validation: float = 0.0
    leakage_groups: list[str] = field(default_factory=lambda: ["speaker"])

    def group_column(self) -> str:
        return NAMED_GROUPS.get(self.name, self.group)


@dataclass
class Fold:
    """Row indices (into the manifest's frame) of one fold's parts."""

    name: str
    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray | None = None
    seed: int = 0

    def parts(self) -> dict[str, np.ndarray]:
        out = {"train": self.train, "test": self.test}
        if self.validation is not None and len(self.validation):
            out["validation"] = self.validation
        return out


def make_folds(manifest: Manifest, config: ProtocolConfig) -> list[Fold]:
    """The folds of ``manifest`` under ``config``, each checked for person leakage."""
    if not config.seeds:
        raise UsageError("protocol.seeds must name at least one seed")
    if len(config.seeds) > MAX_FOLDS:
        raise UsageError(f"at most {MAX_FOLDS} seeds, got {len(config.seeds)}")
    if not 0 <= config.validation < 1:
        raise UsageError(f"protocol.validation must be in [0, 1), got {config.validation}")
    folds = []
    for seed in config.seeds:
        for name, train, test, val in _cut(manifest, config, seed):
            if val is None and config.validation > 0:
                train, val = _holdout(manifest, train, config, seed)
            prefix = f"s{seed}-" if len(config.seeds) > 1 else ""
            folds.append(Fold(prefix + name, train, test, val, seed))
    for fold in folds:
        check_fold(manifest, fold, config.leakage_groups)
    return folds


def _cut(manifest: Manifest, config: ProtocolConfig, seed: int):
    """``(name, train, test, validation or None)`` per fold for one seed."""
    f = manifest.frame
    if not len(f):
        raise DataError("the manifest is empty")
    if config.name == "official":
        split = f["split"].astype(object)
        rows = {
            part: np.flatnonzero(split.isin(getattr(config, f"{part}_parts")).to_numpy())
            for part in ("train", "test", "validation")
        }
        for part in ("train", "test"):
            if not len(rows[part]):
                found = sorted({str(s) for s in split.dropna()})
                raise DataError(
                    f"no {part} items: split values {getattr(config, f'{part}_parts')} "
                    f"not found (the manifest has {found})"
                )
        yield (
            "official",
            rows["train"],
            rows["test"],
            rows["validation"] if len(rows["validation"]) else None,
        )
        return
    group = config.group_column()
    if group not in f.columns:
        raise UsageError(f"protocol {config.name} needs a {group!r} column in the manifest")
    if config.name == "group_kfold":
        if not 2 <= config.k <= MAX_FOLDS:
            raise UsageError(f"protocol.k must be in 2..{MAX_FOLDS}, got {config.k}")
        position = {item: i for i, item in enumerate(f["id"].astype(str))}
        pairs = group_kfold(manifest, config.k, group, seed=seed, stratify=config.stratify)
        for i, (train, test) in enumerate(pairs, start=1):
            yield (
                f"fold{i}",
                np.array([position[x] for x in train.frame["id"].astype(str)]),
                np.array([position[x] for x in test.frame["id"].astype(str)]),
                None,
            )
        return
    values = groups_of(manifest, group)
    if f[group].isna().any():
        raise DataError(f"{int(f[group].isna().sum())} items have no {group}")
    unique = sorted(set(values))
    if len(unique) < 2:
        raise DataError(f"leaving one {group} out needs at least 2 values, found {unique}")
    if len(unique) > MAX_FOLDS:
        raise DataError(f"{len(unique)} values of {group}: at most {MAX_FOLDS} folds")
    for v in unique:
        yield v, np.flatnonzero(values != v), np.flatnonzero(values == v), None


def _holdout(
    manifest: Manifest, train: np.ndarray, config: ProtocolConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``train`` into (train, validation) person-disjointly by ``config.group``."""
    sub = Manifest(manifest.frame.iloc[train], manifest.root)
    group = config.group if config.group in sub.frame.columns else "speaker"
    v = config.validation
    parts = speaker_split(sub, (1 - v, v, 0.0), seed=seed, stratify=config.stratify, group=group)
    is_val = (parts.frame["split"] == "validation").to_numpy()
    return train[~is_val], train[is_val]


def check_fold(manifest: Manifest, fold: Fold, groups: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`DataError` when a person of ``groups`` is in two parts of ``fold``."""
    parts = fold.parts()
    idx = np.concatenate(list(parts.values()))
    if len(np.unique(idx)) != len(idx):
        raise DataError(f"fold {fold.name}: an item is in two parts")
    f = manifest.frame.iloc[idx].copy()
    f["split"] = np.concatenate([[p] * len(rows) for p, rows in parts.items()])
    try:
        check_leakage(Manifest(f, manifest.root), groups=tuple(groups))
    except DataError as e:
        raise DataError(f"fold {fold.name} refused: {e}") from None
