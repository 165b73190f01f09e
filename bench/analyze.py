"""Real-time factor of ``analyze`` on the sample clip (wall time / clip duration).

Measured in one run, on this machine:
  * warm: ``Recognizer.analyze`` with the models already loaded (what a server sees);
  * cold: the whole ``emofuse analyze`` command (process start, imports, model loading);
  * baseline: decoding alone (frames at the same fps + the audio track), so the ratio
    analyze / decode shows what recognition adds on top of reading the media.

    python bench/analyze.py [--clip PATH] [--runs 5]

Writes bench/results/analyze.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SAMPLES / "four_emotions.mp4")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fps", type=float, default=2.0)
    args = parser.parse_args()
    if not args.clip.is_file():
        sys.exit(f"clip not found: {args.clip} (the benchmark needs ../shared/samples)")
    transcript = args.clip.with_suffix(".srt")

    from emofuse import Recognizer
    from emofuse.media import decode

    duration = decode.probe(args.clip).duration

    def decode_only():
        for _ in decode.iter_frames(args.clip, fps=args.fps):
            pass
        decode.load_audio(args.clip)

    t0 = time.perf_counter()
    rec = Recognizer.default()
    rec.analyze(args.clip, transcript, fps=args.fps)  # loads every model
    load_s = time.perf_counter() - t0
    warm = timed(lambda: rec.analyze(args.clip, transcript, fps=args.fps), args.runs)
    base = timed(decode_only, args.runs)
    cmd = [
        sys.executable,
        "-m",
        "emofuse",
        "analyze",
        str(args.clip),
        "--transcript",
        str(transcript),
        "--fps",
        str(args.fps),
        "--format",
        "json",
    ]
    cold = timed(
        lambda: subprocess.run(cmd, check=True, capture_output=True), max(2, args.runs // 2)
    )

    rows = {
        "warm analyze (models loaded)": warm,
        "cold CLI (emofuse analyze)": cold,
        "baseline: decode only": base,
    }
    med = {k: statistics.median(v) for k, v in rows.items()}
    result = {
        "clip": args.clip.name,
        "duration_s": round(duration, 3),
        "fps": args.fps,
        "runs": args.runs,
        "first_call_incl_model_loading_s": round(load_s, 3),
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "rtf": {k: round(v / duration, 4) for k, v in med.items()},
        "warm_over_decode": round(
            med["warm analyze (models loaded)"] / med["baseline: decode only"], 2
        ),
    }
    lines = [
        f"# analyze real-time factor: {args.clip.name} ({duration:.2f} s, fps {args.fps})",
        "",
        "| what | median s | min s | max s | real-time factor |",
        "|---|---|---|---|---|",
    ]
    for k, v in rows.items():
        lines.append(
            f"| {k} | {med[k]:.3f} | {min(v):.3f} | {max(v):.3f} | {med[k] / duration:.3f} |"
        )
    lines += [
        "",
        f"warm analyze / decode only: {result['warm_over_decode']}x; "
        f"first call incl. model loading: {load_s:.2f} s",
    ]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "analyze.md").write_text("\n".join(lines) + "\n")
    (out / "analyze.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
