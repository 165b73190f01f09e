"""``emofuse train RECIPE -o RUN_DIR`` and ``emofuse evaluate RUN_DIR MANIFEST``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import EmofuseError
from .main import _fail, app, err, out


@app.command()
def train(
    recipe: Annotated[Path, typer.Argument(help="Experiment recipe (YAML, see recipes/).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder (resumable).")],
    data: Annotated[
        Path | None, typer.Option(help="Root of the corpora (default: the recipe's folder).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Recipe override key.path=value.")
    ] = None,
) -> None:
    """Run an experiment recipe: features, folds, every method x classifier, report.html."""
    from ..data.summary import frame_table
    from ..experiments import Recipe, run_experiment
    from ..report.tables import methods_grid, regression_table
    from ..utils.config import parse_set_options

    try:
        overrides = parse_set_options(set_ or [])
        if data is not None:
            overrides["data_root"] = str(data.resolve())
        metrics = run_experiment(Recipe.read(recipe, overrides), output, progress=err.is_terminal)
    except EmofuseError as e:
        raise _fail(e) from None
    classify = metrics["task"] == "classification"
    table = methods_grid(metrics) if classify else regression_table(metrics)
    out.print(frame_table(table, f"{metrics['recipe']}: {metrics['headline']}"))
    out.print(f"wrote {output / 'report.html'} ({metrics['seconds']:.0f} s)", highlight=False)


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `emofuse train`.")],
    manifest: Annotated[Path, typer.Argument(help="Manifest (.jsonl or .csv) to score.")],
) -> None:
    """Score a trained run's models on another manifest."""
    from ..data.summary import frame_table
    from ..experiments import evaluate_run
    from ..report.tables import evaluation_frame

    try:
        result = evaluate_run(run_dir, manifest)
    except EmofuseError as e:
        raise _fail(e) from None
    title = f"{result['scored']} of {result['items']} items of {manifest} scored"
    out.print(frame_table(evaluation_frame(result), title))
    err.print(f"wrote {run_dir / 'evaluations' / manifest.stem}", highlight=False)
