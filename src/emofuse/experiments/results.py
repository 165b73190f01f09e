"""Fold results of a run: score one cell, read them back, aggregate, tabulate predictions.

A *cell* is one (fold, method, head): its test rows, true and predicted values,
probabilities, the modalities used per row and the fold's metrics. :func:`aggregate`
turns the cells into ``metrics.json``: per method/head the per-fold metrics, their mean and
standard deviation, metrics on the pooled test predictions (per-class, confusion) with a
bootstrap 95% interval on the headline, and per method the mean over heads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..evaluate.metrics import (
    bootstrap_ci,
    classification_metrics,
    regression_metrics,
    summarize_folds,
)
from .recipe import Recipe

SCALARS_CLS = ("accuracy", "uar", "weighted_f1", "macro_f1")
SCALARS_REG = ("ccc", "pearson_r", "mae")


def cell_name(method: str, head: str) -> str:
    return f"{method}__{head}"


def score_cell(
    est: Any, x: dict[str, np.ndarray], y: np.ndarray, rows: np.ndarray, names: list[str], task: str
) -> dict[str, Any]:
    """Predict ``x`` with a fitted ``est`` and score against ``y``."""
    used = est.used_modalities(x) if hasattr(est, "used_modalities") else None
    out: dict[str, Any] = {"test": rows.tolist(), "used": _used(used, len(rows))}
    if task == "regression":
        pred = np.asarray(est.predict(x), dtype=np.float64).reshape(len(rows), -1)
        out.update(y_true=y.tolist(), y_pred=np.round(pred, 5).tolist())
        out["metrics"] = flat_regression(y, pred, names)
        return out
    proba = np.zeros((len(rows), len(names)))
    if len(rows):
        p = np.asarray(est.predict_proba(x), dtype=np.float64)
        proba[:, np.asarray(est.classes_, dtype=int)] = p
    pred = proba.argmax(axis=1)
    out.update(y_true=y.tolist(), y_pred=pred.tolist(), proba=np.round(proba, 5).tolist())
    out["metrics"] = classification_metrics(y, pred, names)
    return out


def _used(used: Any, n: int) -> list[str] | None:
    if used is None:
        return None
    if (
        isinstance(used, (list, tuple))
        and len(used) == n
        and all(isinstance(u, (list, tuple, set)) for u in used)
    ):
        return [",".join(sorted(u)) for u in used]
    return [",".join(sorted(used))] * n if isinstance(used, (list, tuple, set)) else None


def flat_regression(y: np.ndarray, pred: np.ndarray, names: list[str]) -> dict[str, Any]:
    """``regression_metrics`` plus the mean over targets as ``ccc``, ``pearson_r``, ``mae``."""
    m = regression_metrics(y, pred, names)
    per = {t: m[t] for t in names}
    out: dict[str, Any] = {"n": len(y), "per_target": per}
    for key in SCALARS_REG:
        out[key] = float(np.mean([per[t][key] for t in names]))
    return out


def load_cells(
    run_dir: Path, folds: list[str], grid: list[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """``(method, head) -> [cell per fold]`` read from ``run_dir/folds``."""
    out = {}
    for method, head in grid:
        cells = []
        for fold in folds:
            path = run_dir / "folds" / fold / f"{cell_name(method, head)}.json"
            if not path.is_file():
                raise DataError(f"missing fold result {path}")
            cells.append(json.loads(path.read_text()))
        out[(method, head)] = cells
    return out


def _scalars(task: str) -> tuple[str, ...]:
    return SCALARS_REG if task == "regression" else SCALARS_CLS


def aggregate(
    cells: dict[tuple[str, str], list[dict[str, Any]]],
    recipe: Recipe,
    names: list[str],
    folds: list[Any],
) -> dict[str, Any]:
    """The content of ``metrics.json`` (see the module docstring)."""
    headline = headline_of(recipe)
    runs = {}
    for (method, head), per_fold in cells.items():
        runs[f"{method}/{head}"] = _summarize(per_fold, recipe, names, headline, method, head)
    by_method: dict[str, list[float]] = {}
    for run in runs.values():
        by_method.setdefault(run["method"], []).append(run["mean"][headline])
    return {
        "recipe": recipe.name,
        "task": recipe.task,
        "labels" if recipe.task == "classification" else "targets": names,
        "headline": headline,
        "protocol": recipe.protocol.to_dict(),
        "folds": [f.name for f in folds],
        "methods": recipe.methods(),
        "unimodal": list(recipe.features),
        "heads": recipe.heads(),
        "runs": runs,
        "mean_over_heads": {
            m: {"mean": float(np.mean(v)), "std": float(np.std(v)), "heads": len(v)}
            for m, v in by_method.items()
        },
    }


def headline_of(recipe: Recipe) -> str:
    headline = recipe.report.headline
    if recipe.task == "regression" and headline not in SCALARS_REG:
        return "ccc"
    if recipe.task == "classification" and headline not in SCALARS_CLS:
        raise DataError(f"report.headline must be one of {SCALARS_CLS}, got {headline!r}")
    return headline


def _summarize(
    per_fold: list[dict[str, Any]],
    recipe: Recipe,
    names: list[str],
    headline: str,
    method: str,
    head: str,
) -> dict[str, Any]:
    keys = _scalars(recipe.task)
    fold_metrics = {c["fold"]: c["metrics"] for c in per_fold}
    summary = summarize_folds([{k: m[k] for k in keys} for m in fold_metrics.values()])
    y_true = np.concatenate([np.asarray(c["y_true"]) for c in per_fold])
    y_pred = np.concatenate([np.asarray(c["y_pred"]) for c in per_fold])
    if recipe.task == "regression":
        y_true, y_pred = y_true.reshape(len(y_true), -1), y_pred.reshape(len(y_pred), -1)
        pooled = flat_regression(y_true, y_pred, names)
    else:
        pooled = classification_metrics(y_true.astype(int), y_pred.astype(int), names)
    seed, n_boot = recipe.protocol.seeds[0], recipe.report.bootstrap
    if recipe.task == "regression":
        low, high = _bootstrap_regression(y_true, y_pred, names, headline, n_boot, seed)
    else:
        low, high = bootstrap_ci(y_true, y_pred, headline, n_resamples=n_boot, seed=seed)
    return {
        "method": method,
        "head": head,
        "folds": fold_metrics,
        "mean": {k: summary[k]["mean"] for k in keys},
        "std": {k: summary[k]["std"] for k in keys},
        "pooled": pooled,
        "ci95": {"metric": headline, "value": pooled[headline], "low": low, "high": high},
        "fit_seconds": float(sum(c.get("fit_seconds", 0.0) for c in per_fold)),
        "n_missing": int(sum(c.get("n_missing", 0) for c in per_fold)),
    }


def _bootstrap_regression(
    y_true: np.ndarray, y_pred: np.ndarray, names: list[str], metric: str, n: int, seed: int
) -> tuple[float, float]:
    """Percentile 95% interval of the mean-over-targets ``metric`` under row resampling."""
    if not 1 <= n <= 100_000:
        raise DataError(f"report.bootstrap must be in [1, 100000], got {n}")
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n):
        idx = rng.integers(0, len(y_true), len(y_true))
        stats.append(flat_regression(y_true[idx], y_pred[idx], names)[metric])
    low, high = np.nanquantile(stats, [0.025, 0.975])
    return float(low), float(high)


def predictions_frame(
    cells: dict[tuple[str, str], list[dict[str, Any]]], manifest: Any, names: list[str], task: str
) -> pd.DataFrame:
    """One row per (fold, method, head, test item): id, truth, prediction, probabilities."""
    ids = manifest.frame["id"].astype(str).to_numpy()
    frames = []
    for (method, head), per_fold in cells.items():
        for c in per_fold:
            rows = np.asarray(c["test"], dtype=int)
            f = pd.DataFrame({"id": ids[rows], "fold": c["fold"], "method": method, "head": head})
            if task == "regression":
                t, p = np.asarray(c["y_true"]), np.asarray(c["y_pred"])
                for j, name in enumerate(names):
                    f[f"true_{name}"] = t.reshape(len(rows), -1)[:, j] if len(rows) else []
                    f[f"pred_{name}"] = p.reshape(len(rows), -1)[:, j] if len(rows) else []
            else:
                f["label"] = [names[i] for i in c["y_true"]]
                f["pred"] = [names[i] for i in c["y_pred"]]
                proba = np.asarray(c["proba"]).reshape(len(rows), len(names))
                for j, name in enumerate(names):
                    f[f"p_{name}"] = proba[:, j]
            f["used"] = c["used"] if c.get("used") is not None else None
            frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
