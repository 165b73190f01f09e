"""Tables of a run's ``metrics.json``: methods x heads, unimodal vs fused, per fold, V/A/D.

Each function returns a DataFrame of strings ready to print, write as Markdown
(:func:`markdown`) or HTML. Values are ``mean ± std`` over folds; deltas are signed
(``+0.12``) against the best unimodal baseline with the same head::

    >>> fmt(0.6523, 0.0312)
    '0.652 ± 0.031'
    >>> delta(0.1234)
    '+0.12'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def fmt(mean: float, std: float | None = None, digits: int = 3) -> str:
    if mean is None or not np.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def delta(d: float, digits: int = 2) -> str:
    return f"{d:+.{digits}f}"


NET = "net"  # the one head of a network method (emofuse.experiments.networks.NET_HEAD)


def run_of(metrics: dict[str, Any], method: str, head: str) -> dict[str, Any]:
    """The run of ``method`` with ``head``; a network method's own (``net``) run."""
    runs = metrics["runs"]
    return runs.get(f"{method}/{head}") or runs[f"{method}/{NET}"]


def display(method: str, metrics: dict[str, Any], head: str | None = None) -> str:
    """``voice (alone)`` for a unimodal baseline, ``attention (net)`` for a network shown
    among ``head``'s runs, the method's name otherwise."""
    if method in metrics.get("unimodal", []):
        return f"{method} (alone)"
    own = head is not None and f"{method}/{head}" not in metrics["runs"]
    return f"{method} ({NET})" if own else method


def methods_grid(metrics: dict[str, Any], numeric: bool = False) -> pd.DataFrame:
    """Rows: methods; columns: heads and the mean over heads (headline, mean ± std)."""
    h = metrics["headline"]
    rows = {}
    heads = list(metrics["heads"])
    heads += [NET] if any(key.endswith(f"/{NET}") for key in metrics["runs"]) else []
    for method in metrics["methods"]:
        row = {}
        for head in heads:
            run = metrics["runs"].get(f"{method}/{head}")
            if run is None:  # a network has no classifier heads, a classic method no net
                row[head] = np.nan if numeric else ""
                continue
            row[head] = run["mean"][h] if numeric else fmt(run["mean"][h], run["std"][h])
        over = metrics["mean_over_heads"][method]
        row["mean over heads"] = over["mean"] if numeric else fmt(over["mean"], over["std"])
        rows[display(method, metrics)] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "method"
    return df


def best_unimodal(metrics: dict[str, Any], head: str) -> str:
    h = metrics["headline"]
    return max(metrics["unimodal"], key=lambda m: metrics["runs"][f"{m}/{head}"]["mean"][h])


def unimodal_vs_fused(metrics: dict[str, Any], head: str) -> pd.DataFrame:
    """Per method with ``head``: headline (mean ± std, 95% CI), per-label F1 (pooled test
    predictions); fused rows carry deltas against the best unimodal baseline."""
    h = metrics["headline"]
    ref = metrics["runs"][f"{best_unimodal(metrics, head)}/{head}"]
    rows = {}
    for method in metrics["methods"]:
        run = run_of(metrics, method, head)
        fused = method not in metrics["unimodal"]
        d = run["mean"][h] - ref["mean"][h]
        ci = run["ci95"]
        row = {
            h: fmt(run["mean"][h], run["std"][h]),
            f"Δ {h}": delta(d) if fused else "",
            "95% CI (pooled)": f"{ci['low']:.3f}-{ci['high']:.3f}",
        }
        for label, per in run["pooled"]["per_class"].items():
            f1 = per["f1"]
            ref_f1 = ref["pooled"]["per_class"][label]["f1"]
            row[f"F1 {label}"] = f"{f1:.2f}" + (f" ({delta(f1 - ref_f1)})" if fused else "")
        rows[display(method, metrics, head)] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = f"method ({head})"
    return df


def per_fold(metrics: dict[str, Any], head: str) -> pd.DataFrame:
    """Rows: folds (and mean ± std); columns: methods; values: the headline with ``head``."""
    h = metrics["headline"]
    cols = {}
    for method in metrics["methods"]:
        run = run_of(metrics, method, head)
        col = {fold: f"{m[h]:.3f}" for fold, m in run["folds"].items()}
        col["mean ± std"] = fmt(run["mean"][h], run["std"][h])
        cols[display(method, metrics, head)] = col
    df = pd.DataFrame(cols)
    df.index.name = f"fold ({head}, {h})"
    return df


def regression_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Rows: method/head; columns: CCC, Pearson r and MAE per target (mean ± std over folds)."""
    rows = {}
    for run in metrics["runs"].values():
        row = {}
        for target in metrics["targets"]:
            per = [f["per_target"][target] for f in run["folds"].values()]
            for stat in ("ccc", "pearson_r", "mae"):
                v = [p[stat] for p in per]
                row[f"{target} {stat}"] = fmt(float(np.mean(v)), float(np.std(v)))
        row["mean CCC"] = fmt(run["mean"]["ccc"], run["std"]["ccc"])
        rows[f"{display(run['method'], metrics)} / {run['head']}"] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "features / regressor"
    return df


def evaluation_frame(result: dict[str, Any]) -> pd.DataFrame:
    """``emofuse evaluate``'s result: one row per method/head, its scalar metrics."""
    rows = {}
    for key, run in result["runs"].items():
        m = run["metrics"]
        row = {k: f"{v:.3f}" for k, v in m.items() if isinstance(v, float)}
        row["scored"] = str(m.get("n", ""))
        row["missing"] = str(run["n_missing"])
        rows[key] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "method/head"
    return df


def markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (index as the first column)."""
    header = [df.index.name or "", *map(str, df.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)
