"""Summaries of a manifest for people: count tables (Rich), the label mapping, a bar chart.

>>> m = Manifest.from_records([{"id": "a", "corpus": "x", "label": "calm",
...                             "label_canonical": "neutral"}])
>>> label_mapping(m)
{'calm': 'neutral'}
>>> counts(m, "label_canonical").to_dict()
{'neutral': 1}
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.table import Table

from .manifest import Manifest

STAT_COLUMNS: tuple[str, ...] = ("label_canonical", "split", "speaker", "gender")


def counts(manifest: Manifest, column: str) -> pd.Series:
    """Items per value of ``column`` (``None`` shown as ``"none"``), most frequent first."""
    return manifest.frame[column].astype(object).fillna("none").astype(str).value_counts()


def label_mapping(manifest: Manifest) -> dict[str, str | None]:
    """Native label -> canonical label, as found in the manifest."""
    pairs = manifest.frame[["label", "label_canonical"]].drop_duplicates()
    return {str(r.label): r.label_canonical for r in pairs.itertuples() if r.label is not None}


def frame_table(df: pd.DataFrame, title: str | None = None) -> Table:
    """A Rich table of a DataFrame, its index as the first column."""
    table = Table(title=title)
    table.add_column(str(df.index.name or ""))
    for c in df.columns:
        table.add_column(str(c), justify="right")
    for name, row in df.iterrows():
        table.add_row(str(name), *(str(v) for v in row))
    return table


def counts_table(manifest: Manifest, column: str, top: int = 30) -> Table:
    """A Rich table of :func:`counts` (the ``top`` most frequent values)."""
    c = counts(manifest, column)
    df = c.head(top).to_frame("items")
    df.index.name = column
    more = f" (top {top} of {len(c)})" if len(c) > top else ""
    return frame_table(df, title=f"items per {column}{more}")


def plot_stats(manifest: Manifest, path: str | Path) -> Path:
    """Bar charts of items per label, split, speaker and gender, saved as an image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, column in zip(axes.flat, STAT_COLUMNS):
        c = counts(manifest, column).head(30)
        ax.bar(c.index, c.to_numpy(), color="tab:blue")
        ax.set_title(f"items per {column}")
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
