"""Run a recipe: items -> features (store) -> folds -> fit every method x head -> results.

Each fold's cell (method, head) is written atomically to ``RUN_DIR/folds/<fold>/<cell>.json``
and skipped when present, so a killed run resumes where it stopped; features come from
the feature store, so a rerun with other heads computes no embedding again::

    >>> metrics = run_experiment("recipes/meld_text.yaml", "runs/meld")   # doctest: +SKIP
    >>> metrics["runs"]["tfidf/logreg"]["mean"]["weighted_f1"]          # doctest: +SKIP
    0.55

``RUN_DIR`` gets ``config.yaml`` (the resolved recipe), ``manifest.jsonl``, ``folds/``,
``metrics.json``, ``predictions.parquet``, ``models/<method>__<head>/`` (safetensors +
JSON), ``encoders/`` (states of fitted encoders), ``plots/`` and ``report.html``.
"""

from __future__ import annotations

import inspect
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..evaluate.protocols import Fold, make_folds
from ..utils.io import write_atomic, write_json
from .data import build_manifest, describe, targets_of
from .features import fitted_features, needs_fit, static_features
from .methods import build_method, inputs_of, present_rows, save_method
from .networks import after_fit, configure, method_grid, network_inputs, pooled_view
from .recipe import Recipe
from .results import aggregate, cell_name, load_cells, predictions_frame, score_cell


def prepare_run_dir(recipe: Recipe, run_dir: Path) -> None:
    """Write ``config.yaml``; refuse a folder that holds a run of other items/features/folds."""
    import yaml

    config = run_dir / "config.yaml"
    if config.is_file():
        old = Recipe.from_dict(yaml.safe_load(config.read_text(encoding="utf-8")))
        if old.identity() != recipe.identity():
            raise UsageError(
                f"{run_dir} holds a run of another recipe (data, features or protocol differ): "
                "use a new RUN_DIR"
            )
    write_atomic(config, recipe.to_yaml().encode())


def run_experiment(
    recipe: Recipe | str | Path,
    run_dir: str | Path,
    *,
    progress: bool = True,
    report: bool = True,
) -> dict[str, Any]:
    """Run (or resume) ``recipe`` into ``run_dir``; returns the ``metrics.json`` content."""
    import scipy.linalg  # noqa: F401  (load BLAS and OpenMP now, so that the limit covers them)
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    recipe = recipe if isinstance(recipe, Recipe) else Recipe.read(recipe)
    with threadpool_limits(recipe.threads):
        return _run(recipe, Path(run_dir), progress, report)


def _run(recipe: Recipe, run_dir: Path, progress: bool, report: bool) -> dict[str, Any]:
    from ..utils.progress import training_progress

    prepare_run_dir(recipe, run_dir)
    started = time.perf_counter()
    manifest = build_manifest(recipe)
    manifest.to_jsonl(run_dir / "manifest.jsonl")
    names, y = targets_of(manifest, recipe)
    folds = make_folds(manifest, recipe.protocol)
    x_static = static_features(manifest, recipe, progress=progress)
    x_static.update(network_inputs(manifest, recipe, progress=progress))
    grid = method_grid(recipe)
    with training_progress(enabled=progress, unit="fits") as bar:
        task = bar.add_task("fit", total=len(folds) * len(grid))
        for fold in folds:
            todo = [(m, h) for m, h in grid if not _cell_path(run_dir, fold, m, h).is_file()]
            bar.advance(task, len(grid) - len(todo))
            if not todo:
                continue
            seen = np.concatenate(
                [fold.train, *([] if fold.validation is None else [fold.validation])]
            )
            x = {**x_static, **_fitted(manifest, recipe, seen, run_dir, fold.name)}
            for method, head in todo:
                checkpoint = run_dir / "checkpoints" / fold.name / cell_name(method, head)
                cell = fit_cell(recipe, method, head, x, y, fold, names, checkpoint)
                est = cell.pop("estimator")
                after_fit(run_dir, fold.name, method, head, est)
                if recipe.save_models == "folds":
                    _save(est, run_dir / "models" / fold.name, method, head)
                if recipe.save_models != "none" and _fold_is_final(recipe, folds):
                    _save(est, run_dir / "models", method, head)  # same rows as a refit
                write_json(_cell_path(run_dir, fold, method, head), cell, indent=None)
                bar.update(task, advance=1, description=f"{fold.name} {cell_name(method, head)}")
    cells = load_cells(run_dir, [f.name for f in folds], grid)
    metrics = aggregate(cells, recipe, names, folds)
    metrics["data"] = describe(manifest, recipe)
    x_final = dict(x_static)
    if recipe.save_models != "none" or report:
        final_rows = _final_rows(folds, recipe)
        x_final.update(_fitted(manifest, recipe, final_rows, run_dir, "final"))
        if recipe.save_models != "none":
            _final_models(recipe, grid, x_final, y, final_rows, run_dir, names)
    metrics["seconds"] = round(time.perf_counter() - started, 1)  # this invocation
    metrics["seconds_total"] = round(metrics["seconds"] + _earlier_seconds(run_dir), 1)
    write_json(run_dir / "metrics.json", metrics)
    frame = predictions_frame(cells, manifest, names, recipe.task)
    frame.to_parquet(run_dir / "predictions.parquet", index=False)
    if report:
        from .reporting import write_run_report

        write_run_report(run_dir, recipe, metrics, manifest, pooled_view(x_final), y, names)
    return metrics


