"""Plots write real PNGs (and the HTML page embeds them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emofuse.report.html import html_page, image_html
from emofuse.report.plots import (
    confusion_heatmap,
    curves_plot,
    grid_heatmap,
    pca_scatter,
    regression_scatter,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_plot_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    x = rng.normal(size=(60, 5)) + y[:, None]
    x_missing = x.copy()
    x_missing[:10] = np.nan
    paths = [
        confusion_heatmap({"a": [[3, 1, 0], [0, 2, 2], [1, 0, 5]], "b": np.eye(3) * 4},
                          ["neutral", "anger", "other"], tmp_path / "cm.png"),
        pca_scatter({"voice": x, "text": x_missing, "fused": np.hstack([x, x])}, y,
                    ["neutral", "anger", "other"], tmp_path / "pca.png", max_points=40),
        grid_heatmap(pd.DataFrame([[0.5, np.nan], [0.7, 0.6]], index=["m1", "m2"],
                                  columns=["logreg", "mlp"]), tmp_path / "grid.png"),
        curves_plot({"run": {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.6]}},
                    tmp_path / "curves.png"),
        regression_scatter(x[:, :2], x[:, :2] + 0.1, ["valence", "arousal"], tmp_path / "s.png"),
    ]  # fmt: skip
    for p in paths:
        assert p.read_bytes().startswith(PNG) and p.stat().st_size > 2000
    page = html_page("t", [("Plot", image_html(paths[0], "cm"))])
    assert "data:image/png;base64," in page
