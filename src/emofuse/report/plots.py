"""Plots for experiment reports (matplotlib, Agg backend, PNG): each function writes one file.

>>> confusion_heatmap({"concat": [[5, 1], [2, 4]]}, ["a", "b"], "cm.png")   # doctest: +SKIP
PosixPath('cm.png')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingExtraError

#: a colour per canonical label (and a cycle for others), shared by every plot
COLOURS = {
    "neutral": "#8c8c8c",
    "happiness": "#f2b701",
    "sadness": "#3969ac",
    "anger": "#e73f74",
    "fear": "#7f3c8d",
    "disgust": "#11a579",
    "surprise": "#f97b22",
}
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError("matplotlib", "plot") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colour(label: str, i: int) -> str:
    return COLOURS.get(label, CYCLE[i % len(CYCLE)])


def png_bytes(fig: Any) -> bytes:
    """``fig`` as PNG bytes; the figure is closed."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buf.getvalue()


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    from ..utils.io import write_atomic

    write_atomic(Path(path), png_bytes(fig))
    return Path(path)


def confusion_heatmap(matrices: Mapping[str, Any], labels: Sequence[str], path: str | Path) -> Path:
    """Row-normalised confusion matrices, up to 3 a row (counts written in the cells)."""
    plt = pyplot()
    n = len(matrices)
    cols = 2 if n == 4 else min(n, 3)
    rows = -(-n // cols)
    size = 0.55 * len(labels) + 1.8
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    for ax, (title, cm) in zip(axes.flat, matrices.items()):
        cm = np.asarray(cm, dtype=float)
        rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                colour_ = "white" if rates[i, j] > 0.6 else "black"
                ax.text(
                    j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7, color=colour_
                )
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def pca_scatter(
    panels: Mapping[str, np.ndarray],
    y: np.ndarray,
    labels: Sequence[str],
    path: str | Path,
    max_points: int = 2000,
    seed: int = 0,
) -> Path:
    """2-D PCA (of standardised features) of each panel's rows, coloured by label."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    plt = pyplot()
    n = len(panels)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.2 * rows), squeeze=False)
    rng = np.random.default_rng(seed)
    for ax, (title, x) in zip(axes.flat, panels.items()):
        x = np.asarray(x, dtype=np.float64)
        ok = np.flatnonzero(~np.isnan(x).any(axis=1))
        if len(ok) > max_points:
            ok = np.sort(rng.choice(ok, max_points, replace=False))
        if len(ok) < 3:
            ax.set_title(f"{title}: too few rows")
            continue
        z = StandardScaler().fit_transform(x[ok])
        pca = PCA(2, random_state=seed).fit(z)
        p = pca.transform(z)
        for i, label in enumerate(labels):
            m = y[ok] == i
            ax.scatter(p[m, 0], p[m, 1], s=6, alpha=0.6, color=colour(label, i), label=label)
        r = pca.explained_variance_ratio_
        ax.set_title(f"{title} (PC1 {r[0]:.0%}, PC2 {r[1]:.0%})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(labels), 7), fontsize=8,
               markerscale=2, frameon=False, bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save_figure(fig, path)


def grid_heatmap(values: Any, path: str | Path, title: str = "", fmt: str = "{:.3f}") -> Path:
    """A heatmap of a numeric DataFrame (rows x columns), values written in the cells."""
    plt = pyplot()
    data = values.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.1 * data.shape[1] + 2.2, 0.42 * data.shape[0] + 1.2))
    finite = data[np.isfinite(data)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0, 1)
    ax.imshow(data, cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1e-9, aspect="auto")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if np.isfinite(data[i, j]):
                light = (data[i, j] - lo) / max(hi - lo, 1e-9) > 0.6
                ax.text(j, i, fmt.format(data[i, j]), ha="center", va="center", fontsize=8,
                        color="black" if light else "white")  # fmt: skip
    ax.set_xticks(range(data.shape[1]), [str(c) for c in values.columns], rotation=30, ha="right")
    ax.set_yticks(range(data.shape[0]), [str(i) for i in values.index])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def curves_plot(histories: Mapping[str, Mapping[str, Sequence[float]]], path: str | Path) -> Path:
    """Training curves: one panel per run, one line per series (loss, val_loss, ...)."""
    plt = pyplot()
    n = len(histories)
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 3), squeeze=False)
    for ax, (title, series) in zip(axes[0], histories.items()):
        for name, values in series.items():
            ax.plot(np.arange(1, len(values) + 1), values, label=name)
        ax.set_xlabel("epoch")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def regression_scatter(
    y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Predicted vs true per target, with the identity line."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.2), squeeze=False)
    for j, (ax, name) in enumerate(zip(axes[0], names)):
        t, p = y_true[:, j], y_pred[:, j]
        ax.scatter(t, p, s=4, alpha=0.35)
        lo, hi = float(np.nanmin(t)), float(np.nanmax(t))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
