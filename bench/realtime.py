"""The real-time audio-visual model against the bundled face + voice path: size, ms per step.

One live step is what ``emofuse serve`` computes for an update:

* bundled path: the face model on the newest face crop (flip TTA, as shipped) plus the voice
  model on the 3 s audio window;
* real-time model: one clip made of the last ``frames`` face crops and downscaled frames
  plus the same 3 s window (log-mel included), i.e. :class:`emofuse.inference.realtime.AVStream`.

Inputs come from the sample clip (faces found once beforehand: detection costs the same in
both paths and is left out). The two paths are timed in alternating warmed-up blocks (A, B,
A, B, ...) in one process, median ms per step, on torch (1 thread) and on onnxruntime (each
model's ONNX export, made here if missing). Sizes: weights (safetensors) and ONNX file.

    python bench/realtime.py [--model RUN_DIR] [--rounds 4]

``--model``: a folder with ``av/`` or an ``emofuse train`` RUN_DIR with a real-time model;
without it a randomly initialised network of the default configuration is timed (speed and
size do not depend on the weights). Writes bench/results/realtime.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "samples" / "four_emotions.mp4"
RATE = 16000


def sample_inputs(frames: int):
    """``frames`` RGB frames with their face boxes and a 3 s wave from the sample clip."""
    from emofuse.media import decode
    from emofuse.media.faces import FaceDetector, main_face

    if not SAMPLE.is_file():
        sys.exit(f"the sample clip is missing: {SAMPLE}")
    det = FaceDetector()
    shots = [rgb for _, rgb in decode.iter_frames(SAMPLE, fps=4.0, start=4.0, end=8.0)]
    shots = shots[:frames]
    boxes = [main_face(det.detect(rgb)) for rgb in shots]
    wave = decode.load_audio(SAMPLE, RATE, start=4.0, end=7.0)
    return shots, boxes, wave


def av_folder(model: str | None, work: Path) -> Path:
    """A real-time model folder (copied into ``work`` so its ONNX export can be written)."""
    from emofuse.inference.realtime import find_av
    from emofuse.models.artifact import ModelMeta, save_model
    from emofuse.models.realtime import RealtimeAV, RealtimeConfig

    target = work / "av"
    if model is not None:
        found = find_av(model)
        if found is None:
            sys.exit(f"no real-time model in {model}")
        shutil.copytree(found, target)
        return target
    torch.manual_seed(0)
    net = RealtimeAV(RealtimeConfig())
    prep = {"sample_rate": RATE, "n_fft": 400, "hop": 160, "clip": {"frames": 8}}
    labels = ["neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise"]
    meta = ModelMeta("random-av", "av", "realtime_av", net.config.__dict__, labels, prep)
    return save_model(net, meta, target)


def timed(steps: dict, rounds: int, seconds: float = 1.0) -> dict[str, float]:
    """Median ms per call of each step, in alternating warmed-up blocks."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    with torch.inference_mode():
        for _ in range(rounds):
            for name, call in steps.items():
                for _ in range(3):
                    call()
                start = time.perf_counter()
                while time.perf_counter() - start < seconds / rounds or len(times[name]) < 3:
                    t0 = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - t0)
    return {name: round(statistics.median(t) * 1000, 2) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0, help="timing budget per step")
    args = parser.parse_args()

    from emofuse.inference.realtime import AVStream
    from emofuse.models.face_cnn import FaceModel
    from emofuse.models.onnx.export import export_onnx
    from emofuse.models.realtime import RealtimeModel
    from emofuse.models.voice_cnn import VoiceModel

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="bench-realtime-"))
    folder = av_folder(args.model, work)
    export_onnx(folder)
    bundled = ROOT / "src" / "emofuse" / "weights"
    spec = RealtimeModel.load(folder, backend="torch").clip_spec
    shots, boxes, wave = sample_inputs(spec.frames)
    if not any(b is not None for b in boxes):
        sys.exit("no face found in the sample clip's frames")
    face_box = next(b for b in reversed(boxes) if b is not None)

    from emofuse.media.faces import crop_face

    rows, results = [], {}
    for backend in ("torch", "onnx"):
        face = FaceModel.load(bundled / "face", backend=backend)
        voice = VoiceModel.load(bundled / "voice", backend=backend)
        av = RealtimeModel.load(folder, backend=backend)
        stream = AVStream(av)
        for rgb, box in zip(shots, boxes):
            stream.push(rgb, box)
        crop = crop_face(shots[-1], face_box, size=face.size)[None]
        steps = {
            "face + voice (bundled)": lambda f=face, v=voice, c=crop: (
                f.predict_proba(c),
                v.predict_proba([wave]),
            ),
            "real-time model": lambda s=stream: s.probs(wave),
        }
        ms = timed(steps, args.rounds, args.seconds)
        results[backend] = ms
        base = ms["face + voice (bundled)"]
        for name, value in ms.items():
            rows.append((backend, name, value, round(value / base, 2)))

    sizes = {
        "real-time model": {
            "parameters": int(sum(p.numel() for p in av.module.parameters())),
            "safetensors_bytes": (folder / "model.safetensors").stat().st_size,
            "onnx_bytes": (folder / "model.onnx").stat().st_size,
        },
        "face + voice (bundled)": {
            "parameters": int(
                sum(p.numel() for p in face.module.parameters())
                + sum(p.numel() for p in voice.module.parameters())
            ),
            "safetensors_bytes": sum(
                (bundled / m / "model.safetensors").stat().st_size for m in ("face", "voice")
            ),
            "onnx_bytes": sum(
                (bundled / m / "model.onnx").stat().st_size
                for m in ("face", "voice")
                if (bundled / m / "model.onnx").is_file()
            ),
        },
    }
    info = {
        "model": args.model or "random weights, default RealtimeConfig",
        "clip": {"frames": spec.frames, "audio_seconds": round(len(wave) / RATE, 2)},
        "torch_threads": 1,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average "
        + "/".join(f"{v:.1f}" for v in os.getloadavg()),
        "ms_per_step": results,
        "sizes": sizes,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "realtime.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [
        "# Real-time audio-visual model vs the bundled face + voice path",
        "",
        f"Model: {info['model']}. One step = one live update: {spec.frames} face crops + "
        f"frames and a {info['clip']['audio_seconds']} s window for the real-time model; one "
        "face crop (flip TTA) + the same window for the bundled face and voice models. "
        "Median ms, alternating warmed-up blocks in one process, torch with 1 thread, "
        f"onnxruntime with its 2 threads; {info['machine']}.",
        "",
        "| backend | path | ms per step | ratio to face + voice |",
        "|---|---|---|---|",
        *[f"| {b} | {n} | {v} | {r} |" for b, n, v, r in rows],
        "",
        "| model | parameters | weights (MB) | ONNX (MB) |",
        "|---|---|---|---|",
        *[
            f"| {k} | {v['parameters']:,} | {v['safetensors_bytes'] / 1e6:.2f} | "
            f"{v['onnx_bytes'] / 1e6:.2f} |"
            for k, v in sizes.items()
        ],
        "",
    ]
    (out / "realtime.md").write_text("\n".join(lines))
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
