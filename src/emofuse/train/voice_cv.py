"""Actor-independent k-fold cross-validation of the voice recipe, resumable fold by fold.

RAVDESS actors 1-20 in 5 folds of 4; each fold trains for a fixed epoch count (nothing is
selected on a test fold) and is scored clean and with white noise at 20 / 10 dB SNR, for
the 8 native and the canonical 7 labels, with cross-fitted temperature scaling::

    >>> cv = cross_validate_voice(Path("../shared/data/ravdess"),
    ...                           Path("runs/voice_cv/cv.json"))      # doctest: +SKIP
    >>> cv["summary"]["canonical7"]["accuracy_mean"]                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.torch import save_file

from ..errors import UsageError
from ..labels import CANONICAL
from ..models.calibration import expected_calibration_error, fit_temperature, softmax
from ..models.voice_cnn import VoiceCNNConfig
from ..utils.io import write_atomic
from ..utils.progress import training_progress
from .evaluation import cross_fitted, mean_std, nll, probability_metrics
from .voice_data import CONDITIONS, conditioned, load_corpus, noisy
from .voice_recipe import (
    CV_ACTORS,
    NATIVE,
    NOISE_SNRS,
    Recipe,
    check_preprocessing,
    fit_network,
    merge_matrix,
    network_config,
    network_logits,
    span,
    to_canonical_index,
)

log = logging.getLogger(__name__)
METRICS = ("accuracy", "weighted_f1", "macro_f1", "ece", "nll")


def actor_folds(actors: Iterable[int], folds: int) -> list[list[int]]:
    """Contiguous actor groups: actors 1-20 in 5 folds -> 1-4, 5-8, ... (2 male + 2 female)."""
    actors = sorted(actors)
    if not 2 <= folds <= len(actors):
        raise UsageError(f"need 2 <= folds <= {len(actors)} actors, got folds={folds}")
    return [[int(a) for a in part] for part in np.array_split(actors, folds)]


def _condition_name(snr_db: float | None) -> str:
    return "clean" if snr_db is None else f"snr_{snr_db:g}db"


def fold_scores(logits: np.ndarray, y_native: np.ndarray) -> dict[str, Any]:
    """Uncalibrated (T=1) native and merged-canonical scores of one fold and condition."""
    return {
        "native": probability_metrics(softmax(logits), y_native, NATIVE),
        "canonical": probability_metrics(
            softmax(logits) @ merge_matrix(), to_canonical_index(y_native), CANONICAL
        ),
    }


def _protocol_line(protocol: dict[str, Any] | None, n_folds: int) -> str:
    if not protocol:
        return f"RAVDESS actor-independent {n_folds}-fold CV"
    groups = ", ".join(span(g) for g in protocol["folds"])
    return (
        f"RAVDESS speech, actor-independent {len(protocol['folds'])}-fold CV (test actors "
        f"{groups}), {protocol['recipe']['epochs']} fixed epochs on 8 native labels, canonical 7 "
        "by summing calm into neutral; mean ± sample std over folds"
    )


def _calibration(folds: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """Fold k's clean logits at the mean temperature of the other folds; ECE/NLL per space."""
    names = ("ece_before", "ece_after", "nll_before", "nll_after", "accuracy_after")
    calib: dict[str, dict[str, list[float]]] = {
        s: {m: [] for m in names} for s in ("native", "canonical")
    }
    cross_t = cross_fitted([folds[k]["temperature"] for k in keys])
    for k, t in zip(keys, cross_t, strict=True):
        logits = np.asarray(folds[k]["clean_logits"], dtype=np.float64)
        y = np.asarray(folds[k]["y_native"])
        native_b, native_a = softmax(logits), softmax(logits, t)
        merged_b, merged_a = native_b @ merge_matrix(), native_a @ merge_matrix()
        for space, before, after, target in (
            ("native", native_b, native_a, y),
            ("canonical", merged_b, merged_a, to_canonical_index(y)),
        ):
            c = calib[space]
            c["ece_before"].append(expected_calibration_error(before, target))
            c["ece_after"].append(expected_calibration_error(after, target))
            c["nll_before"].append(nll(before, target))
            c["nll_after"].append(nll(after, target))
            c["accuracy_after"].append(float((after.argmax(axis=1) == target).mean()))
    return {
        "method": "cross-fitted: fold k uses the mean temperature fitted on the other folds",
        "temperature_applied": cross_t,
        **{s: {m: mean_std(v) for m, v in d.items()} for s, d in calib.items()},
    }


def condition_suffix(condition: str) -> str:
    """The flat-key suffix of a scored condition: clean "", snr_20db "_snr20", reverb "_reverb".

    >>> [condition_suffix(c) for c in ("clean", "snr_20db", "telephone", "gain_-26db")]
    ['', '_snr20', '_telephone', '_gain_-26']
    """
    if condition == "clean":
        return ""
    if condition.startswith("snr_"):
        return "_snr" + condition.removeprefix("snr_").removesuffix("db")
    return "_" + condition.removesuffix("db")


