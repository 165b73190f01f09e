"""Bad input through the CLI, the HTTP API and the live stream, and what each one gets.

Creates the inputs in a temporary folder (corrupt, truncated and huge-dimension images,
empty, garbage and truncated audio and video, NaN options, bad transcripts, oversize
uploads, bad WebSocket messages, a foreign Origin, a missing API key), runs each through
``python -m emofuse`` (a subprocess per case), a real ``emofuse serve --api-key`` on
127.0.0.1 (HTTP with httpx or a raw socket, WebSocket with ``websockets``) with the bundled
models, and writes ``docs/robustness.md`` and ``bench/results/robustness.json``.

    python bench/robustness.py [--only cli|api|stream ...]

Peak memory: of the CLI process (``wait4``), or of the server during the case (its
``VmHWM`` is reset before each case through ``/proc/PID/clear_refs``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fixtures makes the media
KEY = "bench-key"


@dataclass
class Case:
    via: str  # cli | api | stream
    what: str
    expect: str  # what a clear outcome is: "exit 1", "413", "error", ...
    run: Callable[[], tuple[str, str]]  # -> (outcome, message)


# -- the inputs -------------------------------------------------------------------------------


def make_inputs(d: Path) -> dict[str, Path]:
    import av
    import numpy as np
    from tests.fixtures import (
        jpeg_bytes,
        png_bytes,
        speechlike,
        truncate,
        write_speech_wav,
        write_tiny_video,
    )

    f: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        f[name] = d / name
        f[name].write_bytes(data)

    put("empty.mp4", b"")
    put("garbage.mp4", os.urandom(50_000))
    put("garbage.wav", b"RIFF" + os.urandom(20_000))
    put("notes.txt", b"hello")
    put("bomb.png", png_bytes(20000, 20000))  # a real one: 1.2 GB decoded
    put("claims_huge.jpg", jpeg_bytes(claim=(20000, 20000)))
    put("bitmap.jpg", b"BM" + bytes(5000))
    put("cut.jpg", jpeg_bytes(640, 480)[:400])
    f["speech.wav"] = write_speech_wav(d / "speech.wav", seconds=4.0)
    f["cut.wav"] = truncate(f["speech.wav"], 0.4, d / "cut.wav")
    f["silent.wav"] = d / "silent.wav"
    f["silent.wav"].write_bytes(_wav(np.zeros(48000, np.int16)))
    quiet = speechlike(4.0, amp=0.3 * 10 ** (-40 / 20))[0]  # the speech 40 dB down
    put("quiet.wav", _wav(np.round(quiet * 32767).astype(np.int16)))
    noise = np.random.default_rng(0).normal(0, 0.3, 4 * 16000).clip(-1, 1)  # -10 dBFS
    put("noise.wav", _wav(np.round(noise * 32767).astype(np.int16)))
    f["clip.mp4"] = write_tiny_video(d / "clip.mp4", seconds=3, speech=True)
    f["cut.mp4"] = truncate(f["clip.mp4"], 0.3, d / "cut.mp4")
    with av.open(str(d / "huge.avi"), "w") as out:  # one 10000 x 10000 MJPEG frame, 1.5 MB
        s = out.add_stream("mjpeg", rate=1)
        s.width, s.height, s.pix_fmt = 10000, 10000, "yuvj420p"
        frame = av.VideoFrame(10000, 10000, "yuvj420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = 0
        out.mux(s.encode(frame))
        out.mux(s.encode(None))
    f["huge.avi"] = d / "huge.avi"
    put("bad_time.srt", b"1\n00:00:00,000 --> 00:00:xx\nhello\n")
    put("latin1.srt", "1\n00:00:00,000 --> 00:00:01,000\ncaf\xe9\n".encode("latin-1"))
    put(
        "late.srt", b"1\n00:00:00,000 --> 00:00:01,000\nhi\n\n2\n00:01:00,000 --> 00:01:02,000\nx\n"
    )
    put("nohead.vtt", b"00:00.000 --> 00:01.000\nhello\n")
    put("cues_8000.srt", _srt(8000))
    put("cues_100001.srt", _srt(100_001))
    put("huge_field.csv", b'start,end,text\n0,1,"' + b"x" * 200_000 + b'"\n')
    put("manifest_nocols.csv", b"name,path\na,b.wav\n")
    return f


def _srt(n: int) -> bytes:
    """An SRT of ``n`` one-second cues, one after the other, with a few words each."""
    words = ["so glad you came", "I can't stand it", "what was that", "fine, whatever"]
    cues = (f"{i + 1}\n{_ts(i)} --> {_ts(i + 1)}\n{words[i % len(words)]}\n\n" for i in range(n))
    return "".join(cues).encode()


def _ts(s: int) -> str:
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d},000"


def _wav(samples) -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


# -- the CLI ----------------------------------------------------------------------------------


def cli(args: list[str], tmp: Path) -> tuple[str, str, float]:
    """(outcome, first stderr line, peak RSS MB) of ``python -m emofuse ARGS``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "emofuse", *args], stdout=out, stderr=err)
        deadline = time.monotonic() + 180
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                return "TIMEOUT", "", usage.ru_maxrss / 1024
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    lines = [ln.strip(" \u2502\u256d\u256e\u2570\u256f\u2500") for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    peak = usage.ru_maxrss / 1024
    if "Traceback" in text:
        return f"exit {proc.returncode} TRACEBACK", lines[-1] if lines else "", peak
    warn = any(ln.startswith("warning:") for ln in lines)
    first = next((ln for ln in lines if ln.startswith(("error:", "warning:"))), None)
    if first is None:  # a usage error in Typer's box: its text, without the box
        skip = ("Usage:", "Try ", "Error", "INFO:")
        first = " ".join(ln for ln in lines if not ln.startswith(skip))
    outcome = f"exit {proc.returncode}" + (" + warning" if warn else "")
    return outcome, first.replace(str(tmp) + "/", ""), peak


def cli_cases(f: dict[str, Path], tmp: Path) -> list[Case]:
    def c(what: str, expect: str, *args: str | Path) -> Case:
        return Case("cli", what, expect, lambda: cli([str(a) for a in args], tmp))

    a = "analyze"
    return [
        c("missing file", "exit 1", a, tmp / "nope.mp4"),
        c("unsupported type (.txt)", "exit 2", a, f["notes.txt"]),
        c("empty .mp4", "exit 1", a, f["empty.mp4"]),
        c("random bytes named .mp4", "exit 1", a, f["garbage.mp4"]),
        c("truncated .mp4 (first 30%)", "exit 1", a, f["cut.mp4"]),
        c("10000x10000 video (MJPEG, 1.5 MB)", "exit 1", a, f["huge.avi"]),
        c("random bytes named .wav", "exit 1", a, f["garbage.wav"]),
        c("truncated .wav (40% of 4 s)", "exit 0 + warning", a, f["cut.wav"], "--format", "json"),
        c("silent .wav", "exit 1", a, f["silent.wav"]),
        c("speech 40 dB down (quiet, not silent)", "exit 0", a, f["quiet.wav"], "--format", "json"),
        c("white noise at -10 dBFS (loud, no speech)", "exit 1", a, f["noise.wav"]),
        c("PNG bomb 20000x20000 (1.2 MB file)", "exit 1", a, f["bomb.png"]),
        c("JPEG header claiming 20000x20000", "exit 1", a, f["claims_huge.jpg"]),
        c("BMP named .jpg", "exit 1", a, f["bitmap.jpg"]),
        c("truncated JPEG", "exit 1", a, f["cut.jpg"]),
        c("--fps nan", "exit 2", a, f["clip.mp4"], "--fps", "nan"),
        c("--fps -1", "exit 2", a, f["clip.mp4"], "--fps", "-1"),
        c("--window inf", "exit 2", a, f["clip.mp4"], "--window", "inf"),
        c("--window 0", "exit 2", a, f["clip.mp4"], "--window", "0"),
        c(
            "--window 0.1 (under the 0.5 s minimum)",
            "exit 2",
            a,
            f["speech.wav"],
            "--window",
            "0.1",
            "--format",
            "json",
        ),
        c(
            "SRT with 100,001 cues (over the segment limit)",
            "exit 2",
            a,
            f["clip.mp4"],
            "--transcript",
            f["cues_100001.srt"],
        ),
        c(
            "SRT with 8,000 cues, text (context: 8 earlier cues each)",
            "exit 0 + warning",
            a,
            f["clip.mp4"],
            "--transcript",
            f["cues_8000.srt"],
            "--modalities",
            "text",
            "--format",
            "json",
            "-o",
            tmp / "cues.json",
        ),
        c("--modalities smell", "exit 2", a, f["clip.mp4"], "--modalities", "smell"),
        c(
            "SRT with a bad timestamp",
            "exit 1",
            a,
            f["clip.mp4"],
            "--transcript",
            f["bad_time.srt"],
        ),
        c("SRT in Latin-1", "exit 1", a, f["clip.mp4"], "--transcript", f["latin1.srt"]),
        c(
            "SRT cue past the end",
            "exit 0 + warning",
            a,
            f["clip.mp4"],
            "--transcript",
            f["late.srt"],
            "--format",
            "json",
        ),
        c("WebVTT without header", "exit 1", a, f["clip.mp4"], "--transcript", f["nohead.vtt"]),
        c(
            "CSV transcript, 200 kB field",
            "exit 1",
            a,
            f["clip.mp4"],
            "--transcript",
            f["huge_field.csv"],
        ),
        c("--text '' (empty)", "exit 1", a, "--text", ""),
        c("--text with non-UTF-8 bytes", "exit 0", a, "--text", os.fsdecode(b"caf\xe9 was great")),
        c("-o a folder", "exit 2", a, f["clip.mp4"], "--format", "json", "-o", tmp),
        c(
            "-o under a file",
            "exit 2",
            a,
            f["clip.mp4"],
            "--format",
            "json",
            "-o",
            f["notes.txt"] / "out.json",
        ),
        c("--format table -o file", "exit 2", a, f["clip.mp4"], "-o", tmp / "t.txt"),
        c(
            "predict: manifest without columns",
            "exit 1",
            "predict",
            "--manifest",
            f["manifest_nocols.csv"],
            "-o",
            tmp / "p.csv",
        ),
        c("serve --port -5", "exit 2", "serve", "--port", "-5"),
    ]


# -- the server -------------------------------------------------------------------------------


class Server:
    """``emofuse serve --api-key`` on a free loopback port, with its memory in /proc."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "emofuse", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*cmd, "--api-key", KEY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}")
            try:
                httpx.get(f"{self.url}/v1/health", timeout=1, trust_env=False)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.proc.kill()
        raise SystemExit("server did not start within 180 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _status(self, field: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def peak_mb(self) -> float:
        return self._status("VmHWM")

    def rss_mb(self) -> float:
        return self._status("VmRSS")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _answer(res) -> tuple[str, str]:
    """(status, the error or the first warning) of an HTTP response."""
    try:
        body = res.json()
    except ValueError:
        return str(res.status_code), f"NOT JSON: {res.text[:60]!r}"
    if isinstance(body, dict) and "error" in body:
        return str(res.status_code), str(body["error"])
    warnings = body.get("info", {}).get("warnings") if isinstance(body, dict) else None
    if warnings:
        return f"{res.status_code} + warning", warnings[0]
    return str(res.status_code), "(a result)"


def raw_upload(port: int, total: int, declared: bool) -> tuple[str, str]:
    """POST ``total`` bytes of a file to /v1/analyze over a raw socket; stop when answered."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    length = f"Content-Length: {total}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
    s.sendall(
        (
            f"POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary=XX\r\n{length}\r\n"
        ).encode()
    )
    import select

    part = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'
    sent, chunk = 0, b"\0" * (1 << 20)
    while sent < total:
        if select.select([s], [], [], 0)[0]:
            break  # the server answered: stop sending
        data = part if sent == 0 else chunk
        try:
            s.sendall(data if declared else f"{len(data):x}\r\n".encode() + data + b"\r\n")
        except OSError:
            break
        sent += len(data)
    reply = b""
    try:
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            got = s.recv(65536)
            if not got:
                break
            reply += got
    except OSError:
        pass
    s.close()
    status = reply.split(b" ", 2)[1].decode() if reply.startswith(b"HTTP/") else "no answer"
    body = reply.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")
    try:
        msg = json.loads(body)["error"]
    except (ValueError, KeyError):
        msg = body[:80]
    return status, f"{msg} (after {sent / 2**20:.0f} of {total / 2**20:.0f} MB sent)"


def api_cases(f: dict[str, Path], srv: Server) -> list[Case]:
    import httpx

    http = httpx.Client(base_url=srv.url, headers={"X-API-Key": KEY}, timeout=120, trust_env=False)

    def upload(name: str, data: dict | None = None, transcript: str | None = None):
        files = {"file": (name.split("/")[-1], f[name].read_bytes())}
        if transcript:
            files["transcript"] = (transcript, f[transcript].read_bytes())
        return lambda: _answer(http.post("/v1/analyze", files=files, data=data or {}))

    def post_text(body: bytes | object):
        if isinstance(body, bytes):
            hdr = {"Content-Type": "application/json"}
            return lambda: _answer(http.post("/v1/text", content=body, headers=hdr))
        return lambda: _answer(http.post("/v1/text", json=body))

    def c(what: str, expect: str, run) -> Case:
        return Case("api", what, expect, run)

    def cold_text_burst(n: int):
        """``n`` clients ask /v1/text at once before the text model is loaded."""

        def one(i: int) -> int:
            with httpx.Client(
                base_url=srv.url, headers={"X-API-Key": KEY}, timeout=120, trust_env=False
            ) as client:
                return client.post("/v1/text", json={"texts": [f"so glad, take {i}"]}).status_code

        def run() -> tuple[str, str]:
            from concurrent.futures import ThreadPoolExecutor

            before = srv.rss_mb()
            with ThreadPoolExecutor(n) as pool:
                codes = list(pool.map(one, range(n)))
            ok = sum(code == 200 for code in codes)
            outcome = "200" if ok == n else "/".join(sorted({str(code) for code in codes}))
            rss = f"server RSS {before:.0f} -> {srv.rss_mb():.0f} MB"
            return outcome, f"{ok} of {n} answered 200; {rss}"

        return run

    no_key = httpx.Client(base_url=srv.url, timeout=30, trust_env=False)
    return [
        c("no API key", "401", lambda: _answer(no_key.post("/v1/text", json={"texts": ["hi"]}))),
        c(
            "wrong API key",
            "401",
            lambda: _answer(no_key.get("/v1/models", headers={"X-API-Key": "guess"})),
        ),
        c(
            "foreign Host (DNS rebinding)",
            "400",
            lambda: _answer(
                http.get("/v1/models", headers={"Host": f"attacker.example:{srv.port}"})
            ),
        ),
        c(
            "cross-site Origin",
            "403",
            lambda: _answer(
                http.post(
                    "/v1/text", json={"texts": ["hi"]}, headers={"Origin": "https://evil.example"}
                )
            ),
        ),
        c("10 concurrent first /v1/text calls (model not loaded)", "200", cold_text_burst(10)),
        c(
            "600 MB upload, chunked (no Content-Length)",
            "413",
            lambda: raw_upload(srv.port, 600 * 2**20, declared=False),
        ),
        c(
            "600 MB upload, Content-Length declared",
            "413",
            lambda: raw_upload(srv.port, 600 * 2**20, declared=True),
        ),
        c("PNG bomb 20000x20000 (1.2 MB)", "422", upload("bomb.png")),
        c("JPEG header claiming 20000x20000", "422", upload("claims_huge.jpg")),
        c("10000x10000 video (MJPEG)", "422", upload("huge.avi")),
        c("random bytes named .mp4", "422", upload("garbage.mp4")),
        c("empty .mp4", "422", upload("empty.mp4")),
        c("truncated .mp4", "422", upload("cut.mp4")),
        c("truncated .wav", "200 + warning", upload("cut.wav")),
        c("silent .wav", "422", upload("silent.wav")),
        c("unsupported type (.txt)", "400", upload("notes.txt")),
        c("fps=nan", "400", upload("clip.mp4", {"fps": "nan"})),
        c("window=inf", "400", upload("clip.mp4", {"window": "inf"})),
        c("window=abc", "400", upload("clip.mp4", {"window": "abc"})),
        c("SRT with a bad timestamp", "422", upload("clip.mp4", transcript="bad_time.srt")),
        c("SRT cue past the end", "200 + warning", upload("clip.mp4", transcript="late.srt")),
        c("no file field", "400", lambda: _answer(http.post("/v1/analyze", data={"fps": "2"}))),
        c(
            "empty filename (must not echo the upload)",
            "400",
            lambda: _answer(http.post("/v1/analyze", files={"file": ("", b"PRIVATE" * 1000)})),
        ),
        c("/v1/text: 257 texts", "413", post_text({"texts": ["hi"] * 257})),
        c("/v1/text: a 5000-character text", "413", post_text({"texts": ["a" * 5000]})),
        c("/v1/text: lone surrogates", "200", post_text(b'{"texts": ["so \\ud800 glad"]}')),
        c("/v1/text: empty list", "400", post_text({"texts": []})),
        c("/v1/text: blank text", "422", post_text({"texts": ["   "]})),
        c("/v1/text: not JSON", "400", post_text(b"{texts: [")),
        c("/v1/text: texts is a string", "400", post_text({"texts": "hello"})),
        c("unknown route", "404", lambda: _answer(http.get("/v2/nothing"))),
    ]


def _ws(srv: Server, query: str = f"?key={KEY}", origin: str | None = None):
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{srv.port}/v1/stream{query}"
    return connect(url, origin=origin, proxy=None, max_size=2**22, open_timeout=30)


def _exchange(srv: Server, messages: list, want: int = 1) -> tuple[str, str]:
    """Send ``messages`` on a fresh stream; the first error/update that comes back."""
    from websockets.exceptions import ConnectionClosed

    with _ws(srv) as ws:
        json.loads(ws.recv(timeout=30))  # hello
        try:
            for m in messages:
                ws.send(m)
            for _ in range(want):
                msg = json.loads(ws.recv(timeout=30))
                if msg["type"] != "update":
                    break
        except ConnectionClosed as e:
            return (
                "closed",
                f"code {e.rcvd.code if e.rcvd else '?'} {e.rcvd.reason if e.rcvd else ''}",
            )
        except TimeoutError:
            return "no reply", ""
    return msg["type"], msg.get("message", "")


def stream_cases(f: dict[str, Path], srv: Server) -> list[Case]:
    import struct

    from tests.fixtures import jpeg_bytes

    def frame(payload: bytes, t: float = 1.0) -> bytes:
        return b"F" + struct.pack("<d", t) + payload

    def handshake(query: str, origin: str | None):
        def run():
            from websockets.exceptions import InvalidStatus

            try:
                with _ws(srv, query, origin) as ws:
                    return "accepted", json.loads(ws.recv(timeout=30))["type"]
            except InvalidStatus as e:
                return "refused", f"HTTP {e.response.status_code} at the handshake"

        return run

    def bombs(n: int):
        def run():
            with ExitStack() as stack:
                streams = [stack.enter_context(_ws(srv)) for _ in range(n)]
                for ws in streams:
                    ws.recv(timeout=30)
                    ws.send(frame(jpeg_bytes(claim=(20000, 20000))))
                replies = [json.loads(ws.recv(timeout=60)) for ws in streams]
            return replies[0]["type"], replies[0].get("message", "")

        return run

    def c(what: str, expect: str, run) -> Case:
        return Case("stream", what, expect, run)

    def ex(*messages):
        return lambda: _exchange(srv, list(messages))

    return [
        c("no API key", "refused", handshake("", None)),
        c("cross-site Origin", "refused", handshake(f"?key={KEY}", "https://evil.example")),
        c("PNG frame", "error", ex(frame(f["bomb.png"].read_bytes()[:4096]))),
        c("JPEG frame claiming 20000x20000", "error", ex(frame(jpeg_bytes(claim=(20000, 20000))))),
        c("3 clients, each a 20000x20000 JPEG frame", "error", bombs(3)),
        c("truncated JPEG frame", "error", ex(frame(jpeg_bytes(640, 480)[:300]))),
        c("malformed JSON", "error", ex("{not json")),
        c("unknown message type", "error", ex('{"type": "subtitles", "t": 0}')),
        c("bad base64", "error", ex('{"type": "frame", "t": 0, "data": "@@@"}')),
        c("t = -1", "error", ex('{"type": "audio", "t": -1, "data": ""}')),
        c("t = 1e400 (infinite)", "error", ex('{"type": "audio", "t": 1e400, "data": ""}')),
        c("odd-length PCM", "error", ex(b"A" + struct.pack("<d", 0.0) + b"abc")),
        c("unknown binary kind", "error", ex(b"X" + struct.pack("<d", 0.0) + b"abc")),
        c("1.05 MB message (limit 1 MB)", "error", ex(frame(b"\xff\xd8\xff" + bytes(1_050_000)))),
        c("3 MB message (over uvicorn's cap)", "closed", ex(frame(bytes(3_000_000)))),
    ]


# -- run and write ------------------------------------------------------------------------------


def run_cases(cases: list[Case], srv: Server | None) -> list[dict]:
    rows = []
    for case in cases:
        if srv is not None:
            srv.reset_peak()
        t0 = time.perf_counter()
        try:
            out = case.run()
        except Exception as e:  # a crash of the harness is a result too
            out = ("HARNESS ERROR", f"{type(e).__name__}: {e}")
        outcome, message = out[0], out[1]
        peak = out[2] if len(out) > 2 else (srv.peak_mb() if srv else float("nan"))
        ok = any(
            outcome == alt or (alt == "warning" and "warning" in outcome)
            for alt in case.expect.split(" or ")
        )
        rows.append(
            {
                "via": case.via,
                "input": case.what,
                "expected": case.expect,
                "outcome": outcome,
                "as_expected": ok,
                "message": message,
                "peak_mb": round(peak, 0),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        print(f"{case.via:6} {case.what:45} {outcome:22} {message[:70]}", flush=True)
    return rows


def write(rows: list[dict], out_md: Path, out_json: Path, meta: dict) -> None:
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    good = sum(r["as_expected"] for r in rows)
    lines = [
        "# Robustness: bad input and what it gets",
        "",
        "Generated by `python bench/robustness.py` (do not edit by hand). Every input is made in a",
        "temporary folder and sent through the CLI (`python -m emofuse`, one process per case),",
        "the HTTP API and the WebSocket stream of a real `emofuse serve --api-key` on 127.0.0.1",
        "(bundled models). *Peak MB*: the CLI process's peak RSS, or the server's peak RSS",
        "during the case (reset before each one). Messages name the temporary files without",
        "their folder.",
        "",
        f"**{good} of {len(rows)} cases as expected** "
        + ", ".join(
            f"({v}: {sum(r['as_expected'] for r in rows if r['via'] == v)}"
            f"/{sum(r['via'] == v for r in rows)})"
            for v in ("cli", "api", "stream")
            if any(r["via"] == v for r in rows)
        )
        + f"; machine: {meta['cpus']} CPUs, Python {meta['python']}, {meta['date']}.",
        "",
        "| via | bad input | expected | outcome | ok | message | peak MB | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        msg = r["message"].replace("|", "\\|").replace("\n", " ")
        msg = msg if len(msg) <= 140 else msg[:137] + "..."
        lines.append(
            f"| {r['via']} | {r['input']} | {r['expected']} | {r['outcome']} | "
            f"{'yes' if r['as_expected'] else '**no**'} | {msg} | {r['peak_mb']:.0f} | "
            f"{r['seconds']:.1f} |"
        )
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text("\n".join(lines) + "\n")
    print(f"{good}/{len(rows)} as expected; wrote {out_md} and {out_json}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", choices=["cli", "api", "stream"], default=["cli", "api", "stream"]
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "robustness.md")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "robustness.json")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # the inputs only
    args = parser.parse_args()
    if args.make:
        make_inputs(args.make)
        return
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="emofuse-bad-") as tmp_name:
        tmp = Path(tmp_name)
        # made in a child process: a child's peak RSS counts its parent's at fork (Linux)
        subprocess.run([sys.executable, __file__, "--make", str(tmp)], check=True)
        f = {p.name: p for p in tmp.iterdir()}
        if "cli" in args.only:
            rows += run_cases(cli_cases(f, tmp), None)
        if {"api", "stream"} & set(args.only):
            srv = Server()
            try:
                if "api" in args.only:
                    rows += run_cases(api_cases(f, srv), srv)
                if "stream" in args.only:
                    rows += run_cases(stream_cases(f, srv), srv)
                print(f"server RSS at the end: {srv.rss_mb():.0f} MB")
            finally:
                srv.stop()
    meta = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }
    write(rows, args.out, args.json, meta)


if __name__ == "__main__":
    main()
