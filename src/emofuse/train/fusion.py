"""Tune the late-fusion weights of the default models on data none of them trained on.

There is no corpus here with face, voice and text recorded together, so triples are built
the way the pairing report builds a multimodal corpus: each RAVDESS clip is paired with
faces and texts of the same canonical emotion. Every probability comes from a model that
never trained on that item:

- voice: the out-of-fold probabilities of the actor-independent 5-fold cross-validation
  (the shipped voice model trains on all 20 actors, so it has no unseen RAVDESS clips);
- face and text: for *tuning*, the holdouts of ``train`` their recipes kept out; for
  *scoring*, FER2013 ``validation`` and MELD/GoEmotions ``dev``.

The reported fused accuracy is cross-fitted by actor fold: weights fit on the other folds'
clips x tuning pools, scored on the fold's clips x scoring pools. The shipped weights are
fit on all clips x tuning pools.

>>> tune_fusion(Path("src/emofuse/weights"), Path("../shared/data"),
...             Path("runs/voice_cv/cv.json"))                       # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..fusion import LateFusion
from ..labels import CANONICAL
from ..models.bundled import load_modality_model

#: modality -> (probabilities (N, 7), canonical label indices (N,))
Pool = tuple[np.ndarray, np.ndarray]


def voice_oof(cv_json: Path, data_root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold voice ``(canonical probabilities, labels, actor)`` from the CV results.

    Each fold's test-clip logits are scaled by the mean temperature of the *other* folds
    (cross-fitted, as in the CV's calibration figures) and calm is summed into neutral.
    Clip order within a fold is the RAVDESS manifest order of its test actors.
    """
    from ..models.calibration import softmax
    from .evaluation import cross_fitted
    from .voice_data import actor_of, ravdess_frame
    from .voice_recipe import merge_matrix, to_canonical_index

    path = Path(cv_json)
    if not path.is_file():
        raise DataError(f"no voice cross-validation results at {path}: run the voice CV first")
    folds = json.loads(path.read_text()).get("folds") or {}
    if not folds:
        raise DataError(f"{path} has no cross-validation folds")
    temps = cross_fitted([f["temperature"] for f in folds.values()])
    probs, labels, actors = [], [], []
    for (k, fold), t in zip(folds.items(), temps, strict=True):
        logits = np.asarray(fold["clean_logits"], dtype=np.float64)
        frame = ravdess_frame(Path(data_root) / "ravdess", fold["test_actors"])
        if len(frame) != len(logits):
            raise DataError(f"{path}: fold {k} has {len(logits)} clips, the data {len(frame)}")
        probs.append(softmax(logits, t) @ merge_matrix())
        labels.append(to_canonical_index(np.asarray(fold["y_native"])))
        actors.append(actor_of(frame))
    return np.concatenate(probs), np.concatenate(labels), np.concatenate(actors)


def face_pools(model: Any, data_root: Path, limit: int | None = None) -> dict[str, Pool]:
    """``{"tune": FER2013 train holdout, "score": FER2013 validation}`` face probabilities."""
    from .evaluation import stratified_holdout
    from .face import load_split

    training = model.meta.training
    x, y = load_split(data_root / "fer2013", "train", limit=limit)
    fraction, seed = float(training.get("holdout", 0.1)), int(training.get("seed", 0))
    held = stratified_holdout(y, fraction, seed)[1]
    xv, yv = load_split(data_root / "fer2013", "validation", limit=limit)
    return {
        "tune": (model.predict_proba(x[held]), y[held]),
        "score": (model.predict_proba(xv), yv),
    }


def text_pools(model: Any, data_root: Path, limit: int | None = None) -> dict[str, Pool]:
    """``{"tune": train holdout, "score": MELD dev + GoEmotions dev}``, single-label texts.

    As in training and at inference: a MELD utterance is read with its dialogue's earlier
    utterances as context (a list, empty for the first one), a GoEmotions comment stands
    alone (``None``: a fine-tuned model calibrates the two domains apart).
    """
    from .text_data import holdout_split, load_text_corpora, previous_texts

    df = load_text_corpora(data_root, limit)
    history = previous_texts(df)
    meld = df["corpus"].eq("meld").to_numpy()
    single = df["labels"].map(len).eq(1).to_numpy()
    training = model.meta.training
    settings = training.get("settings") or {}
    seed = int(training.get("seed", settings.get("seed", 0)))
    frac = float(
        settings.get("holdout", (training.get("hyperparameters") or {}).get("holdout", 0.1))
    )
    _, held = holdout_split(df, frac, seed)
    dev = df["split"].eq("dev").to_numpy()
    out = {}
    for name, mask in (("tune", held & single), ("score", dev & single)):
        rows = np.flatnonzero(mask)
        y = np.array([CANONICAL.index(df["labels"].iat[i][0]) for i in rows])
        texts = [df["text"].iat[i] for i in rows]
        context = [history[i] if meld[i] else None for i in rows]
        out[name] = (model.predict_proba(texts, context=context), y)
    return out


