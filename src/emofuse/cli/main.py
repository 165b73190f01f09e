"""Command line: thin Typer wrappers over :mod:`emofuse`'s Python API."""

from __future__ import annotations

import os
import sys

# numpy's OpenBLAS and OpenCV threads only add latency (and CPU) to the small operations
# inference makes (text head, log-mel filterbank; MTCNN's tiny nets, resizes), badly so on a
# busy machine: one thread each, unless the user set otherwise (bench/analyze.py measures it).
# Set before anything imports numpy or cv2; torch and onnxruntime keep their own thread pools.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OPENCV_FOR_THREADS_NUM", "1")
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .._version import __version__
from ..errors import EmofuseError
from ..utils.io import check_output, write_atomic

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
    html = "html"


def _fail(e: EmofuseError) -> typer.Exit:
    err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)  # one line
    return typer.Exit(e.exit_code)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
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
    window: Annotated[float, typer.Option(help="Window (s) without a transcript.")] = 4.0,
    fps: Annotated[float, typer.Option(help="Frames per second sampled for faces.")] = 2.0,
    modalities: Annotated[
        str, typer.Option(help="Comma-separated: face,voice,text.")
    ] = "face,voice,text",
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Also save the timeline plot (PNG) here.")
    ] = None,
    model: Annotated[str, typer.Option(help="'default', a model folder or a RUN_DIR.")] = "default",
) -> None:
    """Recognise emotion in a media file (a timeline) or in a text."""
    from ..inference.recognizer import Recognizer
    from ..utils.progress import progress_bar
    from .display import timeline_table

    if (file is None) == (text is None):
        raise typer.BadParameter("give a FILE or --text, not both")
    if output is not None and fmt is Format.table:
        raise typer.BadParameter("--format table prints to the terminal; use json or csv with -o")
    try:
        if output is not None:
            check_output(output)
        rec = Recognizer.default() if model == "default" else Recognizer(model)
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
        for warning in result.info.get("warnings", []):
            err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
        result.require_prediction()
        if plot is not None:
            from ..report.timeline import timeline_plot

            err.print(f"wrote {timeline_plot(result, plot)}")
        if fmt is Format.html:
            from ..report.timeline import timeline_html

            _emit(timeline_html(result), output)
        elif fmt is Format.table:
            out.print(timeline_table(result))
        else:
            _emit(result.to_json() if fmt is Format.json else result.to_csv(), output)
    except EmofuseError as e:
        raise _fail(e) from None


@app.command()
def predict(
    manifest: Annotated[
        Path, typer.Option(help="CSV (id, modality, input) or a manifest (.csv/.jsonl).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Predictions CSV.")],
    engine: Annotated[str, typer.Option(help="local (processes) or ray.")] = "local",
    workers: Annotated[int, typer.Option(help="Worker processes / Ray actors (0: here).")] = 0,
    address: Annotated[str | None, typer.Option(help="Ray cluster: auto or HOST:PORT.")] = None,
    allow_outside: Annotated[
        bool, typer.Option(help="Read media paths outside the manifest's folder.")
    ] = False,
) -> None:
    """Batch prediction; a bad row gets its `error` cell filled and the run carries on.
    A run killed midway resumes where it stopped when run again with the same -o."""
    from ..inference.predict import predict_manifest
    from ..inference.recognizer import Recognizer
    from ..utils.progress import progress_bar

    try:
        check_output(output)
        rec = Recognizer.default()
        with progress_bar(err, enabled=err.is_terminal) as progress:
            preds = predict_manifest(
                rec,
                manifest,
                progress,
                engine=engine,
                workers=workers,
                address=address,
                output=output,
                allow_outside=allow_outside,
            )
        _emit(preds.to_csv(index=False), output)
    except EmofuseError as e:
        raise _fail(e) from None
    failed = int((preds["error"] != "").sum())
    done = f"{len(preds) - failed} predicted, {failed} failed; wrote {output}"
    err.print(done, highlight=False, soft_wrap=True)


