"""Report tables from a hand-made metrics.json: grid, deltas, per fold, V/A/D, Markdown."""

from __future__ import annotations

from emofuse.report.tables import (
    delta,
    fmt,
    markdown,
    methods_grid,
    per_fold,
    regression_table,
    unimodal_vs_fused,
)


def run(method, head, means, f1s):
    folds = {"fold1": {"uar": means[0]}, "fold2": {"uar": means[1]}}
    mean = sum(means) / 2
    return {
        "method": method,
        "head": head,
        "folds": folds,
        "mean": {"uar": mean},
        "std": {"uar": abs(means[0] - means[1]) / 2},
        "pooled": {"per_class": {"a": {"f1": f1s[0]}, "b": {"f1": f1s[1]}}},
        "ci95": {"low": mean - 0.05, "high": mean + 0.05},
    }


def metrics():
    runs = {
        "voice/logreg": run("voice", "logreg", (0.5, 0.6), (0.5, 0.6)),
        "text/logreg": run("text", "logreg", (0.4, 0.4), (0.7, 0.1)),
        "late_mean/logreg": run("late_mean", "logreg", (0.7, 0.7), (0.8, 0.5)),
        "voice/mlp": run("voice", "mlp", (0.6, 0.6), (0.6, 0.6)),
        "text/mlp": run("text", "mlp", (0.3, 0.3), (0.3, 0.3)),
        "late_mean/mlp": run("late_mean", "mlp", (0.5, 0.5), (0.5, 0.5)),
    }
    return {
        "headline": "uar",
        "methods": ["voice", "text", "late_mean"],
        "unimodal": ["voice", "text"],
        "heads": ["logreg", "mlp"],
        "runs": runs,
        "mean_over_heads": {
            "voice": {"mean": 0.575, "std": 0.025},
            "text": {"mean": 0.35, "std": 0.05},
            "late_mean": {"mean": 0.6, "std": 0.1},
        },
    }


def test_formats():
    assert fmt(0.65234, 0.03125) == "0.652 ± 0.031"
    assert fmt(float("nan")) == "n/a"
    assert delta(0.1234) == "+0.12" and delta(-0.05) == "-0.05"


def test_methods_grid_has_a_mean_over_heads_column():
    df = methods_grid(metrics())
    assert list(df.columns) == ["logreg", "mlp", "mean over heads"]
    assert list(df.index) == ["voice (alone)", "text (alone)", "late_mean"]
    assert df.loc["late_mean", "logreg"] == "0.700 ± 0.000"
    assert df.loc["late_mean", "mean over heads"] == "0.600 ± 0.100"
    assert methods_grid(metrics(), numeric=True).loc["voice (alone)", "mlp"] == 0.6


def test_unimodal_vs_fused_deltas_against_the_best_unimodal():
    df = unimodal_vs_fused(metrics(), "logreg")
    # best unimodal with logreg is voice (0.55): late_mean is +0.15, F1 a 0.8 vs 0.5
    assert df.loc["late_mean", "Δ uar"] == "+0.15"
    assert df.loc["late_mean", "F1 a"] == "0.80 (+0.30)"
    assert df.loc["late_mean", "F1 b"] == "0.50 (-0.10)"
    assert df.loc["text (alone)", "Δ uar"] == ""
    assert df.loc["voice (alone)", "95% CI (pooled)"] == "0.500-0.600"


def test_per_fold_and_markdown():
    df = per_fold(metrics(), "logreg")
    assert list(df.index) == ["fold1", "fold2", "mean ± std"]
    assert df.loc["fold2", "voice (alone)"] == "0.600"
    text = markdown(df)
    assert text.splitlines()[0].startswith("| fold (logreg, uar) | voice (alone) |")
    assert text.splitlines()[1] == "|---|---|---|---|"


def test_regression_table():
    per = {"valence": {"ccc": 0.5, "pearson_r": 0.6, "mae": 0.3},
           "arousal": {"ccc": 0.2, "pearson_r": 0.3, "mae": 0.4}}  # fmt: skip
    m = {
        "targets": ["valence", "arousal"],
        "unimodal": ["text"],
        "runs": {"text/ridge": {"method": "text", "head": "ridge",
                                "folds": {"official": {"per_target": per}},
                                "mean": {"ccc": 0.35}, "std": {"ccc": 0.0}}},
    }  # fmt: skip
    df = regression_table(m)
    assert df.loc["text (alone) / ridge", "valence ccc"] == "0.500 ± 0.000"
    assert df.loc["text (alone) / ridge", "mean CCC"] == "0.350 ± 0.000"