def pair_triples(
    voice: Pool, others: dict[str, Pool], rng: np.random.Generator, draws: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pair each voice clip with ``draws`` same-label items from each of ``others``."""
    v_probs, v_y = voice
    pools = {
        m: {c: np.flatnonzero(y == c) for c in range(len(CANONICAL))}
        for m, (_, y) in others.items()
    }
    probs: dict[str, list] = {"voice": [], **{m: [] for m in others}}
    labels = []
    for i, c in enumerate(v_y):
        if any(len(pools[m][c]) == 0 for m in others):
            continue
        for _ in range(draws):
            probs["voice"].append(v_probs[i])
            for m, (p, _) in others.items():
                probs[m].append(p[rng.choice(pools[m][c])])
            labels.append(c)
    return {m: np.asarray(p) for m, p in probs.items()}, np.asarray(labels)


def tune_fusion(
    model_dir: Path,
    data_root: Path,
    voice_cv: Path,
    *,
    draws: int = 5,
    seed: int = 0,
    limit: int | None = None,
) -> dict[str, Any]:
    """Fit the fusion weights, write ``model_dir/fusion.json`` and return its metrics.

    ``voice_cv``: the JSON of :func:`emofuse.train.voice_cv.cross_validate_voice` (with its
    out-of-fold predictions).
    """
    face = load_modality_model("face", Path(model_dir) / "face")
    text = load_modality_model("text", Path(model_dir) / "text")
    v_probs, v_y, actor = voice_oof(voice_cv, data_root)
    pools = {"face": face_pools(face, data_root, limit), "text": text_pools(text, data_root, limit)}
    tune = {m: p["tune"] for m, p in pools.items()}
    score = {m: p["score"] for m, p in pools.items()}
    folds = sorted({(int(a) - 1) // 4 for a in actor})
    fold_of = (actor.astype(int) - 1) // 4
    scores: dict[str, list[float]] = {}
    for k in folds:
        inside = fold_of == k
        fit_p, fit_y = pair_triples(
            (v_probs[~inside], v_y[~inside]), tune, np.random.default_rng(seed + k), draws
        )
        test_p, test_y = pair_triples(
            (v_probs[inside], v_y[inside]), score, np.random.default_rng(seed + 100 + k), draws
        )
        fusion = LateFusion().fit(fit_p, fit_y)
        scores.setdefault("fused", []).append(_acc(fusion.predict_proba(test_p), test_y))
        for m in test_p:
            scores.setdefault(m, []).append(_acc(test_p[m], test_y))
    all_p, all_y = pair_triples((v_probs, v_y), tune, np.random.default_rng(seed), draws)
    fusion = LateFusion().fit(all_p, all_y)
    metrics = {f"accuracy_{m}": round(float(np.mean(v)), 4) for m, v in scores.items()}
    metrics["accuracy_fused_std"] = round(float(np.std(scores["fused"])), 4)
    info = {
        "tuned_on": (
            "triples of RAVDESS clips (out-of-fold voice probabilities, actors 1-20) x "
            "FER2013 train-holdout faces x MELD/GoEmotions train-holdout texts of the same "
            f"emotion ({draws} draws per clip, seed {seed})"
        ),
        "n_triples": len(all_y),
        "metrics": {
            **metrics,
            "protocol": (
                f"{len(folds)}-fold cross-fitted by RAVDESS actor fold: weights fit on the "
                "other folds x holdout pools, scored on the fold's clips x FER2013 "
                "validation faces x MELD/GoEmotions dev texts"
            ),
        },
    }
    fusion.save(Path(model_dir) / "fusion.json", **info)
    return {"weights": fusion.weights_, **info}


def _acc(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(1) == y).mean())
