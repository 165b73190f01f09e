"""The live page in a real browser: Debian Chromium (via Playwright) with the sample clip as
a fake camera and microphone, against a real uvicorn server running the bundled models.

Skips when /usr/bin/chromium, playwright or ../shared is missing. Never run
``playwright install`` here: it downloads a browser; the Makefile installs Debian's chromium.
"""

from __future__ import annotations

import socket
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.fixtures import require_sample

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"


def to_y4m_and_wav(clip: Path, folder: Path) -> tuple[Path, Path]:
    """The clip as a yuv420p Y4M (fake camera) and a 48 kHz mono WAV (fake microphone)."""
    y4m, wav = folder / "clip.y4m", folder / "clip.wav"
    with av.open(str(clip)) as src, av.open(str(y4m), "w", format="yuv4mpegpipe") as out:
        vin = src.streams.video[0]
        rate = vin.average_rate or Fraction(15)
        v = out.add_stream("rawvideo", rate=rate)
        v.width, v.height, v.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        for i, frame in enumerate(src.decode(vin)):
            f = frame.reformat(format="yuv420p")
            f.pts, f.time_base = i, Fraction(1) / rate
            out.mux(v.encode(f))
        out.mux(v.encode(None))
    with av.open(str(clip)) as src, av.open(str(wav), "w", format="wav") as out:
        a = out.add_stream("pcm_s16le", rate=48000)
        a.codec_context.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for frame in src.decode(src.streams.audio[0]):
            for r in resampler.resample(frame):
                out.mux(a.encode(r))
        for r in resampler.resample(None):
            out.mux(a.encode(r))
        out.mux(a.encode(None))
    return y4m, wav


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    """A real uvicorn server (bundled default models) in a thread, stopped at the end."""
    uvicorn = pytest.importorskip("uvicorn")
    from emofuse.inference.recognizer import Recognizer
    from emofuse.serve.app import create_app

    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(
            create_app(Recognizer.default()), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_live_page_in_chromium(server, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium; `make install` does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    clip = require_sample()
    y4m, wav = to_y4m_and_wav(clip, tmp_path)
    args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
        f"--use-file-for-fake-audio-capture={wav}",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=args,
            ignore_default_args=["--headless"],
            viewport={"width": 1200, "height": 760},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.goto(server + "/")
            page.click("#start")
            page.wait_for_function(
                "() => window.emofuseState.faceBoxes > 0"
                " && window.emofuseState.labelsSeen.length >= 2"
                " && window.emofuseState.lastT >= 8",
                timeout=40_000,
            )
            state = page.evaluate("() => window.emofuseState")
            assert state["errors"] == []
            assert page.locator("#message").get_attribute("class") == "message"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "serve_page.png"))
            # a publishable copy (docs/serve_page.png) hides the video: the sample clip's
            # pixels are shared data, never committed; the overlay, bars and timeline stay
            page.add_style_tag(content="#video { visibility: hidden; }")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "serve_page_public.png"))
            page.click("#stop")
            assert page.locator("#start").is_enabled()
        finally:
            browser.close()
    assert len(set(state["labelsSeen"])) >= 2 and state["faceBoxes"] > 0
    assert np.isfinite(state["updates"])
