"""Command line: thin Typer wrappers over :mod:`emofuse`'s Python API."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from . import __version__
from .errors import EmofuseError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Multimodal emotion recognition: text, voice, face and video, offline on a CPU.",
)
out = Console(width=None if sys.stdout.isatty() else 120)  # files and pipes get whole rows
err = Console(stderr=True)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _fail(e: EmofuseError) -> typer.Exit:
    err.print(f"[red]error:[/red] {e}", highlight=False)
    return typer.Exit(e.exit_code)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        from .models.artifact import write_atomic

        write_atomic(output, text.encode())
        err.print(f"wrote {output}")


def _version(value: bool) -> None:
    if value:
        out.print(f"emofuse {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """emofuse command line."""


@app.command()
def analyze(
    file: Annotated[Path | None, typer.Argument(help="Video, audio or image file.")] = None,
    transcript: Annotated[
        Path | None, typer.Option(help="SRT, WebVTT or CSV (start,end,text).")
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Analyse this text instead of a file.")
    ] = None,
    window: Annotated[
        float, typer.Option(help="Window length (s) when there is no transcript.")
    ] = 4.0,
    fps: Annotated[float, typer.Option(help="Frames per second sampled for faces.")] = 2.0,
    modalities: Annotated[
        str, typer.Option(help="Comma-separated: face,voice,text.")
    ] = "face,voice,text",
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Recognise emotion in a media file (a timeline) or in a text."""
    from .display import progress_bar, timeline_table
    from .recognizer import Recognizer

    if (file is None) == (text is None):
        raise typer.BadParameter("give a FILE or --text, not both")
    try:
        rec = Recognizer.default()
        if text is not None:
            result = rec.analyze_text(text)
        else:
            with progress_bar(err, enabled=err.is_terminal) as progress:
                result = rec.analyze(
                    file,
                    transcript,
                    window=window,
                    fps=fps,
                    modalities=modalities.split(","),
                    progress=progress,
                )
    except EmofuseError as e:
        raise _fail(e) from None
    if fmt is Format.json:
        _emit(result.to_json(), output)
    elif fmt is Format.csv:
        _emit(result.to_csv(), output)
    elif output is None:
        out.print(timeline_table(result))
    else:
        raise typer.BadParameter("--format table prints to the terminal; use json or csv with -o")


@app.command()
def predict(
    manifest: Annotated[Path, typer.Option(help="CSV with columns id, modality, input.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Predictions CSV.")],
) -> None:
    """Batch prediction; a bad row gets its `error` cell filled and the run carries on."""
    from .display import progress_bar
    from .predict import predict_manifest
    from .recognizer import Recognizer

    try:
        rec = Recognizer.default()
        with progress_bar(err, enabled=err.is_terminal) as progress:
            preds = predict_manifest(rec, manifest, progress=progress)
    except EmofuseError as e:
        raise _fail(e) from None
    _emit(preds.to_csv(index=False), output)
    failed = int((preds["error"] != "").sum())
    err.print(f"{len(preds) - failed} predicted, {failed} failed")


@app.command()
def info() -> None:
    """Bundled models, their labels, scores, and library versions."""
    from .info import describe

    out.print(describe())


@app.command("train-default")
def train_default(
    data: Annotated[
        Path, typer.Option(help="Root of the shared data (ravdess/, fer2013/, meld/, goemotions/).")
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where to write the models.")
    ] = None,
    only: Annotated[
        str, typer.Option(help="Comma-separated subset of face,voice,text,fusion.")
    ] = "face,voice,text,fusion",
) -> None:
    """Retrain the bundled default models from the data (and re-tune the fusion weights)."""
    from .train.default import train_default as run

    try:
        run(data, out_dir, only=only.split(","))
    except EmofuseError as e:
        raise _fail(e) from None
