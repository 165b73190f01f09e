"""What ``emofuse info`` shows: the bundled models, their labels and scores, versions."""

from __future__ import annotations

import json
import platform
from importlib import metadata

from rich.console import Group
from rich.table import Table

from .._version import __version__
from ..labels import CANONICAL
from ..models.artifact import load_meta
from ..models.bundled import DEFAULT_WEIGHTS

LIBRARIES = (
    "torch",
    "numpy",
    "av",
    "opencv-python-headless",
    "sentence-transformers",
    "scikit-learn",
)


def headline_metrics(metrics: dict) -> str:
    """A short ``name: value`` summary of a model's validation metrics."""
    parts = []
    for split, m in metrics.items():
        if isinstance(m, dict) and "accuracy" in m:
            acc, wf1, mf1 = m["accuracy"], m["weighted_f1"], m["macro_f1"]
            parts.append(f"{split}: acc {acc:.3f}, wF1 {wf1:.3f}, mF1 {mf1:.3f}")
    return "; ".join(parts)


def describe() -> Group:
    models = Table(title="bundled models", title_justify="left")
    for col in ("modality", "name", "trained on", "validation"):
        models.add_column(col)
    for modality in ("face", "voice", "text"):
        folder = DEFAULT_WEIGHTS / modality
        if not (folder / "model.json").is_file():
            models.add_row(modality, "[red]missing[/red]", "", "")
            continue
        meta = load_meta(folder)
        models.add_row(
            modality, meta.name, str(meta.training.get("data", "")), headline_metrics(meta.metrics)
        )
    fusion = DEFAULT_WEIGHTS / "fusion.json"
    fusion_line = (
        f"late fusion weights: {json.loads(fusion.read_text())['weights']}"
        if fusion.is_file()
        else "late fusion weights: [red]missing[/red] (equal weights are used)"
    )
    versions = Table(title="versions", title_justify="left")
    versions.add_column("package")
    versions.add_column("version")
    versions.add_row("emofuse", __version__)
    versions.add_row("python", platform.python_version())
    for name in LIBRARIES:
        try:
            versions.add_row(name, metadata.version(name))
        except metadata.PackageNotFoundError:
            versions.add_row(name, "[dim]not installed[/dim]")
    return Group(models, fusion_line, f"labels: {', '.join(CANONICAL)}", versions)
