"""Encoders that need no extra: MiniLM, log-mel statistics, and the bundled default models.

>>> enc = build_encoder("logmel_stats")
>>> import numpy as np
>>> enc.encode([np.zeros(16000, dtype="float32")]).shape
(1, 128)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .base import (
    EncoderConfig,
    as_float32,
    build_encoder,  # noqa: F401  (doctest)
    config_fingerprint,
    empty,
    hash_files,
    register_encoder,
)


@dataclass
class MiniLMConfig(EncoderConfig):
    """``model_path``: a sentence-transformers folder (default: the bundled weights)."""

    model_path: str | None = None
    batch_size: int = 64


@register_encoder("minilm", MiniLMConfig)
class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings, L2-normalised, ``(N, 384)``."""

    modality = "text"
    dim = 384

    def __init__(self, config: MiniLMConfig | None = None):
        from .text import MiniLMEncoder

        self.config = config or MiniLMConfig()
        self.impl = MiniLMEncoder(self.config.model_path, self.config.batch_size)

    def encode(self, batch: list[str]) -> np.ndarray:
        if any(not isinstance(t, str) for t in batch):
            raise DataError("minilm encodes strings")
        return self.impl.encode(list(batch))

    def fingerprint(self) -> str:
        return config_fingerprint(self.config, self.impl.fingerprint())


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

    A fast, weight-free voice baseline.
    """

    modality = "voice"

    def __init__(self, config: LogMelStatsConfig | None = None):
        self.config = config or LogMelStatsConfig()

    @property
    def dim(self) -> int:
        return 2 * self.config.n_mels

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        from ..audio_features import log_mel

        c = self.config
        rows = []
        for i, wave in enumerate(batch):
            wave = _mono(wave, i)
            m = log_mel(wave, c.sample_rate, c.n_fft, c.hop, c.n_mels)  # (n_mels, T)
            rows.append(np.concatenate([m.mean(-1).numpy(), m.std(-1, unbiased=False).numpy()]))
        return as_float32(rows, len(batch), self.dim) if rows else empty(self.dim)

    def fingerprint(self) -> str:
        return config_fingerprint(self.config, "logmel_stats-v1")


def _mono(wave: Any, i: int) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or len(wave) == 0:
        raise DataError(f"wave {i}: expected non-empty mono 1-D samples, got shape {wave.shape}")
    if not np.isfinite(wave).all():
        raise DataError(f"wave {i} contains NaN or infinite samples")
    return wave


@dataclass
class DefaultModelConfig(EncoderConfig):
    """``model_dir``: a face/voice model folder (default: the bundled one)."""

    model_dir: str | None = None
    batch_size: int = 32


class _DefaultModelEncoder:
    """Shared by the bundled models' embeddings: lazy torch model, dim, fingerprint."""

    modality: str

    def __init__(self, config: DefaultModelConfig | None = None):
        self.config = config or DefaultModelConfig()

    def _model(self) -> Any:
        model = getattr(self, "model_", None)
        if model is None:
            if self.modality == "face":
                from ..models.face_cnn import FaceModel as cls
            else:
                from ..models.voice_cnn import VoiceModel as cls
            model = self.model_ = cls.load(self.config.model_dir, backend="torch")
        return model

    @property
    def dim(self) -> int:
        """Width of the input of the final linear layer."""
        return int(self._model().module.head[-1].in_features)

    def fingerprint(self) -> str:
        weights = _weights_hash(self.config.model_dir, self.modality)
        return config_fingerprint(self.config, weights)


@register_encoder("default_face", DefaultModelConfig)
class DefaultFace(_DefaultModelEncoder):
    """Penultimate-layer embedding (pooled features before the final linear layer) of
    the bundled face CNN. Input: gray ``(48, 48)`` or RGB ``(H, W, 3)`` ``uint8`` crops."""

    modality = "face"

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        import torch

        from ..models.face_cnn import normalise

        model = self._model()
        if len(batch) == 0:
            return empty(self.dim)
        size, p = model.size, model.meta.preprocessing
        crops = np.stack([_gray(img, size, i) for i, img in enumerate(batch)])
        net = model.module
        trunk = torch.nn.Sequential(net.features, *list(net.head)[:-1])  # up to the linear
        out = []
        with torch.inference_mode():
            for s in range(0, len(crops), self.config.batch_size):
                x = normalise(crops[s : s + self.config.batch_size], p["mean"], p["std"])
                x = x.contiguous(memory_format=torch.channels_last)
                z = trunk(x)
                if p.get("tta_flip"):
                    z = (z + trunk(x.flip(-1))) / 2
                out.append(z.numpy())
        return as_float32(np.concatenate(out), len(batch), self.dim)


@register_encoder("default_voice", DefaultModelConfig)
class DefaultVoice(_DefaultModelEncoder):
    """Penultimate-layer embedding of the bundled voice CNN (attentive mean+std pooling,
    before the final linear layer); long audio is windowed as in prediction and the
    window embeddings averaged."""

    modality = "voice"

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        import torch

        from ..models.voice_cnn import pad_batch

        model = self._model()
        net = model.module
        captured: list[torch.Tensor] = []
        hook = net.head.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
        rows = []
        try:
            with torch.inference_mode():
                for i, wave in enumerate(batch):
                    chunks = model._prepare(_mono(wave, i), i)
                    embs = []
                    for chunk in chunks:
                        x, lengths = pad_batch([model.features(chunk)], net.reduction)
                        captured.clear()
                        net(x, lengths)
                        embs.append(captured[0][0].numpy())
                    rows.append(np.mean(embs, axis=0))
        finally:
            hook.remove()
        return as_float32(rows, len(batch), self.dim) if rows else empty(self.dim)


def _weights_hash(model_dir: str | None, modality: str) -> str:
    """Hash of a model folder's weights and metadata (labels, preprocessing)."""
    from ..models.artifact import META_FILE, WEIGHTS_FILE

    if model_dir is None:
        from ..models import face_cnn, voice_cnn

        directory = (face_cnn if modality == "face" else voice_cnn).DEFAULT_DIR
    else:
        directory = Path(model_dir)
    return hash_files([directory / WEIGHTS_FILE, directory / META_FILE])


def _gray(img: Any, size: int, i: int) -> np.ndarray:
    import cv2

    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim != 2:
        raise DataError(f"face {i}: expected gray (H, W) or RGB (H, W, 3), got {img.shape}")
    img = np.ascontiguousarray(img, dtype=np.uint8)
    if img.shape != (size, size):
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return img
