"""Voice activity (Silero VAD on onnxruntime) and level normalisation for 16 kHz mono speech.

Whether a recording holds speech is decided by Silero VAD (MIT; its ONNX file ships inside
the ``silero-vad`` wheel and runs here on onnxruntime, without torch), after the level is
normalised, so a quiet recording of speech counts as speech and loud noise does not.
:func:`normalise_gain` brings a wave's loud frames to a fixed level before the voice model
reads it.

>>> import numpy as np
>>> has_speech(np.zeros(16000, np.float32))
False
>>> round(loud_level(0.1 * np.ones(16000, np.float32)), 1)
-20.0
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from ..errors import DataError
from .level import MAX_GAIN_DB, TARGET_DBFS, frame_levels, loud_level, normalise_gain, peak_dbfs

__all__ = [  # the level functions of .level are re-exported: VAD and gain go together
    "BLOCK",
    "CONTEXT",
    "FLOOR_DBFS",
    "FRAME",
    "FRAME_SECONDS",
    "MAX_GAIN_DB",
    "MIN_SPEECH",
    "MODEL_FILE",
    "SAMPLE_RATE",
    "TARGET_DBFS",
    "THRESHOLD",
    "frame_levels",
    "has_speech",
    "loud_level",
    "normalise_gain",
    "peak_dbfs",
    "session",
    "speech_probs",
]

SAMPLE_RATE = 16000
FRAME = 512  # Silero's 32 ms frame at 16 kHz
CONTEXT = 64  # samples of the previous frame each frame sees
FRAME_SECONDS = FRAME / SAMPLE_RATE
BLOCK = 32  # frames per onnxruntime call (~1 s); detection stops at the first block with enough
#: speech-probability threshold and the least speech (s) that makes a recording "speech"
THRESHOLD = 0.5
MIN_SPEECH = 0.25
#: below this peak level (dBFS) a wave is digital silence and not looked at further
FLOOR_DBFS = -90.0
MODEL_FILE = "silero_vad_16k_sequence.onnx"

_lock = threading.Lock()
_session = None


def _model_path() -> Path:
    spec = importlib.util.find_spec("silero_vad")  # locates the wheel without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DataError("silero-vad is not installed: pip install silero-vad")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / MODEL_FILE
    if not path.is_file():
        raise DataError(f"silero-vad has no {MODEL_FILE} (need silero-vad >= 6.2): {path}")
    return path


def session():
    """The Silero VAD onnxruntime session, loaded once per process (thread-safe)."""
    global _session
    with _lock:
        if _session is None:
            from ..utils.ort import make_session

            _session = make_session(_model_path(), threads=1)
        return _session


def _frames(wave: np.ndarray) -> np.ndarray:
    """``(n_frames, CONTEXT + FRAME)``: each frame with the previous frame's last samples."""
    n = -(-wave.size // FRAME)
    frames = np.zeros((n, FRAME), dtype=np.float32)
    frames.reshape(-1)[: wave.size] = wave
    context = np.zeros((n, CONTEXT), dtype=np.float32)
    context[1:] = frames[:-1, -CONTEXT:]
    return np.concatenate([context, frames], axis=1)


def speech_probs(wave: np.ndarray, stop_after: int | None = None) -> np.ndarray:
    """Silero's speech probability per 32 ms frame of a 16 kHz wave.

    With ``stop_after``, frames are read in blocks of :data:`BLOCK` and reading stops at
    the end of the block in which ``stop_after`` frames reached :data:`THRESHOLD`.
    """
    x = np.asarray(wave, dtype=np.float32)
    if x.size == 0:
        return np.zeros(0, np.float32)
    frames, sess = _frames(x), session()
    h = np.zeros((1, 1, 128), np.float32)
    c = np.zeros((1, 1, 128), np.float32)
    out, hits = [], 0
    for s in range(0, len(frames), BLOCK):
        p, h, c = sess.run(None, {"input": frames[s : s + BLOCK], "h": h, "c": c})
        out.append(p.reshape(-1))
        hits += int((out[-1] >= THRESHOLD).sum())
        if stop_after is not None and hits >= stop_after:
            break
    return np.concatenate(out)


def has_speech(wave: np.ndarray, min_speech: float = MIN_SPEECH) -> bool:
    """True when at least ``min_speech`` seconds of the (level-normalised) wave are speech."""
    x = np.asarray(wave, dtype=np.float32)
    if x.size == 0 or peak_dbfs(x) < FLOOR_DBFS:
        return False
    need = max(1, int(np.ceil(min_speech / FRAME_SECONDS)))
    probs = speech_probs(normalise_gain(x), stop_after=need)
    return int((probs >= THRESHOLD).sum()) >= need
