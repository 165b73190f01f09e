"""Score a trained run's final models on another manifest (``emofuse evaluate``).

The run's feature sets are computed for the new items the same way (pretrained encoders
through the store; fitted ones with the state they learned on the run's training rows); a
feature set the manifest cannot give (no audio, say) is a missing modality, so fused
models predict from what remains and a baseline without its modality is skipped::

    >>> m = evaluate_run("runs/paired", "data/other.jsonl")    # doctest: +SKIP
    >>> m["runs"]["concat/logreg"]["metrics"]["uar"]           # doctest: +SKIP
    0.41

Results go to ``RUN_DIR/evaluations/<manifest name>/`` (``metrics.json``,
``predictions.parquet``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.manifest import Manifest
from ..encoders.base import build_encoder
from ..errors import DataError, UsageError
from ..utils.io import write_json
from .features import encode_manifest, needs_fit
from .methods import inputs_of, load_method, present_rows
from .networks import method_grid, network_inputs
from .recipe import Recipe
from .results import cell_name, score_cell


def load_run(run_dir: Path) -> tuple[Recipe, dict[str, Any]]:
    """The resolved recipe and ``metrics.json`` of a finished run."""
    import yaml

    config, metrics = run_dir / "config.yaml", run_dir / "metrics.json"
    if not config.is_file() or not metrics.is_file():
        raise UsageError(f"{run_dir} is not a finished run (no config.yaml and metrics.json)")
    recipe = Recipe.from_dict(yaml.safe_load(config.read_text(encoding="utf-8")))
    return recipe, json.loads(metrics.read_text())


def _features(manifest: Manifest, recipe: Recipe, run_dir: Path) -> dict[str, np.ndarray]:
    out = {}
    for name, spec in recipe.feature_configs().items():
        config = dict(spec.config)
        if needs_fit(spec):
            config["state"] = str(run_dir / "encoders" / name / "final")
        encoder = build_encoder(spec.name, config)
        try:
            out[name] = encode_manifest(
                manifest,
                encoder,
                recipe.cache,
                workers=recipe.workers,
                batch_size=recipe.batch_size,
            )
        except DataError:  # the manifest cannot give this feature set: a missing modality
            out[name] = np.full((len(manifest), encoder.dim), np.nan, dtype=np.float32)
    return out


def _targets(manifest: Manifest, recipe: Recipe, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(rows with known targets, targets)`` of the new manifest in the run's label space."""
    f = manifest.frame
    if recipe.task == "regression":
        missing = [t for t in names if t not in f.columns]
        if missing:
            raise DataError(f"the manifest has no target column(s) {missing}")
        rows = np.flatnonzero(f[names].notna().all(axis=1).to_numpy())
        return rows, f[names].to_numpy(dtype=np.float64)[rows]
    if recipe.label_column not in f.columns:
        raise DataError(f"the manifest has no label column {recipe.label_column!r}")
    index = {label: i for i, label in enumerate(names)}
    labels = f[recipe.label_column].map(lambda v: index.get(v, -1)).to_numpy()
    rows = np.flatnonzero(labels >= 0)
    return rows, labels[rows].astype(np.int64)


def evaluate_run(run_dir: str | Path, manifest_path: str | Path) -> dict[str, Any]:
    """Score every saved final model of ``run_dir`` on the manifest at ``manifest_path``."""
    run_dir = Path(run_dir)
    recipe, trained = load_run(run_dir)
    names = trained.get("labels") or trained.get("targets")
    manifest = Manifest.read(manifest_path).validate()
    rows, y = _targets(manifest, recipe, names)
    if not len(rows):
        raise DataError(f"no item of {manifest_path} has one of the run's targets {names}")
    x_all = _features(manifest, recipe, run_dir)
    x_all.update(network_inputs(manifest, recipe))
    x = {k: v[rows] for k, v in x_all.items()}
    runs, frames = {}, []
    for method, head in method_grid(recipe):
        folder = run_dir / "models" / cell_name(method, head)
        if not folder.is_dir():
            continue
        xm = inputs_of(method, recipe, x)
        ok = np.flatnonzero(present_rows(xm))
        if not len(ok):
            continue  # its modality is absent from this manifest
        est = load_method(folder)
        cell = score_cell(est, {k: v[ok] for k, v in xm.items()}, y[ok], ok, names, recipe.task)
        runs[f"{method}/{head}"] = {
            "method": method,
            "head": head,
            "metrics": cell["metrics"],
            "n_missing": int(len(rows) - len(ok)),
        }
        frames.append(_frame(manifest, rows[ok], cell, method, head, names, recipe.task))
    if not runs:
        raise DataError(f"no saved model of {run_dir} can read {manifest_path}")
    out = {
        "run": str(run_dir),
        "manifest": str(manifest_path),
        "items": len(manifest),
        "scored": len(rows),
        "unknown_targets": int(len(manifest) - len(rows)),
        "labels" if recipe.task == "classification" else "targets": names,
        "runs": runs,
    }
    target = run_dir / "evaluations" / Path(manifest_path).stem
    write_json(target / "metrics.json", out)
    pd.concat(frames, ignore_index=True).to_parquet(target / "predictions.parquet", index=False)
    return out


def _frame(manifest, rows, cell, method, head, names, task) -> pd.DataFrame:
    f = pd.DataFrame({"id": manifest.frame["id"].astype(str).to_numpy()[rows]})
    f["method"], f["head"] = method, head
    if task == "regression":
        pred = np.asarray(cell["y_pred"]).reshape(len(rows), -1)
        for j, name in enumerate(names):
            f[f"pred_{name}"] = pred[:, j]
    else:
        f["label"] = [names[i] for i in cell["y_true"]]
        f["pred"] = [names[i] for i in cell["y_pred"]]
    return f
