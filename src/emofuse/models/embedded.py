"""Encoders from the bundled default models: their penultimate-layer embeddings.

>>> enc = build_encoder("default_face")          # doctest: +SKIP
>>> enc.encode([face_crop]).shape                 # doctest: +SKIP
(1, 256)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.audio import as_mono
from ..encoders.base import (
    EncoderConfig,
    as_float32,
    config_fingerprint,
    empty,
    hash_files,
    register_encoder,
)
from ..errors import DataError


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
                from .face_cnn import FaceModel as cls
            else:
                from .voice_cnn import VoiceModel as cls
            model = self.model_ = cls.load(self.config.model_dir, backend="torch")
        return model

    @property
    def dim(self) -> int:
        """Width of the input of the final linear layer (summed over an ensemble's members)."""
        module = self._model().module
        heads = module.heads if hasattr(module, "heads") else [module.head]
        return sum(int(h[-1].in_features) for h in heads)

    def fingerprint(self) -> str:
        weights = _weights_hash(self.config.model_dir, self.modality)
        return config_fingerprint(self.config, weights)


@register_encoder("default_face", DefaultModelConfig)
class DefaultFace(_DefaultModelEncoder):
    """Penultimate-layer embedding (pooled features before the final linear layer) of
    the bundled face CNN. An item is a face crop (gray ``(48, 48)`` or RGB ``(H, W, 3)``
    ``uint8``) or a list of crops over time (a video row's sampled faces), whose
    embeddings ``encode`` averages and ``encode_sequence`` returns per frame ``(T, dim)``."""

    modality = "face"
    sequence_hop = None  # frames without a face are skipped: irregular

    def encode(self, batch: list) -> np.ndarray:
        rows = [seq.mean(0) for seq in self.encode_sequence(batch)]
        return as_float32(rows, len(batch), self.dim) if rows else empty(self.dim)

    def encode_sequence(self, batch: list) -> list[np.ndarray]:
        import torch

        from .face_cnn import normalise

        model = self._model()
        if len(batch) == 0:
            return []
        size, p = model.size, model.meta.preprocessing
        items = [_frames(item, i) for i, item in enumerate(batch)]
        crops = np.stack([_gray(img, size, i) for i, frames in enumerate(items) for img in frames])
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
        z = np.concatenate(out).astype(np.float32)
        ends = np.cumsum([len(f) for f in items])
        return [np.ascontiguousarray(seq) for seq in np.split(z, ends[:-1])]


def _frames(item: Any, i: int) -> list:
    """One item as a list of images: a crop, or a video row's crops over time."""
    if isinstance(item, np.ndarray) and (
        item.ndim == 2 or (item.ndim == 3 and item.shape[-1] in (1, 3))
    ):
        frames = [item]
    else:
        frames = list(item)
    if not frames:
        raise DataError(f"face {i}: no frames")
    return frames


@register_encoder("default_voice", DefaultModelConfig)
class DefaultVoice(_DefaultModelEncoder):
    """Penultimate-layer embedding of the bundled voice CNN (attentive mean+std pooling,
    before the final linear layer; an ensemble's members' embeddings concatenated); long
    audio is windowed as in prediction and the window embeddings averaged."""

    modality = "voice"

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        import torch

        from .voice_cnn import pad_batch

        model = self._model()
        net = model.module
        captured: list[torch.Tensor] = []
        hooks = [
            h.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
            for h in net.heads
        ]
        rows = []
        try:
            with torch.inference_mode():
                for i, wave in enumerate(batch):
                    chunks = model._prepare(as_mono(wave, i), i)
                    embs = []
                    for chunk in chunks:
                        x, lengths = pad_batch([model.features(chunk)], net.reduction)
                        captured.clear()
                        net(x, lengths)
                        embs.append(torch.cat([c[0] for c in captured]).numpy())
                    rows.append(np.mean(embs, axis=0))
        finally:
            for hook in hooks:
                hook.remove()
        return as_float32(rows, len(batch), self.dim) if rows else empty(self.dim)


def _weights_hash(model_dir: str | None, modality: str) -> str:
    """Hash of a model folder's weights and metadata (labels, preprocessing)."""
    from .artifact import META_FILE, WEIGHTS_FILE

    if model_dir is None:
        from . import face_cnn, voice_cnn

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
