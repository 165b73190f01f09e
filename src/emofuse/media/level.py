"""Level normalisation of 16 kHz speech: a wave's loud frames brought to a fixed level.

Inference applies it before the voice model (:mod:`.vad` re-exports it next to the voice
activity detector) and the voice recipe trains with it, so both see the same levels.

>>> import numpy as np
>>> round(loud_level(0.1 * np.ones(16000, np.float32)), 1)
-20.0
"""

from __future__ import annotations

import numpy as np

FRAME = 512  # 32 ms at 16 kHz
#: target level (dBFS) of the loud frames: the median of the RAVDESS speech the voice model
#: was trained on (-35.7 dBFS, ``bench/voice_activity.py``), so a typical recording is left
#: almost as it is and a quiet or loud one is brought to it
TARGET_DBFS = -36.0
MAX_GAIN_DB = 60.0


def frame_levels(wave: np.ndarray, frame: int = FRAME) -> np.ndarray:
    """RMS level (dBFS) of each full ``frame``-sample frame (at least one frame)."""
    x = np.asarray(wave, dtype=np.float32)
    n = max(1, x.size // frame)
    x = np.pad(x, (0, max(0, n * frame - x.size)))[: n * frame].reshape(n, frame)
    rms = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-6))


def loud_level(wave: np.ndarray) -> float:
    """The level (dBFS) of a wave's loud frames: the 90th percentile of its frame levels."""
    return float(np.percentile(frame_levels(wave), 90))


def peak_dbfs(wave: np.ndarray) -> float:
    peak = float(np.max(np.abs(wave))) if np.size(wave) else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else -np.inf


def normalise_gain(
    wave: np.ndarray, target_dbfs: float = TARGET_DBFS, max_gain_db: float = MAX_GAIN_DB
) -> np.ndarray:
    """``wave`` scaled so its loud frames sit at ``target_dbfs`` (never clipping, gain capped).

    >>> w = np.full(16000, 0.001, np.float32)                       # -60 dBFS
    >>> round(loud_level(normalise_gain(w)), 1)
    -36.0
    """
    x = np.asarray(wave, dtype=np.float32)
    peak = peak_dbfs(x)
    if not np.isfinite(peak):
        return x
    gain_db = min(target_dbfs - loud_level(x), max_gain_db, -peak)
    return (x * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
