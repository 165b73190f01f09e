"""Transfer protocols for the voice recipe: statement hold-out across actor folds.

RAVDESS actors say two sentences (statement 1 "Kids are talking by the door", 2 "Dogs are
sitting by the door"). Each actor fold trains on the *other* actors' clips of one statement
and scores its test actors on the same statement and on the other one; the gap (same minus
other) is what the model learned about the sentence rather than the emotion. Recording
conditions (telephone band, reverb, MP3, gain) are scored by
:func:`~emofuse.train.voice_cv.cross_validate_voice` (``conditions=``)::

    >>> r = statement_holdout_voice(Path("../shared/data/ravdess"),
    ...                             Path("runs/voice/statement.json"))   # doctest: +SKIP
    >>> r["summary"]["canonical"]["gap"]["mean"]                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from ..utils.io import write_atomic
from .evaluation import mean_std
from .voice_cv import actor_folds, fold_scores, recipe_corpus, resume_folds
from .voice_recipe import (
    CV_ACTORS,
    Recipe,
    check_preprocessing,
    fit_network,
    network_config,
    network_logits,
    span,
)

STATEMENTS = (1, 2)


def statement_split(
    actor: np.ndarray, statement: np.ndarray, test_actors: Iterable[int], train_statement: int
) -> dict[str, np.ndarray]:
    """Row indices: ``train`` (other actors, ``train_statement``), ``same`` / ``other``
    (test actors, that statement / the other one). Refuses any actor or statement leak."""
    actor, statement, test = np.asarray(actor), np.asarray(statement), sorted(test_actors)
    if train_statement not in STATEMENTS:
        raise UsageError(f"train_statement must be 1 or 2, got {train_statement}")
    is_test = np.isin(actor, test)
    if not is_test.any() or is_test.all():
        raise DataError(f"test actors {test} leave no test or no training clips")
    split = {
        "train": np.flatnonzero(~is_test & (statement == train_statement)),
        "same": np.flatnonzero(is_test & (statement == train_statement)),
        "other": np.flatnonzero(is_test & (statement != train_statement)),
    }
    check_disjoint(actor, statement, split["train"], split["other"], statements=True)
    check_disjoint(actor, statement, split["train"], split["same"], statements=False)
    return split


def check_disjoint(
    actor: np.ndarray,
    statement: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    statements: bool = True,
) -> None:
    """:class:`DataError` when ``train`` and ``test`` rows share an actor (or a statement)."""
    if len(train) == 0 or len(test) == 0:
        raise DataError("empty training or test set")
    shared = set(actor[train].tolist()) & set(actor[test].tolist())
    if shared:
        raise DataError(f"actor leak: actors {sorted(shared)} are in training and test")
    if statements:
        shared = set(statement[train].tolist()) & set(statement[test].tolist())
        if shared:
            raise DataError(f"statement leak: statements {sorted(shared)} in training and test")


def statement_summary(folds: dict[str, Any]) -> dict[str, Any]:
    """Mean ± std over folds of the same/other-statement accuracies and their gap."""
    out: dict[str, Any] = {}
    for space in ("native", "canonical"):
        same = [f["same"][space]["accuracy"] for f in folds.values()]
        other = [f["other"][space]["accuracy"] for f in folds.values()]
        out[space] = {
            "same": mean_std(same),
            "other": mean_std(other),
            "gap": mean_std([a - b for a, b in zip(same, other, strict=True)]),
        }
    return out


def statement_holdout_voice(
    data_root: Path,
    out_json: Path,
    *,
    recipe: Recipe | None = None,
    folds: int = 5,
    actors: Iterable[int] = CV_ACTORS,
    train_statement: int = 1,
    only_folds: Iterable[int] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Statement hold-out x actor folds; results (resumable, fold by fold) in ``out_json``.

    Accuracy etc. are uncalibrated (T=1), native 8 and canonical 7, on the test actors'
    ``same`` statement and ``other`` statement (their logits kept as ``same_logits`` /
    ``other_logits``); ``summary`` has mean ± std and the gap.
    """
    recipe = recipe or Recipe()
    prep = check_preprocessing(None)
    config = network_config(None, prep)
    groups = actor_folds(actors, folds)
    protocol = {
        "data": "RAVDESS speech",
        "folds": groups,
        "train": f"other actors, statement {train_statement} only",
        "test": "fold actors: same statement and the other statement",
        "recipe": recipe.to_dict(),
    }
    out_json = Path(out_json)
    result, todo = resume_folds(out_json, protocol, folds, only_folds)
    if not todo:
        return result
    c = recipe_corpus(data_root, groups, prep, recipe)
    for k in todo:
        t0 = time.time()
        split = statement_split(c["actor"], c["statement"], groups[k - 1], train_statement)
        ckpt = out_json.with_name(f"{out_json.stem}.fold{k}.checkpoint")
        tr = split["train"]
        net, _, _ = fit_network(
            [c["bank"][i] for i in tr],
            c["y"][tr],
            config,
            recipe,
            prep,
            recipe.seed + k,
            progress=progress,
            name=f"statement fold {k}/{folds}",
            checkpoint=ckpt,
        )
        fold: dict[str, Any] = {"test_actors": groups[k - 1], "n_train": len(tr)}
        for part in ("same", "other"):
            idx = split[part]
            waves = [c["raw"][i] for i in idx]
            logits = network_logits(net, config, prep, waves, recipe.input_dbfs)
            fold[part] = fold_scores(logits, c["y"][idx])
            fold[f"n_{part}"] = len(idx)
            fold[f"{part}_logits"] = np.round(logits, 4).tolist()  # for ensembles
            fold[f"{part}_y_native"] = c["y"][idx].tolist()
        fold["seconds"] = round(time.time() - t0, 1)
        result["folds"][str(k)] = fold
        result["summary"] = statement_summary(result["folds"])
        write_atomic(out_json, json.dumps(result, indent=1).encode())
        shutil.rmtree(ckpt, ignore_errors=True)
        print(
            f"statement fold {k}: actors {span(groups[k - 1])}  canonical same "
            f"{fold['same']['canonical']['accuracy']:.3f} other "
            f"{fold['other']['canonical']['accuracy']:.3f}  {fold['seconds']:.0f}s",
            flush=True,
        )
    return result
