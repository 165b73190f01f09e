"""Terminal rendering (Rich): the timeline table, a text's emotion bars, ONNX timings."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ..inference.result import ModalityResult, Prediction, Result


def _cell(pred: Prediction | None, status: str = "ok") -> str:
    if pred is None:
        return f"[dim]{status}[/dim]"
    return f"{pred.label} [dim]{pred.confidence:.2f}[/dim]"


def text_table(result: Result) -> Table:
    """A text's emotion distribution, most likely first, with bars."""
    pred = result.segments[0].fused
    text = result.segments[0].text or ""
    table = Table(title=text, title_justify="left", min_width=min(len(text), 100))
    table.add_column("emotion")
    table.add_column("p", justify="right")
    table.add_column("")
    for label, p in sorted(pred.probabilities.items(), key=lambda kv: -kv[1]):
        style = "bold" if label == pred.label else ""
        table.add_row(label, f"{p:.2f}", "█" * round(p * 30), style=style)
    return table


def timeline_table(result: Result) -> Table:
    """One row per segment: time span, text, each modality's label, fused label."""
    if result.info.get("kind") == "text":
        return text_table(result)
    modalities = result.info.get("modalities", [])
    table = Table(title=f"{result.source}", title_justify="left")
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")
    table.add_column("text", max_width=30, overflow="ellipsis", no_wrap=True)
    for m in modalities:
        table.add_column(m, no_wrap=True)
    table.add_column("fused", style="bold", no_wrap=True)
    for s in result.segments:
        cells = [f"{s.start:.2f}", f"{s.end:.2f}", s.text or ""]
        for m in modalities:
            r: ModalityResult = s.modalities[m]
            cells.append(_cell(r.prediction, r.status))
        cells.append(_cell(s.fused, "nothing to fuse"))
        table.add_row(*cells)
    return table


def onnx_table(info_files: list[Path]) -> Table:
    """Torch vs onnxruntime timings recorded by ``export-onnx`` (one row per benchmark)."""
    import json

    table = Table(title="torch vs onnxruntime (fastest ms per call)", title_justify="left")
    for name, justify in [("model", "left"), ("batch", "left"), ("torch ms", "right")]:
        table.add_column(name, justify=justify)
    for name in ["onnx ms", "speed-up", "max |diff|", "auto uses"]:
        table.add_column(name, justify="right")
    for path in info_files:
        info = json.loads(Path(path).read_text())
        by_batch = info.get("backend_by_batch", {})
        for k, (case, t) in enumerate(info["timings"].items()):
            first = k == 0
            table.add_row(
                info.get("model", Path(path).parent.name) if first else "",
                case,
                f"{t['torch_ms']:.2f}",
                f"{t['onnx_ms']:.2f}",
                f"{t['torch_ms'] / t['onnx_ms']:.1f}x",
                f"{info['max_abs_diff']:.1e}" if first else "",
                by_batch.get(str(t.get("batch")), info.get("backend", "onnx")),
            )
    return table