@app.command()
def extract(
    manifest: Annotated[Path, typer.Argument(help="Manifest (.jsonl or .csv).")],
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Registered encoder name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Feature store folder.")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Encoder config override key=value.")
    ] = None,
    engine: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster: auto or HOST:PORT (default: local).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes / actors (0: inline).")] = 2,
    batch_size: Annotated[int, typer.Option(help="Items per batch (and per shard).")] = 32,
    kind: Annotated[
        str, typer.Option(help="pooled (vectors), sequence (frames/tokens) or both.")
    ] = "pooled",
    crop_faces: Annotated[
        bool, typer.Option(help="Main-face crops for face/image/video encoders.")
    ] = False,
    fps: Annotated[float, typer.Option(help="Frames sampled per second of video.")] = 2.0,
) -> None:
    """Encode a manifest into a resumable feature store; only missing items are computed."""
    from ..data.manifest import Manifest
    from ..encoders.base import build_encoder, parse_set_options
    from ..features import extract as run_extract

    try:
        enc = build_encoder(encoder, **parse_set_options(set_ or []))
        summary = run_extract(
            Manifest.read(manifest),
            enc,
            output,
            batch_size=batch_size,
            engine=engine,
            workers=workers,
            address=address,
            progress=err.is_terminal,
            kind=kind,
            crop_faces=crop_faces,
            fps=fps,
        )
    except EmofuseError as e:
        raise _fail(e) from None
    out.print(str(summary), highlight=False)
    for item_id, message in list(summary.errors.items())[:10]:
        err.print(f"  failed {item_id}: {message}", highlight=False)


@app.command()
def info() -> None:
    """Bundled models, their labels, scores, and library versions."""
    from .info import describe

    out.print(describe())


@app.command()
def encoders() -> None:
    """Registered encoders: name, modality and embedding dimension."""
    from ..encoders.listing import encoders_text

    sys.stdout.write(encoders_text() + "\n")


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
    from ..train.default import train_default as run

    try:
        run(data, out_dir, only=only.split(","))
    except EmofuseError as e:
        raise _fail(e) from None


@app.command("export-onnx")
def export_onnx(
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder with face/, voice/ (or av/) models, or one model's folder "
            "(default: the bundled weights)."
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated subset of face,voice,av,text (text: the text model's "
            "transformer, into the user cache; default: all that the folder holds)."
        ),
    ] = None,
    missing: Annotated[
        bool,
        typer.Option("--missing", help="Only the text model, and only if no current export."),
    ] = False,
) -> None:
    """Export the networks to ONNX (the text model's into the user cache), timed against torch."""
    from ..models.bundled import DEFAULT_WEIGHTS
    from ..models.onnx.export import export_onnx as run
    from ..models.onnx.finetuned_export import export_text
    from .display import onnx_table

    root = model_dir or DEFAULT_WEIGHTS
    if only is None:
        only = "face,voice,av" + (",text" if (root / "text" / "model.json").is_file() else "")
    chosen = tuple(m.strip() for m in only.split(",") if m.strip())
    if not chosen or set(chosen) - {"face", "voice", "av", "text"}:
        raise typer.BadParameter(f"--only takes face, voice, av, text; got {only!r}")
    if missing:
        chosen = ("text",)
    written = []
    try:
        if set(chosen) & {"face", "voice", "av"}:
            written += run(root, modalities=chosen)
        if "text" in chosen:
            written += export_text(root / "text", missing=missing)
    except EmofuseError as e:
        raise _fail(e) from None
    for path in written:
        out.print(f"wrote {path}", highlight=False)
    if written:  # --missing with a current export: nothing to do, nothing to say
        out.print(onnx_table([p for p in written if p.suffix == ".json"]))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
    model: Annotated[
        str, typer.Option(help="'default' (the bundled models) or a model folder.")
    ] = "default",
    backend: Annotated[
        str, typer.Option(help="auto|torch|onnx: what runs the face and voice networks.")
    ] = "auto",
    api_key: Annotated[
        str | None,
        typer.Option(envvar="EMOFUSE_API_KEY", help="Require this key on /v1/* (X-API-Key)."),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(help="Also accept this Host/Origin name[:port] (repeatable; * for any)."),
    ] = None,
) -> None:
    """Live web page (webcam + microphone) and HTTP/WebSocket API; docs at /docs."""
    from ..serve.run import run

    access = {"api_key": api_key, "allow_hosts": allow_host or []}
    try:
        run(host=host, port=port, model=model, backend=backend, **access)
    except EmofuseError as e:
        raise _fail(e) from None
