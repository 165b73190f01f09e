"""``emofuse data prepare|split|pair|stats``: corpora to manifests, splits and counts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import EmofuseError
from .main import _fail, app, out

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
