"""Selection on the text recipe's holdout: the objective, per-class logit bias, metric sets.

The objective is ``mean(MELD weighted F1, GoEmotions macro F1)`` over two evaluation sets
(``{"meld_...": (rows, y), "goemotions_...": (rows, y)}``, see
:func:`emofuse.train.text_data.eval_sets`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..evaluate.metrics import classification_metrics
from ..labels import CANONICAL
from .evaluation import ascend_bias, temperature_metrics

OBJECTIVE = "mean(meld weighted_f1, goemotions macro_f1) on the train holdout"
GOEMOTIONS_PROTOCOL = "single-label comments"


def objective_of(z: dict[str, np.ndarray], sets: dict[str, tuple[Any, np.ndarray]]):
    """MELD weighted F1, GoEmotions macro F1 and their mean, from per-set logits."""
    from sklearn.metrics import f1_score

    labels = list(range(len(CANONICAL)))
    (km, (_, ym)), (kg, (_, yg)) = sets.items()
    mw = f1_score(ym, z[km].argmax(1), labels=labels, average="weighted", zero_division=0)
    gm = f1_score(yg, z[kg].argmax(1), labels=labels, average="macro", zero_division=0)
    return {
        "meld_weighted_f1": round(float(mw), 4),
        "goemotions_macro_f1": round(float(gm), 4),
        "objective": round(float(mw + gm) / 2, 4),
    }


def objective(z_all: np.ndarray, sets) -> dict[str, float]:
    return objective_of({k: z_all[i] for k, (i, _) in sets.items()}, sets)


def tune_logit_bias(z_all: np.ndarray, sets, rounds: int = 3) -> np.ndarray:
    """Per-class logit bias maximising the objective on ``sets`` (coordinate ascent)."""
    return ascend_bias(
        lambda b: objective(z_all + b, sets)["objective"], z_all.shape[1], 1.5, rounds
    )


def set_metrics(z: dict[str, np.ndarray], sets, temperature: float) -> dict[str, Any]:
    """Per-set classification metrics and pooled ECE before/after the temperature."""
    out: dict[str, Any] = {}
    for k, (_, y) in sets.items():
        out[k] = classification_metrics(y, z[k].argmax(1), CANONICAL)
        if k.startswith("goemotions"):
            out[k]["protocol"] = GOEMOTIONS_PROTOCOL
    suffix = next(iter(sets)).split("_", 1)[1]
    zz = np.concatenate(list(z.values()))
    y = np.concatenate([y for _, y in sets.values()])
    if len(y):
        calibration = temperature_metrics(zz, y, temperature)
        out[f"ece_before_{suffix}"] = calibration["ece_before"]
        out[f"ece_after_{suffix}"] = calibration["ece_after"]
    return out
