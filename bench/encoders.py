"""Encoder throughput (items/s) through `emofuse.features.extract`, and local vs Ray.

Reads samples from ../shared/data (MELD dev texts, RAVDESS clips, FER2013 validation
images); each run extracts into a fresh temporary store, so every item is computed.
Writes bench/results/encoders.{md,json}::

    python bench/encoders.py [--items 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import pandas as pd

from emofuse.data.manifest import Manifest
from emofuse.encoders.base import build_encoder, encoder_names
from emofuse.features import extract

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results"


def meld_texts(n: int) -> Manifest:
    df = pd.read_csv(DATA / "meld" / "dev_sent_emo.csv").head(n)
    rows = [{"id": f"meld{i}", "corpus": "meld", "text": t} for i, t in enumerate(df["Utterance"])]
    return Manifest.from_records(rows)


def ravdess(n: int) -> Manifest:
    files = sorted((DATA / "ravdess").glob("Actor_*/*.flac"))[:n]
    return Manifest.from_records(
        [{"id": f.stem, "corpus": "ravdess", "audio": str(f)} for f in files]
    )


def fer(n: int) -> Manifest:
    files = sorted((DATA / "fer2013" / "validation").glob("*/*.jpg"))
    step = max(1, len(files) // n)
    rows = [
        {"id": f"{f.parent.name}/{f.stem}", "corpus": "fer", "image": str(f)}
        for f in files[::step][:n]
    ]
    return Manifest.from_records(rows)


CASES = [
    ("minilm", meld_texts, "MELD dev texts"),
    ("logmel_stats", ravdess, "RAVDESS clips"),
    ("default_face", fer, "FER2013 validation"),
    ("default_voice", ravdess, "RAVDESS clips"),
]


def time_extract(encoder, manifest, engine: str, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        s = extract(
            manifest, encoder, tmp, engine=engine, workers=workers, batch_size=32, progress=False
        )
    return {
        "items": s.total,
        "computed": s.computed,
        "failed": s.failed,
        "seconds": round(s.seconds, 2),
        "items_per_s": round(s.computed / s.seconds, 1) if s.seconds else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--engine-encoder", default="logmel_stats")
    args = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"no data at {DATA}")
    names = set(encoder_names())
    rows = []
    for name, load, data in CASES:
        if name not in names:
            continue
        m = load(args.items)
        r = {"encoder": name, "data": data, "engine": "local", "workers": args.workers}
        r.update(time_extract(build_encoder(name), m, "local", args.workers))
        rows.append(r)
        print(r, flush=True)
    m = dict((n, load) for n, load, _ in CASES)[args.engine_encoder](args.items)
    for engine, workers in [("local", 0), ("local", args.workers), ("ray", args.workers)]:
        r = {
            "encoder": args.engine_encoder,
            "data": "engine comparison",
            "engine": engine,
            "workers": workers,
        }
        r.update(time_extract(build_encoder(args.engine_encoder), m, engine, workers))
        rows.append(r)
        print(r, flush=True)
    OUT.mkdir(exist_ok=True)
    meta = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "note": "fresh store per run (all items computed); local workers=0 is in-process; "
        "times include worker start-up (process spawn / ray.init)",
    }
    (OUT / "encoders.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    cols = ["encoder", "data", "engine", "workers", "items", "failed", "seconds", "items_per_s"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    (OUT / "encoders.md").write_text(
        f"# Encoder throughput\n\n{meta['machine']}. {meta['note']}.\n\n" + "\n".join(lines) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
