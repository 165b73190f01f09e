"""Warm ``analyze`` against decoding, and items per second per modality against the model call.

Measured in one run, on this machine, each against a baseline from the same run:
  * warm: ``Recognizer.analyze`` on the sample clip with the models loaded (what a server
    sees), against decoding alone (frames at the same fps + the audio track): the ratio
    shows what recognition adds on top of reading the media;
  * items/s: ``predict_text``/``predict_voice``/``predict_face`` on lists (batched) and one
    item at a time (the old API), against the model's own call on the same prepared
    batch (``predict_proba``: what is left once inputs are decoded, detected, checked).
Wall and CPU time are both reported; on a busy machine CPU time is the steadier one.

    python bench/analyze.py [--clip PATH] [--runs 5]

Writes bench/results/analyze.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI and server set them
os.environ.setdefault("OPENCV_FOR_THREADS_NUM", "1")
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
DATA = ROOT.parent / "shared" / "data"


def timed(fn, runs: int) -> dict[str, float]:
    """Median wall and CPU seconds of ``fn`` over ``runs`` calls (after one warm-up)."""
    fn()
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {"wall_s": statistics.median(wall), "cpu_s": statistics.median(cpu)}


def inputs(n: int):
    """n texts, n 16 kHz voice waves (3-4 s) and n 48x48 face crops, real when available."""
    from emofuse.media.audio import load_audio

    rng = np.random.default_rng(0)
    meld = DATA / "meld" / "dev_sent_emo.csv"
    if meld.is_file():
        import csv

        with meld.open(encoding="utf-8", errors="replace") as f:
            texts = [r["Utterance"] for r in csv.DictReader(f) if r["Utterance"].strip()][:n]
    else:
        texts = [f"Sentence number {i}, and how I feel about it." for i in range(n)]
    clips = sorted((DATA / "ravdess").glob("Actor_*/*.flac"))[:n]
    if clips:
        waves = [load_audio(c) for c in clips]
    else:
        sys.path.insert(0, str(ROOT))
        from tests.fixtures import speechlike

        waves = [speechlike(3.0 + (i % 10) / 10, seed=i)[0] for i in range(n)]
    fer = sorted((DATA / "fer2013" / "validation").glob("*/*.jpg"))[:n]
    if fer:
        import cv2

        crops = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in fer]
    else:
        crops = list(rng.integers(0, 256, (n, 48, 48), dtype=np.uint8))
    return texts, waves, crops


def transcript_pass(rec, clip: Path, n: int) -> dict[str, float]:
    """Seconds of ``analyze`` (text only) with a generated SRT of ``n`` distinct cues."""
    import tempfile

    words = [
        "so",
        "happy",
        "sad",
        "angry",
        "why",
        "what",
        "now",
        "never",
        "again",
        "great",
        "awful",
        "fine",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        srt = Path(tmp) / "long.srt"
        srt.write_text(
            "".join(
                f"{i + 1}\n00:00:{i % 15:02d},000 --> 00:00:{i % 15:02d},500\n"
                f"{words[i % 12]} {words[(i // 12) % 12]} number {i}\n\n"
                for i in range(n)
            )
        )
        w, c = time.perf_counter(), time.process_time()
        rec.analyze(clip, srt, modalities=["text"])
        return {
            "wall_s": round(time.perf_counter() - w, 2),
            "cpu_s": round(time.process_time() - c, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SAMPLES / "four_emotions.mp4")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--items", type=int, default=128)
    args = parser.parse_args()
    if not args.clip.is_file():
        sys.exit(f"clip not found: {args.clip} (the benchmark needs ../shared/samples)")
    transcript = args.clip.with_suffix(".srt")

    from emofuse import Recognizer
    from emofuse.media import decode, vad

    duration = decode.probe(args.clip).duration

    def decode_only():
        for _ in decode.iter_frames(args.clip, fps=args.fps, pixel_format="gray"):
            pass
        decode.load_audio(args.clip)

    t0 = time.perf_counter()
    rec = Recognizer.default()
    rec.analyze(args.clip, transcript, fps=args.fps)  # loads every model
    load_s = time.perf_counter() - t0
    clip_rows = {
        "warm analyze (models loaded)": timed(
            lambda: rec.analyze(args.clip, transcript, fps=args.fps), args.runs
        ),
        "baseline: decode only": timed(decode_only, args.runs),
    }

    texts, waves, crops = inputs(args.items)
    models = {m: rec.model(m) for m in ("text", "voice", "face")}
    ready_waves = [vad.normalise_gain(w) for w in waves]
    stack = np.stack(crops)
    runs = max(1, args.runs // 2)
    items = {
        "text": {
            "batched (predict_text)": timed(lambda: rec.predict_text(texts), runs),
            "one at a time": timed(lambda: [rec.predict_text(t) for t in texts], runs),
            "model call (predict_proba)": timed(lambda: models["text"].predict_proba(texts), runs),
        },
        "voice": {
            "batched (predict_voice)": timed(lambda: rec.predict_voice(waves), runs),
            "one at a time": timed(lambda: [rec.predict_voice(w) for w in waves], runs),
            "model call (predict_proba)": timed(
                lambda: models["voice"].predict_proba(ready_waves), runs
            ),
        },
        "face": {
            "batched (predict_face)": timed(lambda: rec.predict_face(crops), runs),
            "one at a time": timed(lambda: [rec.predict_face(c) for c in crops], runs),
            "model call (predict_proba)": timed(lambda: models["face"].predict_proba(stack), runs),
        },
    }
    cues = {n: transcript_pass(rec, args.clip, n) for n in (1000, 8000)}
    warm = clip_rows["warm analyze (models loaded)"]
    base = clip_rows["baseline: decode only"]
    result = {
        "clip": args.clip.name,
        "duration_s": round(duration, 3),
        "fps": args.fps,
        "runs": args.runs,
        "load_average": os.getloadavg()[0],
        "backends": {m: getattr(models[m], "backend", "onnx") for m in models},
        "text_model": type(models["text"]).__name__,
        "first_call_incl_model_loading_s": round(load_s, 3),
        "clip_timings": {
            k: {**{x: round(y, 4) for x, y in v.items()}, "rtf": round(v["wall_s"] / duration, 4)}
            for k, v in clip_rows.items()
        },
        "warm_over_decode_wall": round(warm["wall_s"] / base["wall_s"], 2),
        "warm_over_decode_cpu": round(warm["cpu_s"] / base["cpu_s"], 2),
        "items": args.items,
        "items_per_s": {
            m: {k: round(args.items / v["wall_s"], 1) for k, v in rows.items()}
            for m, rows in items.items()
        },
        "transcript_text_pass": cues,
        "items_per_cpu_s": {
            m: {k: round(args.items / v["cpu_s"], 1) for k, v in rows.items()}
            for m, rows in items.items()
        },
    }
    lines = [
        f"# analyze: {args.clip.name} ({duration:.2f} s, fps {args.fps}) and items per second",
        "",
        f"Backends: {result['backends']} (text model {result['text_model']}); load "
        f"average {result['load_average']:.1f} on {os.cpu_count()} cores.",
        "",
        "| what | median wall s | median CPU s | real-time factor (wall) |",
        "|---|---|---|---|",
    ]
    for k, v in clip_rows.items():
        lines.append(
            f"| {k} | {v['wall_s']:.3f} | {v['cpu_s']:.3f} | {v['wall_s'] / duration:.4f} |"
        )
    lines += [
        "",
        f"warm analyze / decode only: {result['warm_over_decode_wall']}x wall, "
        f"{result['warm_over_decode_cpu']}x CPU; first call incl. model loading: {load_s:.2f} s",
        "",
        f"{args.items} items per modality (MELD dev texts, RAVDESS clips, FER2013 validation "
        "crops when ../shared/data is there):",
        "",
        "| modality | call | items/s (wall) | items/s (CPU) | vs model call (CPU) |",
        "|---|---|---|---|---|",
    ]
    for m, rows in items.items():
        model_cpu = rows["model call (predict_proba)"]["cpu_s"]
        for k, v in rows.items():
            lines.append(
                f"| {m} | {k} | {args.items / v['wall_s']:.1f} | {args.items / v['cpu_s']:.1f} "
                f"| {model_cpu / v['cpu_s']:.2f}x |"
            )
    lines += [
        "",
        "A long transcript (text only; each cue read with the cues before it as context):",
        "",
        "| cues | wall s | CPU s | CPU ms per cue |",
        "|---|---|---|---|",
    ]
    for n, r in cues.items():
        lines.append(
            f"| {n} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {1000 * r['cpu_s'] / n:.2f} |"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "analyze.md").write_text("\n".join(lines) + "\n")
    (out / "analyze.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
