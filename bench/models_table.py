"""Markdown table of the bundled models' validation scores, read from their model.json.

    python bench/models_table.py      # writes bench/results/models.md (pasted into the README)

The numbers are the ones the training recipes measured and stored with the weights.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "emofuse" / "weights"


def _ece(metrics: dict, split: dict) -> str:
    before = split.get("ece_before", metrics.get("ece_before"))
    after = split.get("ece_after", metrics.get("ece_after"))
    return "" if before is None else f"{before:.3f} -> {after:.3f}"


def models_table() -> str:
    lines = [
        "| modality | model | trained on | validated on | n | accuracy | weighted F1 | macro F1 "
        "| ECE (before -> after temperature) | size |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for modality in ("face", "voice", "text"):
        folder = WEIGHTS / modality
        meta = json.loads((folder / "model.json").read_text())
        size = (folder / "model.safetensors").stat().st_size / 1e6
        for split, m in meta["metrics"].items():
            if not isinstance(m, dict) or "accuracy" not in m:
                continue
            where = meta["training"]["selection"] if split == "validation" else split
            if "protocol" in m:
                where += f" ({m['protocol']})"
            lines.append(
                f"| {modality} | {meta['name']} | {meta['training'].get('data', '')} | {where} "
                f"| {m['n']} | {m['accuracy']:.3f} | {m['weighted_f1']:.3f} | {m['macro_f1']:.3f} "
                f"| {_ece(meta['metrics'], m)} | {size:.2f} MB |"
            )
    fusion = json.loads((WEIGHTS / "fusion.json").read_text())
    w = ", ".join(f"{k} {v:.2f}" for k, v in sorted(fusion["weights"].items()))
    fm = fusion["metrics"]
    lines += [
        "",
        f"Late fusion weights ({w}) were tuned on {fusion['tuned_on']}; "
        f"on {fusion['n_triples']} such triples ({fm['protocol']}) the accuracy is "
        f"fused {fm['accuracy_fused']:.3f} vs face {fm['accuracy_face']:.3f}, "
        f"voice {fm['accuracy_voice']:.3f}, text {fm['accuracy_text']:.3f}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    table = models_table()
    out = ROOT / "bench" / "results" / "models.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table)
