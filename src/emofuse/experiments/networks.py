"""Neural fusion methods in recipes: what they read, their grid cells, checkpoints, curves.

A fusion method whose class declares ``input_kind`` (``"sequences"``: the feature sets'
sequence features; ``"items"``: the raw media of each item) is a network that is its own
head: it gets one cell per fold (head :data:`NET_HEAD`) instead of one per classifier.
Its inputs join the runner's ``X`` under reserved keys, as object arrays (one entry per
manifest row, ``None`` when missing), so the runner's row selection works unchanged::

    >>> method_grid(recipe)                                    # doctest: +SKIP
    [('voice', 'logreg'), ..., ('late_mean', 'logreg'), ('attention', 'net')]

Each fold's training resumes from ``RUN_DIR/checkpoints/<fold>/<cell>`` after a kill, and
its curves (loss and validation score per epoch) go to ``RUN_DIR/curves/`` for the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.io import write_json

NET_HEAD = "net"
ITEMS = "@items"  # the raw items (train.items rows)
SEQ = "@seq:"  # a feature set's sequences
METHOD_FILE = "method.json"  # what emofuse.train.neural writes next to model.json


def input_kind(method: str) -> str | None:
    """``"sequences"``, ``"items"`` or ``None`` (a method on pooled features)."""
    from ..fusion.base import FUSIONS

    if method not in FUSIONS:
        return None
    return getattr(FUSIONS.get(method), "input_kind", None)


def method_grid(recipe: Any) -> list[tuple[str, str]]:
    """``(method, head)`` cells: networks once (head ``net``), other methods per head."""
    out: list[tuple[str, str]] = []
    for method in recipe.methods():
        if input_kind(method) is None:
            out += [(method, head) for head in recipe.heads()]
        else:
            out.append((method, NET_HEAD))
    return out


def network_inputs(manifest: Any, recipe: Any, progress: bool = False) -> dict[str, np.ndarray]:
    """The extra ``X`` entries the recipe's network methods read (none if it has none)."""
    kinds = {input_kind(m) for m in recipe.methods()} - {None}
    out: dict[str, np.ndarray] = {}
    if "items" in kinds:
        from ..train.items import manifest_items

        out[ITEMS] = _objects(manifest_items(manifest))
    if "sequences" in kinds:
        from ..encoders.base import build_encoder, has_sequence
        from .features import encode_sequences, needs_fit

        for name, spec in recipe.feature_configs().items():
            encoder = None if needs_fit(spec) else build_encoder(spec.name, spec.config)
            if encoder is None or not has_sequence(encoder):
                continue  # its pooled features stand in: one-step sequences
            out[SEQ + name] = encode_sequences(
                manifest, encoder, recipe.cache, recipe.workers, recipe.batch_size, progress
            )
    return out


def network_view(method: str, recipe: Any, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What network ``method`` reads from the runner's ``X`` (a feature set without
    sequences gives its pooled rows, which sequence methods read as one-step sequences)."""
    if input_kind(method) == "items":
        return {"items": x[ITEMS]}
    return {name: x.get(SEQ + name, x.get(name)) for name in recipe.features}


def pooled_view(x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``X`` without the networks' entries (what methods on pooled features read)."""
    return {k: v for k, v in x.items() if not k.startswith("@")}


def present(v: np.ndarray) -> np.ndarray:
    """Rows of one ``X`` entry that are there: not ``None`` (object arrays), not all-NaN."""
    if v.dtype == object:
        return np.array([e is not None for e in v], dtype=bool)
    return ~np.isnan(v).all(axis=1)


def build_network(method: str, recipe: Any, seed: int) -> Any:
    """An unfitted network method with the recipe's ``fusion_params`` and ``seed``."""
    from ..fusion.base import FUSIONS
    from ..utils.config import convert_overrides

    cls = FUSIONS.get(method)
    params = dict(recipe.fusion_params.get(method) or {})
    params.setdefault("seed", seed)
    if recipe.task == "classification" and recipe.labels:
        params.setdefault("labels", list(recipe.labels))
    return cls(**convert_overrides(cls, params))


def configure(est: Any, labels: list[str], checkpoint: Path | None) -> Any:
    """Give a network its label names and its checkpoint folder (other methods: as is)."""
    if hasattr(est, "checkpoint_dir"):
        est.labels = list(labels) if est.labels is None else est.labels
        est.checkpoint_dir = None if checkpoint is None else str(checkpoint)
    return est


def after_fit(run_dir: Path, fold: str, method: str, head: str, est: Any) -> None:
    """Write a trained network's curves for the report and drop its checkpoint."""
    history = getattr(est, "history_", None)
    if not history:
        return
    series: dict[str, list[float]] = {"loss": [float(r["loss"]) for r in history]}
    for key in ("uar", "ccc"):
        if all(key in r for r in history):
            series[f"validation {key}"] = [float(r[key]) for r in history]
    write_json(run_dir / "curves" / f"{fold}-{method}.json", series)
    if getattr(est, "checkpoint_dir", None):
        shutil.rmtree(est.checkpoint_dir, ignore_errors=True)


def is_network_folder(folder: str | Path) -> bool:
    return (Path(folder) / METHOD_FILE).is_file()


def load_network(folder: str | Path) -> Any:
    """A saved network method (its ``method.json`` names the registered method)."""
    import json

    from ..fusion.base import FUSIONS

    doc = json.loads((Path(folder) / METHOD_FILE).read_text())
    return FUSIONS.get(doc["method"]).load(folder)


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out
