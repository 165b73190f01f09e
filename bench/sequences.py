"""Cost of sequence features next to pooled ones: extract time, store size, load time.

For each encoder with ``encode_sequence`` (MiniLM on MELD dev texts, log-mel frames on
RAVDESS clips), extracts the same items into fresh stores with ``kind="pooled"`` and then
``kind="both"`` (in-process, the same run, so the ratio is what to read), and times
``load_features`` / ``load_sequences``. Writes bench/results/sequences.{md,json}::

    python bench/sequences.py [--items 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from emofuse.encoders.base import build_encoder
from emofuse.features import extract, load_features, load_sequences
from encoders import meld_texts, ravdess  # bench/encoders.py: the same samples

OUT = Path(__file__).resolve().parent / "results"
CASES = [("minilm", meld_texts, "MELD dev texts"), ("logmel_stats", ravdess, "RAVDESS clips")]


def size_mb(folder: str) -> float:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 2**20


def measure(name: str, manifest, kind: str) -> dict:
    encoder = build_encoder(name)
    encoder.encode(list(manifest.frame["text"][:1]) if name == "minilm" else [np.zeros(16000)])
    with tempfile.TemporaryDirectory() as tmp:
        s = extract(manifest, encoder, tmp, kind=kind, workers=0, batch_size=32, progress=False)
        t0 = time.perf_counter()
        _, x = load_features(tmp)
        load_pooled = time.perf_counter() - t0
        row = {"encoder": name, "kind": kind, "items": s.total, "computed": s.computed}
        row.update(extract_s=round(s.seconds, 2), store_mb=round(size_mb(tmp), 2))
        row.update(load_pooled_s=round(load_pooled, 3), dim=int(x.shape[1]))
        if kind == "both":
            t0 = time.perf_counter()
            _, seqs = load_sequences(tmp)
            row["load_sequences_s"] = round(time.perf_counter() - t0, 3)
            lengths = [len(q) for q in seqs]
            row.update(mean_T=round(float(np.mean(lengths)), 1), max_T=int(max(lengths)))
            row["sequence_dim"] = int(seqs[0].shape[1])
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=300)
    args = ap.parse_args()
    rows = []
    for name, load, data in CASES:
        m = load(args.items)
        for kind in ("pooled", "both"):
            r = {"data": data, **measure(name, m, kind)}
            rows.append(r)
            print(r, flush=True)
    meta = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "note": "in-process (workers=0), batch 32, fresh store per run (a repeated text is a "
        "cache hit); the machine was shared, so compare pooled and both of one encoder "
        "(measured back to back)",
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "sequences.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    cols = [
        "encoder",
        "data",
        "kind",
        "items",
        "computed",
        "extract_s",
        "store_mb",
        "load_pooled_s",
    ]
    cols += ["load_sequences_s", "mean_T", "max_T", "sequence_dim"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    (OUT / "sequences.md").write_text(
        f"# Sequence features\n\n{meta['machine']}. {meta['note']}.\n\n" + "\n".join(lines) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
