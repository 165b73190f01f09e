"""Live-stream speed: per-update latency and sustained face frames per second over WebSockets.

Starts ``emofuse serve`` (bundled default models) in a subprocess on a free local port, then
replays the sample clip's frames (JPEG, 320 px wide, ``--fps``) and audio (PCM16 16 kHz,
0.256 s chunks) at real-time rate from 1, 4 and 8 concurrent clients, as the web page does.

* latency: from sending a frame to receiving the update for it (client clock, end to end);
  the server's own receive-to-update figure (``latency_ms``) is reported beside it;
* face fps: updates that carried a processed frame, per second of stream, per client
  (frames the server drops because a newer one arrived are not counted).

    python bench/live.py [--clients 1 4 8] [--seconds 15] [--fps 8] [--backend torch onnx]

Writes bench/results/live.{md,json}. ``--backend`` picks what runs the face and voice
networks (default: torch, then onnx); onnx fails clearly without onnxruntime or the export.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
RATE = 16000
AUDIO_CHUNK = 4096  # samples, what the page's ScriptProcessor sends


def load_clip(clip: Path, fps: float, seconds: float):
    from emofuse.media import decode

    frames = []
    for t, rgb in decode.iter_frames(clip, fps=fps, end=seconds):
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (320, round(h * 320 / w)), interpolation=cv2.INTER_AREA)
        _, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        frames.append((t, b"F" + struct.pack("<d", t) + buf.tobytes()))
    wave = decode.load_audio(clip, RATE, end=seconds)
    pcm = (np.clip(wave, -1, 1) * 32767).astype("<i2")
    audio = [
        (i / RATE, b"A" + struct.pack("<d", i / RATE) + pcm[i : i + AUDIO_CHUNK].tobytes())
        for i in range(0, pcm.size, AUDIO_CHUNK)
    ]
    return frames, audio


async def one_client(url: str, frames, audio) -> dict:
    import websockets

    sent: dict[float, float] = {}
    lat, server_lat, faces = [], [], 0
    events = sorted([(t, m, True) for t, m in frames] + [(t, m, False) for t, m in audio])
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # hello

        async def reader():
            nonlocal faces
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "update":
                    server_lat.append(msg["latency_ms"])
                    if msg["face"] is not None:
                        faces += 1
                        t0 = sent.get(round(msg["t"], 3))
                        if t0 is not None:
                            lat.append((time.perf_counter() - t0) * 1000)
                elif msg["type"] == "error":
                    raise RuntimeError(msg["message"])

        task = asyncio.create_task(reader())
        start = time.perf_counter()
        for t, msg, is_frame in events:
            delay = start + t - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if is_frame:
                sent[round(t, 3)] = time.perf_counter()
            await ws.send(msg)
        span = time.perf_counter() - start
        await asyncio.sleep(1.0)  # let the last updates arrive
        task.cancel()
    return {"latency_ms": lat, "server_ms": server_lat, "faces": faces, "span": span,
            "frames_sent": len(frames)}  # fmt: skip


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


async def run_level(url: str, n: int, frames, audio) -> dict:
    results = await asyncio.gather(*(one_client(url, frames, audio) for _ in range(n)))
    lat = [x for r in results for x in r["latency_ms"]]
    srv = [x for r in results for x in r["server_ms"]]
    per_client_fps = [r["faces"] / r["span"] for r in results]
    return {
        "clients": n,
        "latency_p50_ms": round(pct(lat, 50), 1),
        "latency_p95_ms": round(pct(lat, 95), 1),
        "server_p50_ms": round(pct(srv, 50), 1),
        "server_p95_ms": round(pct(srv, 95), 1),
        "face_fps_per_client": round(statistics.mean(per_client_fps), 2),
        "face_fps_total": round(sum(per_client_fps), 2),
        "frames_sent_fps_per_client": round(results[0]["frames_sent"] / results[0]["span"], 2),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, backend: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "emofuse", "serve", "--port", str(port), "--backend", backend]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}: {' '.join(cmd)}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start within 120 s")


def check_backend(backend: str) -> None:
    """Fail clearly when ONNX Runtime or the exported models are missing."""
    if backend == "torch":
        return
    from emofuse.inference.recognizer import DEFAULT_WEIGHTS
    from emofuse.models.onnx.runtime import onnxruntime_available

    missing = [m for m in ("face", "voice") if not (DEFAULT_WEIGHTS / m / "model.onnx").is_file()]
    if not onnxruntime_available() or missing:
        raise SystemExit(
            f"--backend {backend} needs onnxruntime (pip install 'emofuse[onnx]') and the "
            f"exported models (emofuse export-onnx); missing: {missing or 'onnxruntime'}"
        )


def write(rows: list[dict], args, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "clip": str(args.clip.name),
        "seconds": args.seconds,
        "fps_sent": args.fps,
        "backends": args.backend,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    (out / "live.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    head = (
        "| backend | clients | latency p50 (ms) | latency p95 (ms) | server p50 (ms) "
        "| server p95 (ms) | face fps / client | face fps total |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['backend']} | {r['clients']} | {r['latency_p50_ms']} | {r['latency_p95_ms']} | "
        f"{r['server_p50_ms']} | {r['server_p95_ms']} | {r['face_fps_per_client']} | "
        f"{r['face_fps_total']} |\n"
        for r in rows
    )
    text = (
        "# Live stream speed\n\n"
        f"`python bench/live.py` - {args.clip.name}, {args.seconds:g} s replayed at real time, "
        f"{args.fps:g} JPEG frames/s (320 px) + PCM16 16 kHz audio per client, "
        f"{os.cpu_count()} CPUs; backend = what runs the face and voice networks. "
        "Latency: frame sent -> its update received (client clock); server: message "
        "received -> update ready. Face fps: frames actually processed "
        "(the rest are dropped, newest wins).\n\n" + head + body
    )
    (out / "live.md").write_text(text)
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SAMPLES / "four_emotions.mp4")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--fps", type=float, default=8.0)
    parser.add_argument(
        "--backend", choices=["torch", "onnx", "auto"], nargs="+", default=["torch", "onnx"]
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    for backend in args.backend:
        check_backend(backend)
    if not args.clip.is_file():
        raise SystemExit(f"clip not found: {args.clip}")
    frames, audio = load_clip(args.clip, args.fps, args.seconds)
    rows = []
    for backend in args.backend:
        port = free_port()
        server = start_server(port, backend)
        try:
            url = f"ws://127.0.0.1:{port}/v1/stream"
            for n in args.clients:
                rows.append({"backend": backend, **asyncio.run(run_level(url, n, frames, audio))})
                print(rows[-1], flush=True)
        finally:
            server.terminate()
            server.wait(timeout=20)
    write(rows, args, args.out)


if __name__ == "__main__":
    main()
