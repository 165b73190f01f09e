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
        from ..utils.io import write_atomic

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
    from ..inference.recognizer import Recognizer
    from ..utils.progress import progress_bar
    from .display import timeline_table

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
    engine: Annotated[str, typer.Option(help="local (processes) or ray.")] = "local",
    workers: Annotated[int, typer.Option(help="Worker processes / Ray actors (0: here).")] = 0,
    address: Annotated[str | None, typer.Option(help="Ray cluster: auto or HOST:PORT.")] = None,
) -> None:
    """Batch prediction; a bad row gets its `error` cell filled and the run carries on."""
    from ..inference.predict import predict_manifest
    from ..inference.recognizer import Recognizer
    from ..utils.progress import progress_bar

    try:
        rec = Recognizer.default()
        with progress_bar(err, enabled=err.is_terminal) as progress:
            preds = predict_manifest(
                rec, manifest, progress, engine=engine, workers=workers, address=address
            )
    except EmofuseError as e:
        raise _fail(e) from None
    _emit(preds.to_csv(index=False), output)
    failed = int((preds["error"] != "").sum())
    err.print(f"{len(preds) - failed} predicted, {failed} failed")


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
        typer.Option(help="Folder with face/ and voice/ models (default: the bundled weights)."),
    ] = None,
    only: Annotated[
        str, typer.Option(help="Comma-separated subset of face,voice,text (text: MiniLM).")
    ] = "face,voice,text",
    missing: Annotated[
        bool, typer.Option("--missing", help="Only MiniLM, and only if no current export.")
    ] = False,
) -> None:
    """Export the networks to ONNX (MiniLM into the user cache) and time them against torch."""
    from ..models.bundled import DEFAULT_WEIGHTS
    from ..models.onnx.export import export_onnx as run
    from .display import onnx_table

    chosen = tuple(m.strip() for m in only.split(",") if m.strip())
    if not chosen or set(chosen) - {"face", "voice", "text"}:
        raise typer.BadParameter(f"--only takes face, voice, text; got {only!r}")
    if missing:
        from ..encoders.minilm_onnx import find_export
        from ..encoders.text import default_model_path

        if find_export(default_model_path()) is not None:
            return
        chosen = ("text",)
    written = []
    try:
        if set(chosen) & {"face", "voice"}:
            written += run(model_dir or DEFAULT_WEIGHTS, modalities=chosen)
        if "text" in chosen:
            from ..models.onnx.text_export import export_minilm

            written += export_minilm()
    except EmofuseError as e:
        raise _fail(e) from None
    for path in written:
        out.print(f"wrote {path}", highlight=False)
    out.print(onnx_table([p for p in written if p.suffix == ".json"]))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    model: Annotated[
        str, typer.Option(help="'default' (the bundled models) or a model folder.")
    ] = "default",
    backend: Annotated[
        str, typer.Option(help="auto|torch|onnx: what runs the face and voice networks.")
    ] = "auto",
) -> None:
    """Live web page (webcam + microphone) and HTTP/WebSocket API; docs at /docs."""
    from ..serve.run import run

    try:
        run(host=host, port=port, model=model, backend=backend)
    except EmofuseError as e:
        raise _fail(e) from None


data_app = typer.Typer(no_args_is_help=True, help="Prepare, split, pair and count corpora.")
app.add_typer(data_app, name="data")


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, got {text!r}") from None


@data_app.command("prepare")
def data_prepare(
    corpus: Annotated[str, typer.Argument(help="Corpus name (see the error for the list).")],
    root: Annotated[Path, typer.Argument(help="The corpus folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Manifest (.jsonl or .csv).")],
) -> None:
    """Read a corpus into a manifest; print counts, label mapping and missing media."""
    from ..data.datasets import prepare
    from ..data.summary import counts_table, label_mapping

    try:
        m = prepare(corpus, root)
        m.write(output)
        missing = m.missing_media()
    except EmofuseError as e:
        raise _fail(e) from None
    out.print(f"{len(m)} items from {corpus} -> {output}")
    out.print(counts_table(m, "label"))
    out.print("label mapping (native -> canonical):", label_mapping(m))
    example = f", e.g. {missing[:5]}" if missing else ""
    out.print(f"{len(missing)} items with missing media{example}")


@data_app.command("split")
def data_split(
    manifest: Annotated[Path, typer.Argument(help="Manifest (.jsonl or .csv).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Split manifest.")],
    by: Annotated[str, typer.Option(help="Group kept in one part: speaker, session.")] = "speaker",
    ratios: Annotated[str, typer.Option(help="train,validation,test.")] = "0.8,0.1,0.1",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    allow_leak: Annotated[bool, typer.Option(help="Report leaks instead of failing.")] = False,
) -> None:
    """Assign a person-disjoint (or session-disjoint) train/validation/test split."""
    from ..data.manifest import Manifest
    from ..data.pairing import stats_table
    from ..data.splits import check_leakage, speaker_split
    from ..data.summary import frame_table

    try:
        m = speaker_split(Manifest.read(manifest), _floats(ratios), seed=seed, group=by)
        report = check_leakage(m, groups=(by,), allow=allow_leak)
        m.write(output)
    except EmofuseError as e:
        raise _fail(e) from None
    out.print(frame_table(stats_table(m), title=f"{len(m)} items split by {by} -> {output}"))
    if len(report):
        out.print(frame_table(report.set_index("column"), title="leaking persons"))


@data_app.command("pair")
def data_pair(
    manifests: Annotated[list[Path], typer.Argument(help="2 or 3 unimodal manifests.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Paired manifest.")],
    stats: Annotated[Path | None, typer.Option(help="Also write the table as CSV.")] = None,
    ratios: Annotated[str, typer.Option(help="train,validation,test.")] = "0.8,0.1,0.1",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Pair voice/face/text manifests by emotion (and gender, age) into one manifest."""
    from ..data.manifest import Manifest
    from ..data.pairing import pair_manifests
    from ..data.summary import frame_table
    from ..utils.io import write_atomic

    try:
        ms = [Manifest.read(p) for p in manifests]
        paired, table = pair_manifests(ms, ratio=_floats(ratios), seed=seed)
        paired.write(output)
    except EmofuseError as e:
        raise _fail(e) from None
    if stats is not None:
        write_atomic(stats, table.to_csv().encode())
    out.print(frame_table(table, title=f"{len(paired)} paired items -> {output}"))


@data_app.command("stats")
def data_stats(
    manifest: Annotated[Path, typer.Argument(help="Manifest (.jsonl or .csv).")],
    plot: Annotated[Path | None, typer.Option(help="Save bar charts here (PNG).")] = None,
) -> None:
    """Items per label, split, speaker and gender (and a bar chart)."""
    from ..data.manifest import Manifest
    from ..data.summary import STAT_COLUMNS, counts_table, plot_stats

    try:
        m = Manifest.read(manifest)
    except EmofuseError as e:
        raise _fail(e) from None
    out.print(f"{len(m)} items in {manifest}")
    for column in STAT_COLUMNS:
        out.print(counts_table(m, column))
    if plot is not None:
        out.print(f"wrote {plot_stats(m, plot)}")
