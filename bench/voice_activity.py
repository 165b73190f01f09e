"""Voice path before/after: clips refused as "silent" (RMS check vs VAD) and the predictions.

On every RAVDESS speech clip (1,200, ../shared/data), as is and with its gain lowered by
26 dB (and 40 dB), counts the clips refused by
  * the old check: whole-clip RMS below -50 dBFS;
  * the new one: Silero VAD after level normalisation (``emofuse.media.vad.has_speech``);
and, as the other side of the trade-off, the share of generated non-speech (digital
silence, white and pink noise, tones, at several levels) that each accepts as speech.
Also reports the RAVDESS loud-frame level (the normalisation target), the time per clip of
each check next to the voice model's own call, and what the new path (VAD, level
normalisation, numpy log-mel, padded ONNX batches) does to the bundled model's predictions
against the old one (torch, one clip at a time, unnormalised): agreement and accuracy on
the same clips. All in one run. (The bundled model was trained on all 20 actors, so these
accuracies are not held-out figures; they compare the two paths like for like.)

    python bench/voice_activity.py [--limit N]

Writes bench/results/voice_activity.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from emofuse.data.datasets.ravdess import EMOTIONS  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "ravdess"
SR = 16000
GAINS_DB = (0, -26, -40)


def non_speech(seed: int = 0) -> dict[str, np.ndarray]:
    """3 s generated signals that hold no speech."""
    rng = np.random.default_rng(seed)
    n = 3 * SR
    t = np.arange(n) / SR
    white = rng.normal(0, 1, n)
    pink = np.cumsum(rng.normal(0, 1, n))  # brown-ish, then high-passed by differencing
    pink = np.diff(pink, prepend=0) * 0.5 + pink / np.abs(pink).max() * 0.5
    out = {"digital silence": np.zeros(n)}
    for level in (-60, -30, -10):
        scale = 10 ** (level / 20)
        out[f"white noise {level} dBFS"] = white / white.std() * scale
        out[f"pink-ish noise {level} dBFS"] = pink / pink.std() * scale
    out["440 Hz tone -20 dBFS"] = 0.1 * np.sin(2 * np.pi * 440 * t)
    out["tone sweep 100-4000 Hz -20 dBFS"] = 0.1 * np.sin(2 * np.pi * (100 + 650 * t) * t)
    out["clicks 2/s"] = np.where((np.arange(n) % (SR // 2)) < 40, 0.5, 0.0)
    return {k: np.clip(v, -1, 1).astype(np.float32) for k, v in out.items()}


def compare_paths(waves, emotions, refused) -> dict:
    """Old vs new voice path of the bundled model on the same clips (canonical labels)."""
    from emofuse.inference.recognizer import Recognizer
    from emofuse.labels import to_canonical
    from emofuse.models.voice import VoiceModel

    truth = [to_canonical("ravdess", e) for e in emotions]
    old_model = VoiceModel.load(backend="torch")
    rec = Recognizer.default()
    new_model = rec.model("voice")
    out: dict = {}
    for gain in GAINS_DB:
        g = np.float32(10 ** (gain / 20))
        scaled = [w * g for w in waves]
        old = [
            None if r else old_model.labels[int(old_model.predict_proba([w])[0].argmax())]
            for w, r in zip(scaled, refused["rms"][gain])
        ]
        new = [
            None if isinstance(p, Exception) else p.label
            for p in rec.predict_voice(scaled, on_error="return")
        ]
        both = [(a, b, t) for a, b, t in zip(old, new, truth) if a is not None and b is not None]
        out[f"{gain} dB"] = {
            "old_accuracy": float(np.mean([a == t for a, t in zip(old, truth)])),
            "new_accuracy": float(np.mean([b == t for b, t in zip(new, truth)])),
            "agreement": float(np.mean([a == b for a, b, _ in both])) if both else float("nan"),
            "both": len(both),
            "old_accuracy_where_both": float(np.mean([a == t for a, _, t in both]))
            if both
            else float("nan"),
            "new_accuracy_where_both": float(np.mean([b == t for _, b, t in both]))
            if both
            else float("nan"),
        }
    same = waves[:200]  # same input, no VAD or normalisation: one at a time vs padded batches
    one = np.stack([old_model.predict_proba([w])[0] for w in same])
    diff = np.abs(one - new_model.predict_proba(same)).max()
    out["max_abs_prob_diff_same_input"] = float(diff)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips (0: all)")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"RAVDESS not found at {DATA} (the benchmark needs ../shared/data)")

    from emofuse.media.audio import is_silent, load_audio
    from emofuse.media.vad import has_speech, loud_level
    from emofuse.models.voice import VoiceModel

    files = sorted(DATA.glob("Actor_*/*.flac"))
    if args.limit:
        files = files[: args.limit]
    waves = [load_audio(f, SR) for f in files]
    emotions = [EMOTIONS[f.name.split("-")[2]] for f in files]
    levels = np.array([loud_level(w) for w in waves])

    refused: dict[str, dict[int, list[bool]]] = {"rms": {}, "vad": {}}
    seconds = {"rms": 0.0, "vad": 0.0}
    for gain in GAINS_DB:
        g = np.float32(10 ** (gain / 20))
        for name, check in (("rms", is_silent), ("vad", lambda w: not has_speech(w))):
            t0 = time.perf_counter()
            refused[name][gain] = [bool(check(w * g)) for w in waves]
            seconds[name] += time.perf_counter() - t0
    model = VoiceModel.load()
    t0 = time.perf_counter()
    for w in waves:
        model.predict_proba([w])
    model_s = time.perf_counter() - t0
    paths = compare_paths(waves, emotions, refused)

    others = non_speech()
    accepted = {k: {"rms": not is_silent(v), "vad": has_speech(v)} for k, v in others.items()}

    n = len(files)
    by_emotion = {
        (name, gain): Counter(e for e, r in zip(emotions, refused[name][gain]) if r)
        for name in refused
        for gain in GAINS_DB
    }
    per = Counter(emotions)
    result = {
        "clips": n,
        "loud_level_dbfs": {
            "median": round(float(np.median(levels)), 1),
            "p5": round(float(np.percentile(levels, 5)), 1),
            "p95": round(float(np.percentile(levels, 95)), 1),
        },
        "refused": {
            f"{name} {gain} dB": {
                "all": sum(refused[name][gain]),
                **{e: by_emotion[name, gain][e] for e in EMOTIONS.values()},
            }
            for name in refused
            for gain in GAINS_DB
        },
        "non_speech_accepted": accepted,
        "paths": paths,
        "ms_per_clip": {
            "old RMS check": round(seconds["rms"] / (n * len(GAINS_DB)) * 1000, 3),
            "VAD (has_speech)": round(seconds["vad"] / (n * len(GAINS_DB)) * 1000, 3),
            "voice model (predict_proba, 1 clip)": round(model_s / n * 1000, 3),
        },
    }
    lines = [
        "# Voice activity: clips refused as silent (RAVDESS speech) and non-speech accepted",
        "",
        f"{n} RAVDESS clips; loud-frame level (90th percentile of 32 ms frame RMS): median "
        f"{result['loud_level_dbfs']['median']} dBFS (5-95%: {result['loud_level_dbfs']['p5']} "
        f"to {result['loud_level_dbfs']['p95']}).",
        "",
        "| check | gain | refused | " + " | ".join(EMOTIONS.values()) + " |",
        "|---|---|---|" + "---|" * len(EMOTIONS),
    ]
    for name, label in (("rms", "old: RMS < -50 dBFS"), ("vad", "new: VAD after normalisation")):
        for gain in GAINS_DB:
            r = result["refused"][f"{name} {gain} dB"]
            cells = [f"{r[e]}/{per[e]}" for e in EMOTIONS.values()]
            lines.append(
                f"| {label} | {gain} dB | {r['all']}/{n} ({r['all'] / n:.1%}) | "
                + " | ".join(cells)
                + " |"
            )
    lines += ["", "| generated non-speech (3 s) | old accepts | new accepts |", "|---|---|---|"]
    for k, v in accepted.items():
        lines.append(f"| {k} | {'yes' if v['rms'] else 'no'} | {'yes' if v['vad'] else 'no'} |")
    lines += [
        "",
        "Bundled voice model, old path (torch, one clip at a time, RMS check) vs new path "
        "(`Recognizer.predict_voice` on the list: VAD, level normalisation, ONNX batches); "
        "accuracy over all clips counts a refused clip as wrong:",
        "",
        "| gain | old accuracy | new accuracy | clips both predict | agreement there | "
        "old / new accuracy there | max abs prob diff (same input) |",
        "|---|---|---|---|---|---|---|",
    ]
    for gain in GAINS_DB:
        p = paths[f"{gain} dB"]
        lines.append(
            f"| {gain} dB | {p['old_accuracy']:.1%} | {p['new_accuracy']:.1%} | {p['both']} "
            f"| {p['agreement']:.1%} | {p['old_accuracy_where_both']:.1%} / "
            f"{p['new_accuracy_where_both']:.1%} | {paths['max_abs_prob_diff_same_input']:.1e} |"
        )
    lines += ["", "| per clip | ms |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["ms_per_clip"].items()]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "voice_activity.md").write_text("\n".join(lines) + "\n")
    (out / "voice_activity.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
