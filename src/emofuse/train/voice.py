"""Recipe for the bundled voice model: VoiceCNN on RAVDESS speech, actor-independent.

:func:`~emofuse.train.voice_cv.cross_validate_voice` measures the recipe with
actor-independent k-fold cross-validation; :func:`train_voice` then trains the shipped
model on all 20 actors with the mean CV temperature (settings: :class:`Recipe`, network:
:mod:`emofuse.train.voice_recipe`, data: :mod:`emofuse.train.voice_data`)::

    >>> from pathlib import Path
    >>> root, cv_json = Path("../shared/data/ravdess"), Path("runs/voice_cv/cv.json")
    >>> cv = cross_validate_voice(root, cv_json)                              # doctest: +SKIP
    >>> train_voice(root, Path("out/voice"), cv_json=cv_json)                 # doctest: +SKIP
    >>> train_voice(root, Path("out/quick"), recipe=Recipe(epochs=2))         # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError
from ..labels import CANONICAL
from ..models.artifact import META_FILE, ModelMeta, load_meta, save_model
from ..models.calibration import fit_temperature, softmax
from ..models.voice_cnn import VoiceCNN, VoiceCNNConfig, VoiceModel
from ..utils.io import write_atomic
from .evaluation import nll, probability_metrics
from .voice_cv import cross_validate_voice, summarise_cv
from .voice_data import feature_bank, load_split, noisy
from .voice_recipe import (
    CV_ACTORS,
    NATIVE,
    Recipe,
    calibrated_report,
    check_preprocessing,
    fit_network,
    network_config,
    network_logits,
    span,
    to_canonical_index,
    training_meta,
    voice_meta,
)

log = logging.getLogger(__name__)


def train_voice(
    data_root: Path,
    out_dir: Path,
    *,
    recipe: Recipe | None = None,
    train_actors: Iterable[int] = CV_ACTORS,
    val_actors: Iterable[int] = (),
    progress: bool = True,
    limit: int | None = None,
    config: VoiceCNNConfig | None = None,
    num_threads: int | None = None,
    preprocessing: dict[str, Any] | None = None,
    temperature: float | None = None,
    cv_json: Path | None = None,
) -> dict[str, Any]:
    """Train ``recipe`` on ``train_actors`` (default all 20) and save the artefact to ``out_dir``.

    Without ``val_actors`` (the default) the epoch count is fixed and the temperature is
    ``temperature``, else the mean fold temperature of ``cv_json`` (written by
    :func:`cross_validate_voice`, whose summary also goes to ``meta.metrics``), else 1.
    With ``val_actors`` (actor-disjoint) the best epoch on them is kept and the
    temperature fitted on them. ``limit`` keeps a seeded subset of clips per split.
    A run killed mid-way resumes from ``out_dir/checkpoint``.
    Returns ``{"out_dir", "best_epoch", "temperature", "validation", "seconds"}``.
    """
    recipe = recipe or Recipe()
    if num_threads:
        torch.set_num_threads(num_threads)
    train_actors, val_actors = sorted(train_actors), sorted(val_actors)
    if set(train_actors) & set(val_actors):
        raise DataError(
            f"train and validation actors overlap: {set(train_actors) & set(val_actors)}"
        )
    t_start, seed, out_dir = time.time(), recipe.seed, Path(out_dir)
    prep = check_preprocessing(preprocessing)
    config = network_config(config, prep)
    cv = json.loads(Path(cv_json).read_text()) if cv_json else None
    if cv and cv.get("folds"):  # summary in the current format
        cv["summary"] = summarise_cv(cv["folds"], cv.get("protocol"))
    xs, ys = load_split(Path(data_root), train_actors, limit, seed, trim=True, native=True)
    bank = feature_bank(xs, prep, recipe.n_variants, seed, recipe.wave_augment())
    xv, yv = (
        load_split(Path(data_root), val_actors, limit, seed, native=True)
        if val_actors
        else ([], None)
    )

    def validation_score(net: VoiceCNN, epoch: int) -> dict[str, Any]:
        logits = network_logits(net, config, prep, xv, recipe.input_dbfs)
        acc = float((logits.argmax(axis=1) == yv).mean())
        loss = nll(softmax(logits), yv)
        return {"score": (acc, -loss), "val_accuracy": acc, "val_nll": loss}

    net, weights, fitted = fit_network(
        bank,
        ys,
        config,
        recipe,
        prep,
        seed,
        progress=progress,
        evaluate=validation_score if val_actors else None,
        checkpoint=out_dir / "checkpoint",
    )
    validation, t_source = None, "given"
    if val_actors:
        logits = network_logits(net, config, prep, xv, recipe.input_dbfs)
        temperature = fit_temperature(logits, yv)
        validation = calibrated_report(logits, yv, temperature)
        t_source = "fitted on the validation actors"
    elif temperature is None and cv:
        temperature = float(cv["summary"]["temperature"])
        t_source = "mean of the cross-validation fold temperatures"
    elif temperature is None:
        temperature, t_source = 1.0, "none (1.0)"
    meta = voice_meta(config, prep, float(temperature))
    if recipe.gain_norm:  # what the recognizer does before the model (media.level)
        meta.preprocessing["gain_normalise_dbfs"] = recipe.gain_dbfs
    seconds = time.time() - t_start
    best_epoch = fitted.best_epoch if val_actors else recipe.epochs
    meta.training = {
        "data": f"RAVDESS speech actors {span(train_actors)} ({len(xs)} clips)",
        "selection": (
            f"best epoch on RAVDESS actors {span(val_actors)} ({len(xv)} clips, actor-disjoint)"
            if val_actors
            else "none: fixed epoch count"
        ),
        "best_epoch": best_epoch,
        "temperature": t_source,
        **training_meta(recipe, weights),
        "seconds": round(seconds, 1),
    }
    if cv:
        meta.metrics["cv"] = cv["summary"]
    if validation is not None:
        meta.metrics["validation"] = validation
    save_model(net, meta, out_dir)
    shutil.rmtree(out_dir / "checkpoint", ignore_errors=True)
    return {
        "out_dir": str(out_dir),
        "best_epoch": best_epoch,
        "temperature": float(temperature),
        "validation": validation,
        "seconds": seconds,
    }


def attach_cv(model_dir: Path, cv_json: Path, statement_json: Path | None = None) -> ModelMeta:
    """Record a finished CV (and statement hold-out) in a trained artefact's ``model.json``.

    For a shipped model trained while its recipe's CV was still running: ``metrics.cv``
    gets the CV summary, the temperature becomes the mean fold temperature, and
    ``metrics.statement_holdout`` the hold-out summary. The weights are not touched.
    """
    cv = json.loads(Path(cv_json).read_text())
    if not cv.get("folds"):
        raise DataError(f"{cv_json} has no finished folds")
    meta = load_meta(model_dir)
    summary = summarise_cv(cv["folds"], cv.get("protocol"))
    meta.metrics["cv"] = summary
    meta.temperature = float(summary["temperature"])
    meta.training["temperature"] = "mean of the cross-validation fold temperatures"
    if statement_json is not None:
        meta.metrics["statement_holdout"] = {
            "protocol": "actor folds as the CV; trained on the other actors' statement 1, "
            "scored on the fold actors' statement 1 (same) and statement 2 (other); T=1",
            **json.loads(Path(statement_json).read_text())["summary"],
        }
    path = Path(model_dir) / META_FILE
    write_atomic(path, json.dumps(meta.to_dict(), indent=2).encode())
    return meta


def evaluate_voice(
    model_dir: Path,
    data_root: Path,
    actors: Iterable[int] = range(17, 21),
    snr_db: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics of a saved voice artefact on RAVDESS ``actors``, optionally with noise.

    Canonical metrics at top level (from :meth:`VoiceModel.predict_proba`: the inference
    path, temperature applied); with a native-label model also ``native`` (8 labels).
    ``snr_db`` adds white Gaussian noise at that SNR (seeded per clip, as in the CV).
    """
    model = VoiceModel.load(model_dir)
    if model.labels != list(CANONICAL):
        raise DataError(f"model labels {model.labels} are not the canonical set")
    waves, y = load_split(Path(data_root), actors, native=True)
    waves = noisy(waves, snr_db, seed)
    m = probability_metrics(model.predict_proba(waves), to_canonical_index(y), CANONICAL)
    m["snr_db"] = snr_db
    if model.native_labels is not None:
        if model.native_labels != list(NATIVE):
            raise DataError(f"model native labels {model.native_labels} are not RAVDESS's")
        m["native"] = probability_metrics(model.predict_native_proba(waves), y, NATIVE)
    return m


__all__ = ["Recipe", "attach_cv", "cross_validate_voice", "evaluate_voice", "train_voice"]
