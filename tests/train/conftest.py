"""A generated RAVDESS-layout folder (3 actors x 8 emotions, tones in WAV and FLAC)."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

SR = 16000


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    """A float32 sine with 0.2 s of leading silence (trimmed by the voice recipe)."""
    t = np.arange(int(seconds * SR)) / SR
    x = 0.4 * np.sin(2 * np.pi * freq * t)
    x[: SR // 5] = 0.0
    return x.astype(np.float32)


def _write(path: Path, x: np.ndarray) -> None:
    pcm = (x * 32767).astype("<i2")
    if path.suffix == ".wav":
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SR)
            w.writeframes(pcm.tobytes())
        return
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = SR
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture(scope="session")
def ravdess_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ravdess")
    for actor in (1, 2, 3):
        (root / f"Actor_{actor:02d}").mkdir()
        for emo in range(1, 9):
            ext = ".flac" if (emo + actor) % 2 else ".wav"
            name = f"03-01-{emo:02d}-01-01-01-{actor:02d}{ext}"
            _write(root / f"Actor_{actor:02d}" / name, tone(150.0 * emo + 10 * actor))
    return root