def summarise_cv(folds: dict[str, Any], protocol: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mean and std (over folds, ddof=1) of every figure, and cross-fitted calibration.

    Calibration: fold k's clean logits are scaled by the mean temperature fitted on the
    *other* folds (never its own), then ECE is measured; "before" is at T=1.

    Flat keys for reports: ``accuracy``/``weighted_f1``/``macro_f1``/``n`` (canonical 7,
    clean, mean over folds), ``ece_before(_mean)``/``ece_after(_mean)`` (canonical,
    cross-fitted), ``temperature`` (mean fold temperature: the shipped one), and per label
    set ``native8``/``canonical7``: ``accuracy_mean``, ``accuracy_std``,
    ``accuracy_snr20_mean``, ... The nested ``clean``/``snr_*db``/``calibration`` hold
    every figure with its per-fold values.
    """
    keys = sorted(folds, key=int)
    nested: dict[str, Any] = {}
    for cond in folds[keys[0]]["conditions"]:
        nested[cond] = {
            space: {
                metric: mean_std([folds[k]["conditions"][cond][space][metric] for k in keys])
                for metric in METRICS
            }
            for space in ("native", "canonical")
        }
    temps = [float(folds[k]["temperature"]) for k in keys]
    calibration = _calibration(folds, keys)
    flat: dict[str, dict[str, float]] = {}
    for name, space in (("native8", "native"), ("canonical7", "canonical")):
        f: dict[str, float] = {}
        for cond, block in nested.items():
            suffix = condition_suffix(cond)
            for metric in ("accuracy", "weighted_f1", "macro_f1"):
                f[f"{metric}{suffix}_mean"] = block[space][metric]["mean"]
                f[f"{metric}{suffix}_std"] = block[space][metric]["std"]
        for metric in ("ece_before", "ece_after"):
            f[f"{metric}_mean"] = calibration[space][metric]["mean"]
            f[f"{metric}_std"] = calibration[space][metric]["std"]
        flat[name] = f
    canon = flat["canonical7"]
    return {
        "protocol": _protocol_line(protocol, len(keys)),
        "n_folds": len(keys),
        "n": int(sum(folds[k]["n_test"] for k in keys)),
        "std": "sample std over folds (ddof=1)",
        "accuracy": canon["accuracy_mean"],
        "weighted_f1": canon["weighted_f1_mean"],
        "macro_f1": canon["macro_f1_mean"],
        "ece_before": canon["ece_before_mean"],
        "ece_after": canon["ece_after_mean"],
        "ece_before_mean": canon["ece_before_mean"],
        "ece_after_mean": canon["ece_after_mean"],
        "temperature": float(np.mean(temps)),
        "temperature_std": float(np.std(temps, ddof=1)) if len(temps) > 1 else 0.0,
        "temperature_per_fold": temps,
        "native8": flat["native8"],
        "canonical7": flat["canonical7"],
        **nested,
        "calibration": calibration,
        "seconds": mean_std([folds[k]["seconds"] for k in keys]),
    }


def cv_protocol(
    groups: list[list[int]],
    snrs: Sequence[float],
    config: VoiceCNNConfig,
    recipe: Recipe,
    prep: dict[str, Any],
    conditions: Sequence[str] = (),
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if conditions:
        extra["conditions"] = {c: CONDITIONS[c] for c in conditions}
    if recipe.gain_norm:
        extra["front_end"] = (
            f"test waves gain-normalised (loud frames to {recipe.gain_dbfs:g} dBFS) first"
        )
    return {
        **extra,
        "data": "RAVDESS speech",
        "folds": groups,
        "split": "actor-independent: each fold's actors are never seen in its training",
        "selection": "none: fixed epoch count, temperature cross-fitted",
        "noise": f"white Gaussian at {', '.join(f'{s:g}' for s in snrs)} dB SNR (whole clip power)",
        "canonical_from_native": "softmax over 8 native logits, calm summed into neutral",
        "config": asdict(config),
        "recipe": recipe.to_dict(),
        "preprocessing": prep,
        "native_labels": list(NATIVE),
        "canonical_labels": list(CANONICAL),
    }


def recipe_corpus(
    data_root: str | Path, groups: list[list[int]], prep: dict[str, Any], recipe: Recipe
) -> dict[str, Any]:
    """The folds' actors' clips, features and augmented variants as ``recipe`` makes them."""
    actors = [a for g in groups for a in g]
    return load_corpus(
        Path(data_root), actors, prep, recipe.n_variants, recipe.seed, recipe.wave_augment()
    )


def resume_folds(
    out_json: Path, protocol: dict[str, Any], folds: int, only_folds: Iterable[int] | None
) -> tuple[dict[str, Any], list[int]]:
    """The results already in ``out_json`` (refused when written for another protocol) and
    the 1-based folds still to run."""
    result: dict[str, Any] = {"protocol": protocol, "folds": {}, "summary": {}}
    if out_json.is_file():
        old = json.loads(out_json.read_text())
        if old.get("protocol") != json.loads(json.dumps(protocol)):
            raise UsageError(f"{out_json} holds results of another protocol; use a new path")
        result["folds"] = old.get("folds", {})
    wanted = sorted(only_folds) if only_folds is not None else range(1, folds + 1)
    return result, [k for k in wanted if str(k) not in result["folds"]]


def cross_validate_voice(
    data_root: Path,
    out_json: Path,
    *,
    recipe: Recipe | None = None,
    folds: int = 5,
    actors: Iterable[int] = CV_ACTORS,
    config: VoiceCNNConfig | None = None,
    snrs: Sequence[float] = NOISE_SNRS,
    only_folds: Iterable[int] | None = None,
    progress: bool = True,
    preprocessing: dict[str, Any] | None = None,
    conditions: Sequence[str] = (),
) -> dict[str, Any]:
    """Actor-independent k-fold CV of ``recipe``; results written to ``out_json``.

    Each fold trains on the other actors for a fixed ``recipe.epochs`` (nothing is selected
    on the test fold) and scores its test actors clean and with white Gaussian noise at each
    of ``snrs`` dB (seeded): accuracy, weighted/macro F1, ECE, NLL and confusion matrix for
    the 8 native and the canonical 7 labels (uncalibrated, T=1), plus the temperature fitted
    on the fold's clean logits. ``summary`` holds mean/std over the folds done and
    cross-fitted calibration (:func:`summarise_cv`). The JSON is rewritten atomically after
    every fold and a rerun skips folds already in it (same protocol required); a fold killed
    mid-way resumes from its last epoch. ``only_folds`` (1-based) runs a subset.
    ``conditions`` (:data:`~emofuse.train.voice_data.CONDITIONS`) are scored too, and each
    fold's network is kept as ``<out_json stem>.fold<k>.safetensors`` beside the JSON.
    """
    recipe = recipe or Recipe()
    prep = check_preprocessing(preprocessing)
    config = network_config(config, prep)
    groups = actor_folds(actors, folds)
    protocol = cv_protocol(groups, snrs, config, recipe, prep, conditions)
    out_json = Path(out_json)
    result, todo = resume_folds(out_json, protocol, folds, only_folds)
    if not todo:
        if result["folds"]:  # refresh the summary (cheap) and return
            result["summary"] = summarise_cv(result["folds"], protocol)
            write_atomic(out_json, json.dumps(result, indent=1).encode())
        return result
    corpus = recipe_corpus(data_root, groups, prep, recipe)
    raw, y_all, actor, bank = corpus["raw"], corpus["y"], corpus["actor"], corpus["bank"]
    with training_progress(progress, "clips") as bar:
        for k in todo:
            t0 = time.time()
            is_test = np.isin(actor, groups[k - 1])
            tr, te = np.flatnonzero(~is_test), np.flatnonzero(is_test)
            ckpt = out_json.with_name(f"{out_json.stem}.fold{k}.checkpoint")
            net, _, _ = fit_network(
                [bank[i] for i in tr],
                y_all[tr],
                config,
                recipe,
                prep,
                recipe.seed + k,
                progress=bar if progress else False,
                name=f"fold {k}/{folds}",
                checkpoint=ckpt,
            )
            train_seconds = time.time() - t0
            fold = {
                "test_actors": groups[k - 1],
                "train_actors": sorted(set(actor[tr].tolist())),
                "n_train": len(tr),
                "n_test": len(te),
                **score_fold(
                    net, config, prep, [raw[i] for i in te], y_all[te], snrs, recipe, conditions
                ),
                "train_seconds": round(train_seconds, 1),
            }
            fold["seconds"] = round(time.time() - t0, 1)
            save_file(
                net.state_dict(), str(out_json.with_name(f"{out_json.stem}.fold{k}.safetensors"))
            )
            result["folds"][str(k)] = fold
            result["summary"] = summarise_cv(result["folds"], protocol)
            write_atomic(out_json, json.dumps(result, indent=1).encode())
            shutil.rmtree(ckpt, ignore_errors=True)
            c = fold["conditions"]["clean"]
            line = (
                f"fold {k}: actors {span(groups[k - 1])}  acc native "
                f"{c['native']['accuracy']:.3f}  canonical {c['canonical']['accuracy']:.3f}  "
                f"T {fold['temperature']:.2f}  {fold['seconds']:.0f}s"
            )
            bar.console.print(line) if progress else log.info(line)
    return result


def score_fold(
    net, config, prep, waves, y, snrs, recipe: Recipe, conditions: Sequence[str] = ()
) -> dict[str, Any]:
    """Scores of a trained fold network on its test clips: clean, noisy and ``conditions``."""
    fold: dict[str, Any] = {}
    scored = {}
    tests = [(_condition_name(s), noisy(waves, s, recipe.seed)) for s in (None, *snrs)]
    tests += [(c, None) for c in conditions]
    for name, conditioned_waves in tests:
        if conditioned_waves is None:
            conditioned_waves = conditioned(waves, name, recipe.seed)
        logits = network_logits(net, config, prep, conditioned_waves, recipe.input_dbfs)
        scored[name] = fold_scores(logits, y)
        if name == "clean":
            fold["temperature"] = fit_temperature(logits, y)
            fold["clean_logits"] = np.round(logits, 4).tolist()
            fold["y_native"] = y.tolist()
    fold["conditions"] = scored
    return fold
