"""A run's report: plots (``plots/*.png``), tables (``tables/*.md``) and ``report.html``.

Classification runs get the methods x heads grid, the unimodal-vs-fused table (per-label
F1 with deltas), the per-fold table, confusion heatmaps (each unimodal baseline and the
best fused method, pooled test predictions) and PCA scatters of each feature set and of
each fusion method's fused representation. Regression runs get the V/A/D table and a
predicted-vs-true scatter. Training curves (``RUN_DIR/curves/*.json``: ``{series: [values
per epoch]}``, written by trainable models) are plotted when present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..report.html import html_page, image_html, table_html
from ..report.plots import (
    confusion_heatmap,
    curves_plot,
    grid_heatmap,
    pca_scatter,
    regression_scatter,
)
from ..report.tables import (
    best_unimodal,
    display,
    markdown,
    methods_grid,
    per_fold,
    regression_table,
    run_of,
    unimodal_vs_fused,
)
from ..utils.io import write_atomic
from .recipe import Recipe


def write_run_report(
    run_dir: Path,
    recipe: Recipe,
    metrics: dict[str, Any],
    manifest: Any,
    x: dict[str, np.ndarray],
    y: np.ndarray,
    names: list[str],
) -> Path:
    """Write plots, Markdown tables and ``report.html`` into ``run_dir``; return the page."""
    plots, tables = run_dir / "plots", run_dir / "tables"
    sections: list[tuple[str, str]] = []
    frames: dict[str, pd.DataFrame] = {}
    head = recipe.reference_head()
    if recipe.task == "classification":
        frames["grid"] = methods_grid(metrics)
        frames["unimodal_vs_fused"] = unimodal_vs_fused(metrics, head)
        frames["per_fold"] = per_fold(metrics, head)
        grid_png = grid_heatmap(
            methods_grid(metrics, numeric=True), plots / "grid.png",
            title=f"{metrics['headline']} (mean over folds)",
        )  # fmt: skip
        sections += [
            ("Methods x classifiers", table_html(frames["grid"], _grid_note(metrics))
             + image_html(grid_png, "grid")),
            ("Unimodal vs fused",
             table_html(frames["unimodal_vs_fused"], _delta_note(metrics, head))),
            ("Per fold", table_html(frames["per_fold"])),
            ("Confusion matrices", image_html(_confusions(metrics, head, names, plots), "cm")),
        ]  # fmt: skip
        if recipe.report.pca:
            panels = _pca_panels(run_dir, recipe, x, head)
            png = pca_scatter(
                panels, y, names, plots / "pca.png", recipe.report.pca_points,
                recipe.protocol.seeds[0],
            )  # fmt: skip
            sections.append(("PCA of features and fused representations", image_html(png, "pca")))
    else:
        frames["regression"] = regression_table(metrics)
        sections.append(("Valence / arousal / dominance", table_html(frames["regression"])))
        sections.append(("Predicted vs true", image_html(_scatter(run_dir, metrics), "scatter")))
    curves = _curves(run_dir, plots)
    sections.append(
        ("Training curves", image_html(curves, "curves") if curves else
         "<p class='note'>No trained network in this run (curves/*.json is empty).</p>")
    )  # fmt: skip
    sections.append(("Data", f"<pre>{json.dumps(metrics.get('data', {}), indent=1)}</pre>"))
    sections.append(("Recipe", f"<pre>{recipe.to_yaml()}</pre>"))
    for name, df in frames.items():
        write_atomic(tables / f"{name}.md", (markdown(df) + "\n").encode())
    intro = (
        f"{len(manifest)} items; protocol {recipe.protocol.name} "
        f"({len(metrics['folds'])} folds); headline {metrics['headline']}; "
        f"wall time {metrics.get('seconds_total', 0):.0f} s."
    )
    page = run_dir / "report.html"
    text = html_page(f"emofuse experiment: {recipe.name}", sections, intro)
    write_atomic(page, text.encode())
    return page


def _grid_note(metrics: dict[str, Any]) -> str:
    return (
        f"{metrics['headline']}, mean ± std over folds; the last column averages over "
        "classifiers, judging each method apart from its classifier."
    )


def _delta_note(metrics: dict[str, Any], head: str) -> str:
    return (
        f"Classifier {head}. Deltas against the best unimodal baseline "
        f"({best_unimodal(metrics, head)}); per-label F1 on the pooled test predictions."
    )


def _confusions(metrics: dict[str, Any], head: str, names: list[str], plots: Path) -> Path:
    h = metrics["headline"]
    chosen = list(metrics["unimodal"])
    fused = [m for m in metrics["methods"] if m not in metrics["unimodal"]]
    if fused:
        chosen.append(max(fused, key=lambda m: run_of(metrics, m, head)["mean"][h]))
    matrices = {
        f"{display(m, metrics)} / {run_of(metrics, m, head)['head']}": run_of(metrics, m, head)[
            "pooled"
        ]["confusion"]
        for m in chosen
    }
    return confusion_heatmap(matrices, names, plots / "confusion.png")


def _pca_panels(
    run_dir: Path, recipe: Recipe, x: dict[str, np.ndarray], head: str
) -> dict[str, np.ndarray]:
    """Each feature set, then each fusion method's fused representation (final models)."""
    from .methods import load_method
    from .results import cell_name

    panels = dict(x)
    for method in recipe.fusion:
        folder = run_dir / "models" / cell_name(method, head)
        if not folder.is_dir():
            continue
        try:
            z = load_method(folder).transform(x)
        except (AttributeError, NotImplementedError):
            continue
        panels[f"fused: {method}"] = np.asarray(z, dtype=np.float64)
    return panels


def _scatter(run_dir: Path, metrics: dict[str, Any]) -> Path:
    best = max(metrics["runs"].values(), key=lambda r: r["mean"]["ccc"])
    frame = pd.read_parquet(run_dir / "predictions.parquet")
    f = frame[(frame["method"] == best["method"]) & (frame["head"] == best["head"])]
    names = metrics["targets"]
    title = f"{display(best['method'], metrics)} / {best['head']} (pooled test predictions)"
    return regression_scatter(
        f[[f"true_{n}" for n in names]].to_numpy(),
        f[[f"pred_{n}" for n in names]].to_numpy(),
        names,
        run_dir / "plots" / "scatter.png",
        title,
    )


def _curves(run_dir: Path, plots: Path) -> Path | None:
    files = sorted((run_dir / "curves").glob("*.json"))
    if not files:
        return None
    histories = {f.stem: json.loads(f.read_text()) for f in files[:8]}
    return curves_plot(histories, plots / "curves.png")
