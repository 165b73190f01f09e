"""Selection on the fine-tuning recipe's train holdout, per domain: the weight of the TF-IDF
branch, a per-class logit bias and a temperature; and calibration measured on data the
temperature never saw.

The ``dialogue`` domain is chosen on the MELD holdout by weighted F1, the ``text`` domain
on the GoEmotions holdout by macro F1 (:data:`METRIC`). The bias search scores thousands
of candidates, so F1 is computed from a confusion matrix in numpy
(:func:`f1_all_classes`, equal to scikit-learn's ``f1_score(labels=all, zero_division=0)``).

>>> f1_all_classes(np.array([0, 1]), np.array([[2.0, 0.0], [0.0, 1.0]]), "macro")
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models.calibration import fit_temperature
from .evaluation import ascend_bias, temperature_metrics

OBJECTIVE = "mean(meld weighted_f1, goemotions macro_f1) on the train holdout, after bias"
#: corpus -> the F1 average it is selected and reported by
METRIC = {"meld": "weighted", "goemotions": "macro"}
#: corpus -> the domain its holdout tunes
DOMAIN_OF = {"meld": "dialogue", "goemotions": "text"}
LEXICAL_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)


def f1_all_classes(y: np.ndarray, z: np.ndarray, average: str) -> float:
    """F1 of ``argmax(z)`` over all ``z.shape[1]`` classes, ``"weighted"`` or ``"macro"``."""
    k = z.shape[1]
    cm = np.bincount(np.asarray(y) * k + z.argmax(1), minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(0) + cm.sum(1)  # 2tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    if average == "macro":
        return float(f1.mean())
    support = cm.sum(1)
    return float((f1 * support).sum() / max(1, support.sum()))


def tune_bias(z: np.ndarray, y: np.ndarray, average: str, rounds: int = 3) -> np.ndarray:
    """Per-class logit bias maximising the F1 ``average`` on ``(z, y)`` (coordinate ascent
    over -2..2 in steps of 0.1)."""
    return ascend_bias(lambda b: f1_all_classes(y, z + b, average), z.shape[1], 2.0, rounds)


def holdout_scores(z: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> dict[str, Any]:
    """Raw and bias-tuned holdout F1 per corpus; ``objective``: the mean of the tuned ones."""
    out: dict[str, Any] = {}
    tuned = []
    for k in ("meld", "goemotions"):
        if len(y[k]) == 0:
            continue
        b = tune_bias(z[k], y[k], METRIC[k])
        t = f1_all_classes(y[k], z[k] + b, METRIC[k])
        out[f"{k}_raw"], out[k] = round(f1_all_classes(y[k], z[k], METRIC[k]), 4), round(t, 4)
        tuned.append(t)
    out["objective"] = round(float(np.mean(tuned)), 4) if tuned else 0.0
    return out


def crossfit_ece(z: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int = 0):
    """ECE ``(before, after)`` a temperature fitted on the *other* half (halves drawn by
    ``groups``), averaged over both halves; ``(None, None)`` with fewer than two groups."""
    uniq = np.unique(groups)
    if len(uniq) < 2:
        return None, None
    half = np.isin(groups, np.random.default_rng(seed).choice(uniq, len(uniq) // 2, replace=False))
    before = after = 0.0
    for a in (half, ~half):
        m = temperature_metrics(z[a], y[a], fit_temperature(z[~a], y[~a]))
        before += m["ece_before"] * a.sum()
        after += m["ece_after"] * a.sum()
    return before / len(y), after / len(y)


def final_logits(z: np.ndarray, lex: np.ndarray | None, choice: dict[str, Any]) -> np.ndarray:
    """Network logits + lexical weight x lexical logits + bias (no temperature)."""
    out = z + np.asarray(choice["bias"])
    if lex is not None and choice["lexical"]:
        out = out + choice["lexical"] * lex
    return out


def choose_per_domain(logits, lex, y_hold, groups_hold, seed: int = 0) -> tuple[dict, dict, dict]:
    """Per domain, on its corpus's holdout: the lexical weight (best bias-tuned F1; ties go
    to the smaller weight), that weight's bias and the temperature (NLL).

    ``logits``/``lex``: ``hold_<corpus>`` arrays (``lex`` empty without a TF-IDF branch).
    Returns ``(choice, grids, calibration)``; calibration is cross-fitted ECE on the holdout
    (halves by ``groups_hold[corpus]``: dialogues, comments).
    """
    choice, grids, calib = {}, {}, {}
    for k, d in DOMAIN_OF.items():
        y = y_hold[k]
        if len(y) == 0:
            continue
        z = logits[f"hold_{k}"]
        grid = {}
        for a in LEXICAL_WEIGHTS if lex else (0.0,):
            za = z + a * lex[f"hold_{k}"] if a else z
            b = tune_bias(za, y, METRIC[k])
            grid[a] = (f1_all_classes(y, za + b, METRIC[k]), b)
        a = max(grid, key=lambda w: (round(grid[w][0], 4), -w))
        grids[d] = {str(w): round(v[0], 4) for w, v in grid.items()}
        c = {"lexical": a, "bias": grid[a][1]}
        zb = final_logits(z, lex.get(f"hold_{k}"), c)
        choice[d] = {**c, "temperature": fit_temperature(zb, y), "holdout_f1": grid[a][0]}
        before, after = crossfit_ece(zb, y, groups_hold[k], seed)
        if before is not None:
            calib[f"{k}_holdout_crossfit"] = {"ece_before": round(before, 4),
                                              "ece_after": round(after, 4)}  # fmt: skip
    return choice, grids, calib


def ablations(logits, lex, choice, y_hold, y_dev) -> dict[str, Any]:
    """Dev scores of the pipeline's parts (each variant's own bias chosen on the holdout)."""
    out: dict[str, Any] = {}
    for k, d in DOMAIN_OF.items():
        if d not in choice or len(y_dev[k]) == 0:
            continue
        avg, zh, zd = METRIC[k], logits[f"hold_{k}"], logits[f"dev_{k}"]
        y = y_dev[k]
        b = tune_bias(zh, y_hold[k], avg)
        rows = {"network, argmax": zd, "network + bias": zd + b}
        if lex:
            bl = tune_bias(lex[f"hold_{k}"], y_hold[k], avg)
            rows["lexical branch alone + bias"] = lex[f"dev_{k}"] + bl
            rows["shipped (network + lexical + bias)"] = final_logits(
                zd, lex[f"dev_{k}"], choice[d]
            )
        if k == "meld":
            rows["network + bias, MELD dev without context"] = logits["dev_meld_nocontext"] + b
        out[f"{k}_{avg}_f1"] = {n: round(f1_all_classes(y, z, avg), 4) for n, z in rows.items()}
    return out