def _earlier_seconds(run_dir: Path) -> float:
    """Wall time of the earlier finished invocations on ``run_dir`` (0 for a new run)."""
    import json

    try:
        return float(json.loads((run_dir / "metrics.json").read_text())["seconds_total"])
    except (OSError, ValueError, KeyError):
        return 0.0


def _cell_path(run_dir: Path, fold: Fold, method: str, head: str) -> Path:
    return run_dir / "folds" / fold.name / f"{cell_name(method, head)}.json"


def _fitted(
    manifest: Any, recipe: Recipe, train: np.ndarray, run_dir: Path, tag: str
) -> dict[str, np.ndarray]:
    out = {}
    for name, spec in recipe.feature_configs().items():
        if needs_fit(spec):
            state = run_dir / "encoders" / name / tag
            out[name] = fitted_features(manifest, spec, train, state, recipe)
    return out


def fit_cell(
    recipe: Recipe,
    method: str,
    head: str,
    x: dict[str, np.ndarray],
    y: np.ndarray,
    fold: Fold,
    names: list[str],
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """Fit ``method`` x ``head`` on the fold's training rows, predict and score its test rows.

    ``checkpoint``: where a network method keeps its resumable training state.
    """
    xm = inputs_of(method, recipe, x)
    est = configure(build_method(method, head, recipe, seed=fold.seed), names, checkpoint)
    train = fold.train[present_rows({k: v[fold.train] for k, v in xm.items()})]
    val = fold.validation
    t0 = time.perf_counter()
    if val is not None and len(val) and "validation" in inspect.signature(est.fit).parameters:
        est.fit(_take(xm, train), y[train], validation=(_take(xm, val), y[val]))
    elif val is not None and len(val):
        rows = np.concatenate([train, val[present_rows({k: v[val] for k, v in xm.items()})]])
        est.fit(_take(xm, rows), y[rows])
    else:
        est.fit(_take(xm, train), y[train])
    fit_seconds = time.perf_counter() - t0
    test = fold.test[present_rows({k: v[fold.test] for k, v in xm.items()})]
    cell = score_cell(est, _take(xm, test), y[test], test, names, recipe.task)
    cell.update(
        fold=fold.name,
        seed=fold.seed,
        method=method,
        head=head,
        n_train=len(train),
        n_missing=int(len(fold.test) - len(test)),
        fit_seconds=round(fit_seconds, 3),
        estimator=est,
    )
    return cell


def _take(x: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in x.items()}


def _fold_is_final(recipe: Recipe, folds: list[Fold]) -> bool:
    """The official protocol's one fold trains on exactly the final model's rows."""
    return recipe.protocol.name == "official" and len(folds) == 1


def _final_rows(folds: list[Fold], recipe: Recipe) -> np.ndarray:
    """Rows a final model trains on: the official train (+validation) part, else every row."""
    first = folds[0]
    if recipe.protocol.name == "official":
        val = first.validation if first.validation is not None else np.zeros(0, int)
        return np.sort(np.concatenate([first.train, val]))
    return np.unique(np.concatenate([np.concatenate(list(f.parts().values())) for f in folds]))


def _final_models(
    recipe: Recipe,
    grid: list[tuple[str, str]],
    x: dict[str, np.ndarray],
    y: np.ndarray,
    rows: np.ndarray,
    run_dir: Path,
    names: list[str],
) -> None:
    """One model per method x head fitted on ``rows`` (skipped when already saved)."""
    seed = recipe.protocol.seeds[0]
    for method, head in grid:
        target = run_dir / "models" / cell_name(method, head)
        if target.is_dir():  # saved whole (renamed into place) by an earlier run
            continue
        xm = inputs_of(method, recipe, x)
        ok = rows[present_rows({k: v[rows] for k, v in xm.items()})]
        checkpoint = run_dir / "checkpoints" / "final" / cell_name(method, head)
        est = configure(build_method(method, head, recipe, seed=seed), names, checkpoint)
        est.fit(_take(xm, ok), y[ok])
        after_fit(run_dir, "final", method, head, est)
        _save(est, run_dir / "models", method, head)


def _save(est: Any, folder: Path, method: str, head: str) -> None:
    """Save into a temporary folder, then rename: a model folder is whole or absent."""
    target = folder / cell_name(method, head)
    tmp = folder / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_method(est, tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
