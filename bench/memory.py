"""Peak memory of ``emofuse analyze`` against input length (1, 10 and 60 minutes, generated).

Generates media once into bench/out/ (not committed): a 320x240, 5 fps video with a face
(the sample clip's first face, drifting) and speech-like audio, and the same audio as a
16 kHz WAV; each length is then analysed in a fresh process (``--format json -o``) and its
peak RSS read from the OS. The baseline is the 1-minute run of the same command in the same
run: a flat pipeline stays near 1.0x at 60 minutes. With ``--before REF`` the same commands
also run on the code of git commit REF (``git archive``), for a before/after comparison.

    python bench/memory.py [--minutes 1,10,60] [--before c2aae19 [--before-minutes 1,10]]

Writes bench/results/memory.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SAMPLES = ROOT.parent / "shared" / "samples"
SR, FPS, W, H = 16000, 5, 320, 240


def speech(n: int, seed: int) -> np.ndarray:
    """Speech-like audio (voiced buzz through changing vowel formants, 8 Hz syllables) with
    pauses, as float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = 110 + 30 * np.sin(2 * np.pi * 0.3 * t) + 10 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    src = sum(np.sin(h * phase) / h for h in range(1, 30))
    out, step = np.zeros(n), SR // 8
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480)]
    for s in range(0, n, step):
        x = src[s : s + step]
        freqs = np.fft.rfftfreq(x.size, 1 / SR)
        v = vowels[int(rng.integers(len(vowels)))]
        out[s : s + step] = np.fft.irfft(
            np.fft.rfft(x) * sum(1 / (1 + ((freqs - f) / 80) ** 2) for f in v), x.size
        )
    out *= 0.5 * (1 - np.cos(2 * np.pi * 8 * t))
    out *= np.sin(2 * np.pi * t / 7) > -0.6  # a pause every 7 s
    return (0.2 * out / np.abs(out).max()).astype(np.float32)


def face_image() -> np.ndarray:
    import cv2

    from emofuse.media.decode import iter_frames

    clip = SAMPLES / "four_emotions.mp4"
    if clip.is_file():
        frame = next(iter_frames(clip, fps=1.0, start=1.0))[1]
        return cv2.resize(frame, (W, H), interpolation=cv2.INTER_AREA)
    return np.full((H, W, 3), 128, np.uint8)


def generate(minutes: int) -> tuple[Path, Path]:
    """(video, wav) of ``minutes`` minutes, written once (reused when present)."""
    import av

    OUT.mkdir(parents=True, exist_ok=True)
    video, wav = OUT / f"talk_{minutes}min.mkv", OUT / f"talk_{minutes}min.wav"
    if video.is_file() and wav.is_file():
        return video, wav
    face = face_image()
    with av.open(str(video) + ".tmp.mkv", "w") as out, av.open(str(wav) + ".tmp.wav", "w") as aout:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "30"}
        streams = []
        for container in (out, aout):
            a = container.add_stream("pcm_s16le", rate=SR)
            a.codec_context.layout, a.codec_context.format = "mono", "s16"
            streams.append(a)
        for sec in range(minutes * 60):
            for k in range(FPS):
                i = sec * FPS + k
                shift = (int(8 * np.sin(i / 20)), int(6 * np.cos(i / 27)))
                frame = av.VideoFrame.from_ndarray(
                    np.roll(face, shift, axis=(0, 1)), format="rgb24"
                )
                frame.pts, frame.time_base = i, Fraction(1, FPS)
                out.mux(vs.encode(frame))
            pcm = (speech(SR, seed=sec) * 32767).astype(np.int16)[None]
            for container, a in zip((out, aout), streams):
                af = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
                af.sample_rate, af.pts, af.time_base = SR, sec * SR, Fraction(1, SR)
                container.mux(a.encode(af))
        out.mux(vs.encode(None))
        for container, a in zip((out, aout), streams):
            container.mux(a.encode(None))
    os.replace(str(video) + ".tmp.mkv", video)
    os.replace(str(wav) + ".tmp.wav", wav)
    return video, wav


def run(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return {
        "wall_s": round(time.perf_counter() - t0, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def before_tree(ref: str) -> Path:
    """The ``src/`` of git commit ``ref``, extracted to a temporary folder."""
    where = Path(tempfile.mkdtemp(prefix="emofuse-before-"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="1,10,60")
    parser.add_argument("--before", default=None, help="also run the code of this git commit")
    parser.add_argument(
        "--before-minutes", default="1,10", help="lengths for --before (the old code is slow)"
    )
    args = parser.parse_args()
    lengths = [int(m) for m in args.minutes.split(",")]
    media = {m: generate(m) for m in sorted({*lengths, *map(int, args.before_minutes.split(","))})}
    trees = {"now": ROOT / "src"}
    if args.before:
        trees[f"before ({args.before})"] = before_tree(args.before)
    cases = {
        "video (face + voice)": lambda v, w: [str(v), "--modalities", "face,voice"],
        "audio (voice)": lambda v, w: [str(w), "--modalities", "voice"],
    }
    rows: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for code, src in trees.items():
        env = {**os.environ, "PYTHONPATH": str(src)}
        todo = lengths if code == "now" else [int(m) for m in args.before_minutes.split(",")]
        for case, argv in cases.items():
            for m in todo:
                out = OUT / f"result_{m}.json"
                cmd = [sys.executable, "-m", "emofuse", "analyze", *argv(*media[m])]
                r = run([*cmd, "--format", "json", "-o", str(out)], env)
                rows.setdefault(code, {}).setdefault(case, {})[f"{m} min"] = r
                print(code, case, m, r, flush=True)
    lines = [
        "# Peak memory of `emofuse analyze` against input length (generated media, fresh process)",
        "",
        f"Video: {W}x{H}, {FPS} fps, a face and speech-like audio, analysed at fps 2 in 4 s "
        "windows; audio: the same track as a 16 kHz WAV. Ratio: peak RSS / the shortest run "
        "of the same code and command; growth: MiB of peak RSS per minute of input added since "
        "the previous length.",
        "",
        "| code | input | minutes | peak RSS MiB | vs shortest | MiB per added minute "
        "| wall s | CPU s | CPU s per input min |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for code, per_case in rows.items():
        for case, per_len in per_case.items():
            first = next(iter(per_len.values()))["peak_rss_mib"]
            prev: tuple[int, float] | None = None
            for key, r in per_len.items():
                m = int(key.split()[0])
                growth = (
                    "" if prev is None else f"{(r['peak_rss_mib'] - prev[1]) / (m - prev[0]):.2f}"
                )
                prev = (m, r["peak_rss_mib"])
                lines.append(
                    f"| {code} | {case} | {m} | {r['peak_rss_mib']:.0f} "
                    f"| {r['peak_rss_mib'] / first:.2f}x | {growth} | {r['wall_s']:.1f} "
                    f"| {r['cpu_s']:.1f} | {r['cpu_s'] / m:.2f} |"
                )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory.md").write_text("\n".join(lines) + "\n")
    (out / "memory.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
