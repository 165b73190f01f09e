"""Weight-free voice encoders: log-mel statistics.

>>> import numpy as np
>>> enc = build_encoder("logmel_stats")
>>> enc.encode([np.zeros(16000, dtype="float32")]).shape
(1, 128)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError
from .base import (
    EncoderConfig,
    as_float32,
    build_encoder,  # noqa: F401  (doctest)
    config_fingerprint,
    empty,
    register_encoder,
)


@dataclass
class LogMelStatsConfig(EncoderConfig):
    """Log-mel parameters (16 kHz input)."""

    n_mels: int = 64
    n_fft: int = 400
    hop: int = 160
    sample_rate: int = 16000


@register_encoder("logmel_stats", LogMelStatsConfig)
class LogMelStats:
    """Per-band mean and standard deviation of log-mels over time: ``(N, 2 * n_mels)``.

    A fast, weight-free voice baseline. ``encode_sequence`` gives the log-mel frames it
    pools: ``(T, n_mels)`` per wave, one row every ``hop`` samples.
    """

    modality = "voice"

    def __init__(self, config: LogMelStatsConfig | None = None):
        self.config = config or LogMelStatsConfig()

    @property
    def dim(self) -> int:
        return 2 * self.config.n_mels

    @property
    def sequence_dim(self) -> int:
        return self.config.n_mels

    @property
    def sequence_hop(self) -> float:
        return self.config.hop / self.config.sample_rate

    def _log_mels(self, batch: list[np.ndarray]) -> Iterator[Any]:
        from ..media.audio_features import log_mel

        c = self.config
        for i, wave in enumerate(batch):
            yield log_mel(as_mono(wave, i), c.sample_rate, c.n_fft, c.hop, c.n_mels)  # (n_mels, T)

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        rows = [
            np.concatenate([m.mean(-1).numpy(), m.std(-1, unbiased=False).numpy()])
            for m in self._log_mels(batch)
        ]
        return as_float32(rows, len(batch), self.dim) if rows else empty(self.dim)

    def encode_sequence(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        """The log-mel frames ``(T, n_mels)`` of each wave, float32."""
        return [np.ascontiguousarray(m.numpy().T) for m in self._log_mels(batch)]

    def fingerprint(self) -> str:
        return config_fingerprint(self.config, "logmel_stats-v1")


def as_mono(wave: Any, i: int) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or len(wave) == 0:
        raise DataError(f"wave {i}: expected non-empty mono 1-D samples, got shape {wave.shape}")
    if not np.isfinite(wave).all():
        raise DataError(f"wave {i} contains NaN or infinite samples")
    return wave
