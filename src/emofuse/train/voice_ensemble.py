"""Ensembles of voice recipes: the members' CV folds scored together, their final networks joined.

Members are recipes run through :func:`~emofuse.train.voice_cv.cross_validate_voice` on the
same folds (each fold's network is kept beside its ``cv.json``) and trained on all actors
with :func:`~emofuse.train.voice.train_voice`. :func:`cross_validate_ensemble` joins each
fold's member networks (:func:`~emofuse.models.voice_cnn.join_networks`: mean of their
softmax) and scores them as one fold network, so the ensemble's ``cv.json`` reads like a
single recipe's (fusion tuning and model cards use it as is); :func:`join_models` joins the
final networks into one artefact that takes the ensemble's cross-validation temperature.

>>> cross_validate_ensemble(  # doctest: +SKIP
...     ["runs/a/cv.json", "runs/b/cv.json"], "runs/ensemble/cv.json", "../shared/data/ravdess")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.torch import load_file

from ..errors import DataError
from ..models.artifact import load_model, save_model
from ..models.calibration import softmax
from ..models.voice_cnn import VoiceCNN, VoiceCNNConfig, join_networks
from ..utils.io import write_atomic
from .voice import train_voice
from .voice_cv import (
    cross_validate_voice,
    cv_protocol,
    fold_scores,
    resume_folds,
    score_fold,
    summarise_cv,
)
from .voice_data import CONDITIONS, load_split
from .voice_recipe import NOISE_SNRS, SHIPPED_ENSEMBLE, Recipe
from .voice_transfer import statement_summary

#: protocol fields every member's CV must share
SHARED = ("folds", "preprocessing", "config", "noise", "conditions", "front_end")


def _member_protocols(member_jsons: Sequence[Path]) -> list[dict[str, Any]]:
    if len(member_jsons) < 2:
        raise DataError("an ensemble needs the CV of two or more member recipes")
    protocols = [json.loads(Path(p).read_text())["protocol"] for p in member_jsons]
    for p in protocols:  # configs written before a field existed compare with its default
        p["config"] = asdict(VoiceCNNConfig(**p["config"]))
    for path, p in zip(member_jsons[1:], protocols[1:], strict=True):
        differ = [k for k in SHARED if p.get(k) != protocols[0].get(k)]
        if differ:
            raise DataError(f"{path}: its CV differs from {member_jsons[0]} in {differ}")
    recipes = [Recipe(**p["recipe"]) for p in protocols]
    if len({(r.seed, r.epochs, r.input_dbfs) for r in recipes}) != 1:
        raise DataError("ensemble members need the same seed, epochs and test front end")
    return protocols


def cross_validate_ensemble(
    member_jsons: Sequence[str | Path],
    out_json: str | Path,
    data_root: str | Path,
    *,
    snrs: Sequence[float] = NOISE_SNRS,
) -> dict[str, Any]:
    """Score the members' fold networks together, fold by fold; results to ``out_json``.

    Only folds every member has finished are scored; a rerun scores the folds still missing
    (same members required). Nothing is trained: a fold costs its test clips' inference.
    """
    member_jsons = [Path(p) for p in member_jsons]
    protocols = _member_protocols(member_jsons)
    first, recipe = protocols[0], Recipe(**protocols[0]["recipe"])
    config = VoiceCNNConfig(**first["config"])
    protocol = cv_protocol(
        first["folds"],
        snrs,
        config,
        recipe,
        first["preprocessing"],
        list(first.get("conditions", {})),
    )
    protocol["recipe"] = {"epochs": recipe.epochs, "members": [p["recipe"] for p in protocols]}
    protocol["ensemble"] = "mean of the members' softmax over the native labels"
    out_json = Path(out_json)
    result, todo = resume_folds(out_json, protocol, len(first["folds"]), None)
    done = [json.loads(p.read_text())["folds"] for p in member_jsons]
    for k in todo:
        files = [p.with_name(f"{p.stem}.fold{k}.safetensors") for p in member_jsons]
        if not all(str(k) in d for d in done) or not all(f.is_file() for f in files):
            continue
        nets = []
        for f in files:
            net = VoiceCNN(config)
            net.load_state_dict(load_file(str(f)))
            nets.append(net.eval())
        actors = first["folds"][k - 1]
        waves, y = load_split(Path(data_root), actors, native=True)
        fold = {
            "test_actors": actors,
            "train_actors": done[0][str(k)]["train_actors"],
            "n_train": done[0][str(k)]["n_train"],
            "n_test": len(y),
            **score_fold(
                join_networks(nets),
                config,
                first["preprocessing"],
                waves,
                np.asarray(y),
                snrs,
                recipe,
                list(first.get("conditions", {})),
            ),
            "seconds": float(sum(d[str(k)]["seconds"] for d in done)),
        }
        result["folds"][str(k)] = fold
        result["summary"] = summarise_cv(result["folds"], protocol)
        write_atomic(out_json, json.dumps(result, indent=1).encode())
    if not result["folds"]:
        raise DataError(f"no fold is finished by every member of {[str(p) for p in member_jsons]}")
    return result


def ensemble_statement_holdout(
    member_jsons: Sequence[str | Path], out_json: str | Path
) -> dict[str, Any]:
    """The statement hold-out of the ensemble, from its members' stored test logits.

    Each member ran :func:`~emofuse.train.voice_transfer.statement_holdout_voice` on the
    same folds; folds every member finished are scored (mean of the members' softmax).
    """
    runs = [json.loads(Path(p).read_text()) for p in member_jsons]
    if len(runs) < 2 or any(r["protocol"]["folds"] != runs[0]["protocol"]["folds"] for r in runs):
        raise DataError("an ensemble's statement hold-out needs two or more members, same folds")
    folds: dict[str, Any] = {}
    for k in sorted(set.intersection(*(set(r["folds"]) for r in runs)), key=int):
        members = [r["folds"][k] for r in runs]
        fold: dict[str, Any] = {"test_actors": members[0]["test_actors"]}
        for part in ("same", "other"):
            if any(f"{part}_logits" not in m for m in members):
                raise DataError(f"fold {k}: a member's {part}-statement logits were not kept")
            probs = np.mean([softmax(np.array(m[f"{part}_logits"])) for m in members], axis=0)
            fold[part] = fold_scores(np.log(probs), np.array(members[0][f"{part}_y_native"]))
        folds[k] = fold
    if not folds:
        raise DataError("no statement fold is finished by every member")
    protocol = {
        **runs[0]["protocol"],
        "recipe": {"members": [r["protocol"]["recipe"] for r in runs]},
    }
    result = {"protocol": protocol, "folds": folds, "summary": statement_summary(folds)}
    write_atomic(Path(out_json), json.dumps(result, indent=1).encode())
    return result


def join_models(
    member_dirs: Sequence[str | Path], out_dir: str | Path, cv_json: str | Path | None = None
) -> Path:
    """One voice artefact from the members' trained folders (:func:`train_voice` outputs).

    With ``cv_json`` (:func:`cross_validate_ensemble`) the ensemble takes its mean fold
    temperature and records its summary in ``metrics.cv``. Returns ``out_dir``.
    """
    arts = [load_model(d, architecture="voice_cnn") for d in member_dirs]
    preps = {json.dumps(a.meta.preprocessing, sort_keys=True) for a in arts}
    if len(preps) != 1:
        raise DataError("ensemble members need the same preprocessing")
    net = join_networks([a.module for a in arts])
    meta = arts[0].meta
    meta.name = "voice-ravdess-cnn-ensemble"
    meta.config = {**meta.config, "members": len(arts)}
    meta.training = {
        "ensemble": "mean of the members' softmax (native labels), then temperature and merge",
        "members": [a.meta.training for a in arts],
    }
    meta.metrics, meta.temperature = {}, 1.0
    if cv_json is not None:
        summary = json.loads(Path(cv_json).read_text())["summary"]
        meta.metrics["cv"] = summary
        meta.temperature = float(summary["temperature"])
        meta.training["temperature"] = "mean of the ensemble's cross-validation fold temperatures"
    save_model(net, meta, out_dir)
    return Path(out_dir)


def train_ensemble(
    data_root: str | Path,
    out_dir: str | Path,
    work_dir: str | Path,
    members: dict[str, dict[str, Any]] = SHIPPED_ENSEMBLE,
) -> dict[str, Any]:
    """Each member recipe's CV and final network (under ``work_dir/<name>/``), the ensemble's
    CV (``out_dir/cv.json``) and the joined artefact (``out_dir``). Resumes where it stopped.
    """
    data_root, out_dir, work_dir = Path(data_root), Path(out_dir), Path(work_dir)
    recipes = {name: Recipe(**fields) for name, fields in members.items()}
    cvs = [work_dir / name / "cv.json" for name in recipes]
    for recipe, cv in zip(recipes.values(), cvs, strict=True):
        cross_validate_voice(data_root, cv, recipe=recipe, conditions=list(CONDITIONS))
    cross_validate_ensemble(cvs, out_dir / "cv.json", data_root)
    finals = [work_dir / name / "final" for name in recipes]
    for recipe, final in zip(recipes.values(), finals, strict=True):
        if not (final / "model.json").is_file():
            train_voice(data_root, final, recipe=recipe)
    join_models(finals, out_dir, out_dir / "cv.json")
    return json.loads((out_dir / "cv.json").read_text())["summary"]


__all__ = [
    "cross_validate_ensemble",
    "ensemble_statement_holdout",
    "join_models",
    "train_ensemble",
]
