"""Tabulate voice transfer runs (``bench/voice_transfer.py``) into bench/results/voice_transfer.md.

Each argument is ``LABEL=DIR[+DIR...]``: the run folders of one recipe (a recipe's folds may
have been run by several processes); their ``cv.json`` / ``statement.json`` folds are
merged (the protocols must agree)::

    python bench/voice_transfer_report.py baseline=runs/voice16/baseline \\
        "new=runs/voice16/ablation/transfer-mixup+runs/voice16/ablation/transfer-mixup-b"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from emofuse.utils.io import write_atomic

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = {
    "clean": "clean",
    "snr_20db": "white noise 20 dB SNR",
    "snr_10db": "white noise 10 dB SNR",
    "telephone": "telephone 300-3400 Hz, 8 kHz",
    "reverb": "reverb RT60 0.6 s",
    "mp3_16k": "MP3 16 kbit/s",
    "gain_-26db": "gain -26 dB",
}


def merged(dirs: list[Path], name: str) -> dict[str, Any] | None:
    """The folds of ``name`` over ``dirs`` (protocols checked), or ``None`` if none ran."""
    out = None
    for d in dirs:
        path = d / name
        if not path.is_file():
            continue
        r = json.loads(path.read_text())
        if out is None:
            out = {"protocol": r["protocol"], "folds": dict(r["folds"])}
        elif r["protocol"] != out["protocol"]:
            raise SystemExit(f"{path}: another protocol than {dirs[0] / name}")
        else:
            out["folds"].update(r["folds"])
    return out


def _ms(values: list[float]) -> str:
    """Mean ± sample std in percent (the value alone for one fold)."""
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return f"{100 * np.mean(values):.1f} ± {100 * np.std(values, ddof=1):.1f}"


def summarise(label: str, dirs: list[Path]) -> dict[str, Any]:
    row: dict[str, Any] = {"label": label, "dirs": [str(d) for d in dirs]}
    cv = merged(dirs, "cv.json")
    if cv:
        folds = sorted(cv["folds"], key=int)
        row["cv_folds"], row["recipe"] = folds, cv["protocol"]["recipe"]
        for space in ("canonical", "native"):
            row[space] = {
                c: [cv["folds"][k]["conditions"][c][space]["accuracy"] for k in folds]
                for c in CONDITIONS
                if c in cv["folds"][folds[0]]["conditions"]
            }
    st = merged(dirs, "statement.json")
    if st:
        folds = sorted(st["folds"], key=int)
        row["statement_folds"] = folds
        for space in ("canonical", "native"):
            row[f"statement_{space}"] = {
                part: [st["folds"][k][part][space]["accuracy"] for k in folds]
                for part in ("same", "other")
            }
    return row


def render(rows: list[dict[str, Any]]) -> str:
    out = [
        "# Voice transfer protocols (issue 16)",
        "",
        "RAVDESS speech, actors 1-20, actor-independent 5-fold CV (test actors 1-4, 5-8, 9-12, "
        "13-16, 17-20), 30 fixed epochs, accuracy mean ± sample std over the folds run "
        "(per-fold values in brackets), uncalibrated argmax. Conditions are applied to the "
        "unseen test actors' whole clips; the MP3 codec and the test reverb seeds are never "
        "used by the training augmentation. Statement hold-out: each fold trains on the "
        "*other* actors' statement 1 only and is scored on its test actors' statement 1 "
        "(same) and statement 2 (other).",
        "",
    ]
    for space, title in (("canonical", "canonical 7"), ("native", "native 8")):
        out += [f"## Recording conditions, {title}", ""]
        out.append("| recipe | folds | " + " | ".join(CONDITIONS.values()) + " |")
        out.append("|---|---|" + "---|" * len(CONDITIONS))
        for r in rows:
            if space not in r:
                continue
            clean = np.mean(r[space]["clean"])
            cells = []
            for c in CONDITIONS:
                v = r[space].get(c)
                if v is None:
                    cells.append("")
                    continue
                delta = "" if c == "clean" else f" ({100 * (np.mean(v) - clean):+.1f})"
                cells.append(f"{_ms(v)}{delta}")
            folds = ",".join(r["cv_folds"])
            out.append(f"| {r['label']} | {folds} | " + " | ".join(cells) + " |")
        out += [
            "",
            "Per fold, clean: "
            + "; ".join(
                f"{r['label']} [{', '.join(f'{100 * x:.1f}' for x in r[space]['clean'])}]"
                for r in rows
                if space in r
            ),
            "",
        ]
    out += [
        "## Statement hold-out",
        "",
        "| recipe | folds | labels | same statement | other statement | gap (same - other) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        for space, title in (("canonical", "canonical 7"), ("native", "native 8")):
            s = r.get(f"statement_{space}")
            if not s:
                continue
            gap = [a - b for a, b in zip(s["same"], s["other"], strict=True)]
            out.append(
                f"| {r['label']} | {','.join(r['statement_folds'])} | {title} | {_ms(s['same'])} "
                f"| {_ms(s['other'])} | {_ms(gap)} pt |"
            )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=DIR[+DIR...]")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    rows = []
    for spec in args.runs:
        label, _, dirs = spec.partition("=")
        rows.append(summarise(label, [Path(d) for d in dirs.split("+")]))
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "voice_transfer.json", json.dumps(rows, indent=1).encode())
    text = render(rows)
    write_atomic(args.out / "voice_transfer.md", text.encode())
    print(text)


if __name__ == "__main__":
    main()
