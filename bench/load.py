"""A bounded load test of ``emofuse serve`` on loopback: REST and WebSocket clients at once.

Starts ``python -m emofuse serve`` (bundled models) on 127.0.0.1 and a free port, then runs
``--rounds`` identical rounds; the first starts the moment the server answers its health
check (cold: models that load lazily load under load), the others are warm. A round is, at
the same time:

* ``--rest-clients`` clients, each sending ``--requests`` requests in turn to
  ``POST /v1/text`` (4 short texts) and ``POST /v1/analyze`` (a generated 3 s clip, 160x120
  video + speech-like audio, 1 s windows);
* ``--streams`` WebSocket clients, each streaming ``--stream-seconds`` of generated JPEG
  frames (320x240, 8/s) and PCM16 audio at real-time pace.

Reported per round: errors, REST latency p50/p95 per endpoint, stream update latency
p50/p95 (frame sent -> its update received) and frames processed, and the server's RSS
before and after the round and its peak during it (``/proc``). Everything is bounded: a
request times out after 120 s, the whole run stops after ``--max-seconds``, and the server
is stopped at the end.

    python bench/load.py [--rounds 6] [--rest-clients 6] [--requests 4] [--streams 3]

Writes bench/results/load.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fixtures makes the clip
TEXTS = ["What a lovely surprise!", "I can't stand this.", "Fine, whatever.", "I'm scared."]
FPS, RATE, CHUNK = 8, 16000, 4096


class Server:
    """``emofuse serve`` on a free loopback port; its memory read from /proc."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emofuse", "serve", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import httpx

        while time.perf_counter() - t0 < 300:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/v1/health", timeout=1, trust_env=False)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit("server did not start within 300 s")
        self.start_s = time.perf_counter() - t0

    def mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def make_stream(seconds: float) -> tuple[list[tuple[float, bytes]], list[tuple[float, bytes]]]:
    """Binary frame and audio messages of ``seconds`` of a generated webcam + microphone."""
    import cv2

    frames = []
    for i in range(round(seconds * FPS)):
        t = i / FPS
        img = np.full((240, 320, 3), 60 + (i * 7) % 120, np.uint8)
        cv2.circle(img, (80 + (i * 13) % 160, 120), 40, (220, 190, 160), -1)
        _, buf = cv2.imencode(".jpg", img)
        frames.append((t, b"F" + struct.pack("<d", t) + buf.tobytes()))
    n = round(seconds * RATE)
    x = np.sin(2 * np.pi * 180 * np.arange(n) / RATE) * (0.2 + 0.1 * np.sin(np.arange(n) / 4000))
    pcm = (x * 32767).astype("<i2")
    audio = [
        (i / RATE, b"A" + struct.pack("<d", i / RATE) + pcm[i : i + CHUNK].tobytes())
        for i in range(0, n, CHUNK)
    ]
    return frames, audio


async def rest_client(http, clip: bytes, n: int, out: dict) -> None:
    for k in range(n):
        t0 = time.perf_counter()
        if k % 2 == 0:
            kind, res = "text", await http.post("/v1/text", json={"texts": TEXTS})
        else:
            files = {"file": ("clip.mp4", clip, "video/mp4")}
            kind = "analyze"
            res = await http.post("/v1/analyze", files=files, data={"window": "1"})
        out[kind].append(time.perf_counter() - t0)
        if res.status_code != 200:
            out["errors"].append(f"{kind} {res.status_code}: {res.text[:80]}")


async def stream_client(url: str, frames, audio, out: dict) -> None:
    from websockets.asyncio.client import connect

    sent: dict[float, float] = {}
    async with connect(url, proxy=None, max_size=2**22, open_timeout=60) as ws:
        json.loads(await ws.recv())  # hello

        async def feed() -> None:
            t0 = time.perf_counter()
            events = sorted([*frames, *audio], key=lambda e: e[0])
            for t, msg in events:
                await asyncio.sleep(max(0.0, t - (time.perf_counter() - t0)))
                if msg[:1] == b"F":
                    sent[round(t, 3)] = time.perf_counter()
                await ws.send(msg)
            await asyncio.sleep(1.0)  # let the last updates come back

        async def read() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "error":
                    out["errors"].append(f"stream: {msg['message'][:80]}")
                elif msg["type"] == "update" and msg["face"] is not None:
                    t = sent.pop(round(msg["t"], 3), None)
                    if t is not None:
                        out["stream"].append(time.perf_counter() - t)

        reader = asyncio.ensure_future(read())
        await feed()
        reader.cancel()


