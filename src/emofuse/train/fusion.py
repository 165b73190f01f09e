"""Tune the late-fusion weights of the default models on validation data.

There is no corpus here with face, voice and text recorded together, so validation
triples are built the way the pairing report builds a multimodal corpus: each
RAVDESS validation clip (actors 17-20) is paired with FER2013 validation faces and
MELD/GoEmotions dev texts of the same canonical emotion. The reported fused accuracy
is cross-fitted (weights fit on actors 17-18 scored on 19-20 and vice versa, with the
face and text pools split in halves as well); the shipped weights are fit on all.

>>> tune_fusion(Path("src/emofuse/weights"), Path("../shared/data"))   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..fusion import LateFusion
from ..labels import CANONICAL
from ..recognizer import Recognizer

VAL_ACTORS = (17, 18, 19, 20)


def validation_probs(rec: Recognizer, data_root: Path, limit: int | None = None) -> dict[str, Any]:
    """Per-modality probabilities and canonical label indices on each validation set."""
    import cv2

    from ..data.datasets.fer2013 import prepare_fer2013
    from ..data.datasets.goemotions import prepare_goemotions
    from ..data.datasets.meld import prepare_meld
    from ..data.datasets.ravdess import prepare_ravdess
    from ..media.decode import load_audio

    def head(df):
        return df if limit is None else df.groupby("label_canonical").head(limit)

    voice = prepare_ravdess(data_root / "ravdess").frame
    voice = head(voice[voice["speaker"].isin([f"Actor_{a:02d}" for a in VAL_ACTORS])])
    faces = prepare_fer2013(data_root / "fer2013").frame
    faces = head(faces[faces["split"] == "validation"])
    meld = prepare_meld(data_root / "meld").frame
    goemo = prepare_goemotions(data_root / "goemotions", label_set="ekman").frame
    texts = head(
        _concat(
            meld[meld["split"] == "dev"],
            goemo[(goemo["split"] == "dev") & (goemo["n_labels"] == 1)],
        )
    )

    waves = [load_audio(data_root / "ravdess" / p) for p in voice["audio"]]
    crops = np.stack(
        [cv2.imread(str(data_root / "fer2013" / p), cv2.IMREAD_GRAYSCALE) for p in faces["image"]]
    )
    return {
        "voice": (rec.model("voice").predict_proba(waves), _y(voice), voice["speaker"].to_numpy()),
        "face": (rec.model("face").predict_proba(crops), _y(faces), None),
        "text": (rec.model("text").predict_proba(list(texts["text"])), _y(texts), None),
    }


def pair_triples(
    val: dict[str, Any], rng: np.random.Generator, draws: int, voice_mask=None, half=None
):
    """Pair each voice clip with ``draws`` same-label faces and texts; return probs and labels."""
    v_probs, v_y, _ = val["voice"]
    keep = np.ones(len(v_y), bool) if voice_mask is None else voice_mask
    probs: dict[str, list] = {"voice": [], "face": [], "text": []}
    labels = []
    pools = {}
    for m in ("face", "text"):
        _, y, _ = val[m]
        idx = np.arange(len(y))
        if half is not None:  # disjoint halves of the face/text pools per fold
            idx = idx[(idx % 2) == half]
        pools[m] = {c: idx[y[idx] == c] for c in range(len(CANONICAL))}
    for i in np.flatnonzero(keep):
        c = v_y[i]
        if any(len(pools[m][c]) == 0 for m in pools):
            continue
        for _ in range(draws):
            probs["voice"].append(v_probs[i])
            for m in ("face", "text"):
                probs[m].append(val[m][0][rng.choice(pools[m][c])])
            labels.append(c)
    return {m: np.asarray(p) for m, p in probs.items()}, np.asarray(labels)


def tune_fusion(
    model_dir: Path, data_root: Path, *, draws: int = 5, seed: int = 0, limit: int | None = None
) -> dict:
    """Fit the fusion weights, write ``model_dir/fusion.json`` and return its metrics."""
    rec = Recognizer(model_dir)
    val = validation_probs(rec, data_root, limit)
    speakers = val["voice"][2]
    folds = [
        np.isin(speakers, ["Actor_17", "Actor_18"]),
        np.isin(speakers, ["Actor_19", "Actor_20"]),
    ]

    scores: dict[str, list[float]] = {}
    for k, test_mask in enumerate(folds):
        fit_p, fit_y = pair_triples(
            val, np.random.default_rng(seed + k), draws, folds[1 - k], half=1 - k
        )
        test_p, test_y = pair_triples(
            val, np.random.default_rng(seed + 10 + k), draws, test_mask, half=k
        )
        fusion = LateFusion().fit(fit_p, fit_y)
        scores.setdefault("fused", []).append(_acc(fusion.predict_proba(test_p), test_y))
        for m in test_p:
            scores.setdefault(m, []).append(_acc(test_p[m], test_y))

    all_p, all_y = pair_triples(val, np.random.default_rng(seed), draws)
    fusion = LateFusion().fit(all_p, all_y)
    metrics = {f"accuracy_{m}": round(float(np.mean(v)), 4) for m, v in scores.items()}
    info = {
        "tuned_on": (
            "validation triples: RAVDESS actors 17-20 clips x FER2013 validation faces x "
            f"MELD/GoEmotions dev texts of the same emotion ({draws} draws per clip, seed {seed})"
        ),
        "n_triples": len(all_y),
        "metrics": {**metrics, "protocol": "2-fold cross-fitted by RAVDESS actor (17-18 vs 19-20)"},
    }
    fusion.save(Path(model_dir) / "fusion.json", **info)
    return {"weights": fusion.weights_, **info}


def _y(df) -> np.ndarray:
    return np.array([CANONICAL.index(c) for c in df["label_canonical"]])


def _acc(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(1) == y).mean())


def _concat(*dfs):
    import pandas as pd

    return pd.concat(dfs, ignore_index=True)
