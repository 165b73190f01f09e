"""Hugging Face speech encoders: wav2vec 2.0, HuBERT, WavLM (16 kHz mono input)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..base import EncoderConfig, as_float32, empty, register_encoder
from .base import (
    _HFEncoder,
    _transformers,
)


@dataclass
class HFSpeechConfig(EncoderConfig):
    """``model``: wav2vec2 / HuBERT / WavLM folder or cached hub id (16 kHz).

    Audio longer than ``chunk_seconds`` is cut into windows of that length (the last one
    end-aligned), each mean-pooled over time, and the windows averaged.
    """

    model: str | None = None
    layer: int = -1
    chunk_seconds: float = 20.0
    batch_size: int = 4


SAMPLE_RATE = 16000
MIN_SAMPLES = 400  # one frame of the wav2vec2 conv front end (25 ms)


def speech_windows(n: int, size: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` windows of ``size`` covering ``n`` samples, last end-aligned.

    >>> speech_windows(10, 4)
    [(0, 4), (4, 8), (6, 10)]
    """
    if n <= size:
        return [(0, n)]
    starts = list(range(0, n - size + 1, size))
    if starts[-1] + size < n:
        starts.append(n - size)
    return [(s, s + size) for s in starts]


@register_encoder("hf_speech", HFSpeechConfig)
class HFSpeech(_HFEncoder):
    """Self-supervised speech model, hidden states mean-pooled over time;
    ``encode_sequence``: the hidden states of ``layer`` per frame (``(T, dim)``)."""

    modality = "voice"

    @property
    def sequence_hop(self) -> float | None:
        """Seconds between frames: the conv front end's total stride (20 ms for wav2vec2)."""
        stride = getattr(self._hf_config(), "conv_stride", None)
        return float(np.prod(stride)) / SAMPLE_RATE if stride else None

    def _load(self, directory: Path) -> None:
        tf = _transformers()
        self.extractor_ = tf.AutoFeatureExtractor.from_pretrained(directory, local_files_only=True)
        self.model_ = tf.AutoModel.from_pretrained(directory, local_files_only=True)

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        import torch

        if len(batch) == 0:
            return empty(self.dim)
        model, c = self._ensure(), self.config
        size = max(MIN_SAMPLES, round(c.chunk_seconds * SAMPLE_RATE))
        rows = []
        with torch.inference_mode():
            for i, wave in enumerate(batch):
                wave = _checked(wave, i)
                if len(wave) < MIN_SAMPLES:
                    wave = np.pad(wave, (0, MIN_SAMPLES - len(wave)))
                chunks = [wave[s:e] for s, e in speech_windows(len(wave), size)]
                embs = []
                for s in range(0, len(chunks), c.batch_size):  # all full windows: equal length
                    group = chunks[s : s + c.batch_size]
                    feats = self.extractor_(
                        group, sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True
                    )
                    res = model(feats["input_values"], output_hidden_states=True, return_dict=True)
                    embs.append(self._select(res.hidden_states, c.layer).mean(1).float().numpy())
                rows.append(np.concatenate(embs).mean(0))
        return as_float32(rows, len(batch), self.dim)

    def encode_sequence(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        """Frames of hidden state ``layer``, ``(T, dim)`` per wave: consecutive windows of
        ``chunk_seconds`` (no overlap), each run alone, their frames concatenated."""
        import torch

        model, c = self._ensure(), self.config
        size = max(MIN_SAMPLES, round(c.chunk_seconds * SAMPLE_RATE))
        out = []
        with torch.inference_mode():
            for i, wave in enumerate(batch):
                wave, frames = _checked(wave, i), []
                for s in range(0, len(wave), size):
                    chunk = wave[s : s + size]
                    if len(chunk) < MIN_SAMPLES:
                        chunk = np.pad(chunk, (0, MIN_SAMPLES - len(chunk)))
                    feats = self.extractor_([chunk], sampling_rate=SAMPLE_RATE, return_tensors="pt")
                    res = model(feats["input_values"], output_hidden_states=True, return_dict=True)
                    frames.append(self._select(res.hidden_states, c.layer)[0].float().numpy())
                out.append(np.ascontiguousarray(np.concatenate(frames), dtype=np.float32))
        return out


def _checked(wave: np.ndarray, i: int) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or len(wave) == 0 or not np.isfinite(wave).all():
        raise DataError(f"wave {i}: expected finite, non-empty mono 1-D samples")
    return wave


# --- images and video ------------------------------------------------------------------