async def one_round(port: int, args, clip: bytes, frames, audio) -> dict:
    import httpx

    out: dict = {"text": [], "analyze": [], "stream": [], "errors": []}
    limits = httpx.Limits(max_connections=args.rest_clients)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits, trust_env=False
    ) as http:
        jobs = [rest_client(http, clip, args.requests, out) for _ in range(args.rest_clients)]
        url = f"ws://127.0.0.1:{port}/v1/stream"
        jobs += [stream_client(url, frames, audio, out) for _ in range(args.streams)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
    out["errors"] += [f"{type(r).__name__}: {r}"[:100] for r in results if isinstance(r, Exception)]
    return out


def pct(xs: list[float], q: float) -> int | None:
    """The ``q``-th percentile of ``xs`` seconds, in whole milliseconds."""
    if not xs:
        return None
    return round(1000 * float(np.percentile(xs, q)))


def summarize(i: int, out: dict, before: float, after: float, peak: float, wall: float) -> dict:
    return {
        "round": i,
        "kind": "cold" if i == 0 else "warm",
        "requests": len(out["text"]) + len(out["analyze"]),
        "errors": len(out["errors"]),
        "error_examples": sorted(set(out["errors"]))[:3],
        "text_p50_ms": pct(out["text"], 50),
        "text_p95_ms": pct(out["text"], 95),
        "analyze_p50_ms": pct(out["analyze"], 50),
        "analyze_p95_ms": pct(out["analyze"], 95),
        "stream_updates": len(out["stream"]),
        "stream_p50_ms": pct(out["stream"], 50),
        "stream_p95_ms": pct(out["stream"], 95),
        "rss_before_mb": round(before),
        "rss_after_mb": round(after),
        "peak_mb": round(peak),
        "wall_s": round(wall, 1),
    }


def write(rows: list[dict], meta: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    cols = [
        ("round", "round"), ("kind", "kind"), ("requests", "REST requests"),
        ("errors", "errors"), ("text_p50_ms", "text p50 ms"), ("text_p95_ms", "text p95 ms"),
        ("analyze_p50_ms", "analyze p50 ms"), ("analyze_p95_ms", "analyze p95 ms"),
        ("stream_updates", "stream face updates"), ("stream_p50_ms", "stream p50 ms"),
        ("stream_p95_ms", "stream p95 ms"), ("rss_before_mb", "RSS before MB"),
        ("rss_after_mb", "RSS after MB"), ("peak_mb", "peak MB"), ("wall_s", "wall s"),
    ]  # fmt: skip
    warm = [r["rss_after_mb"] for r in rows if r["kind"] == "warm"]
    steps = ", ".join(f"{b - a:+d}" for a, b in itertools.pairwise(warm)) or "n/a"
    drift = f"{warm[-1] - warm[0]:+d} MB" if len(warm) > 1 else "n/a"
    lines = [
        "# Load test (loopback)",
        "",
        f"`python bench/load.py` on {meta['cpus']} CPUs ({meta['date']}, Python "
        f"{meta['python']}): `emofuse serve` with the bundled models on 127.0.0.1, "
        f"started in {meta['server_start_s']} s (to a healthy /v1/health). Each round runs "
        f"{meta['rest_clients']} REST clients x {meta['requests']} requests (alternately "
        "`/v1/text` with 4 texts and `/v1/analyze` on a 3 s 160x120 clip with 1 s windows) and "
        f"{meta['streams']} WebSocket streams of {meta['stream_seconds']} s (JPEG 320x240 at "
        f"{FPS}/s + PCM16 16 kHz, real-time pace) at the same time. Round 0 starts as soon as "
        "the server answers (cold), the rest are warm. Stream latency: frame sent -> its "
        "update received; frames the server drops (newest wins) have none. RSS from "
        "`/proc/PID/status` (peak: VmHWM, reset before each round).",
        "",
        "| " + " | ".join(h for _, h in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for r in rows:
        lines.append("| " + " | ".join("" if r[k] is None else str(r[k]) for k, _ in cols) + " |")
    lines += ["", f"RSS after the warm rounds drifts by {drift} from the first warm round to the "
              f"last (round to round: {steps} MB; server RSS at the end: "
              f"{meta['rss_end_mb']} MB)."]  # fmt: skip
    errs = [e for r in rows for e in r["error_examples"]]
    if errs:
        lines += ["", "Errors seen: " + "; ".join(sorted(set(errs))[:5])]
    (out / "load.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--rest-clients", type=int, default=6)
    parser.add_argument("--requests", type=int, default=4, help="per REST client and round")
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--stream-seconds", type=float, default=8.0)
    parser.add_argument("--max-seconds", type=float, default=900, help="stop after this long")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    for name in ("rounds", "rest_clients", "requests", "streams"):
        if not 0 <= getattr(args, name) <= 64:
            raise SystemExit(f"--{name.replace('_', '-')} must be in [0, 64]")
    from tests.fixtures import write_tiny_video

    with tempfile.TemporaryDirectory() as tmp:
        clip = write_tiny_video(Path(tmp) / "clip.mp4", seconds=3, speech=True).read_bytes()
    frames, audio = make_stream(args.stream_seconds)
    t_start = time.perf_counter()
    srv = Server()
    rows = []
    try:
        for i in range(args.rounds):
            if time.perf_counter() - t_start > args.max_seconds:
                print(f"stopping after {args.max_seconds:.0f} s", flush=True)
                break
            before = srv.mb("VmRSS")
            srv.reset_peak()
            t0 = time.perf_counter()
            out = asyncio.run(
                asyncio.wait_for(
                    one_round(srv.port, args, clip, frames, audio), timeout=args.max_seconds
                )
            )
            rows.append(
                summarize(
                    i, out, before, srv.mb("VmRSS"), srv.mb("VmHWM"), time.perf_counter() - t0
                )
            )
            print(rows[-1], flush=True)
        rss_end = round(srv.mb("VmRSS"))
    finally:
        srv.stop()
    meta = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "server_start_s": round(srv.start_s, 1),
        "rss_end_mb": rss_end,
        **{k: getattr(args, k) for k in ("rest_clients", "requests", "streams", "stream_seconds")},
    }
    write(rows, meta, args.out)


if __name__ == "__main__":
    main()
