"""Hugging Face image (ViT, CLIP vision tower) and video (VideoMAE) encoders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ...errors import DataError, UsageError
from ..base import EncoderConfig, as_float32, empty, register_encoder
from .base import (
    _HFEncoder,
    _transformers,
    as_rgb,
)


@dataclass
class HFImageConfig(EncoderConfig):
    """``model``: ViT or CLIP folder / cached hub id.

    ``pooling``: ``cls`` (first token of hidden state ``layer``), ``mean`` (mean over
    patch tokens of ``layer``) or ``pooled`` (the model's pooler output: ViT's
    dense+tanh, CLIP's post-layernorm CLS; ignores ``layer``).
    """

    model: str | None = None
    pooling: Literal["cls", "mean", "pooled"] = "cls"
    layer: int = -1
    batch_size: int = 16


@register_encoder("hf_image", HFImageConfig)
class HFImage(_HFEncoder):
    """Vision transformer embeddings (a CLIP checkpoint uses its vision tower)."""

    modality = "image"

    def _load(self, directory: Path) -> None:
        tf = _transformers()
        self.processor_ = tf.AutoImageProcessor.from_pretrained(directory, local_files_only=True)
        if self._hf_config().model_type == "clip":
            self.model_ = tf.CLIPVisionModel.from_pretrained(directory, local_files_only=True)
        else:
            self.model_ = tf.AutoModel.from_pretrained(directory, local_files_only=True)

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        import torch

        if len(batch) == 0:
            return empty(self.dim)
        model, c = self._ensure(), self.config
        images = [as_rgb(img, i) for i, img in enumerate(batch)]
        out = []
        with torch.inference_mode():
            for s in range(0, len(images), c.batch_size):
                px = self.processor_(images=images[s : s + c.batch_size], return_tensors="pt")
                res = model(
                    pixel_values=px["pixel_values"], output_hidden_states=True, return_dict=True
                )
                if c.pooling == "pooled":
                    z = getattr(res, "pooler_output", None)
                    if z is None:
                        raise UsageError(f"{self.name}: this model has no pooler; use cls/mean")
                else:
                    h = self._select(res.hidden_states, c.layer)
                    z = h[:, 0] if c.pooling == "cls" else h[:, 1:].mean(1)
                out.append(z.float().numpy())
        return as_float32(np.concatenate(out), len(batch), self.dim)


def sample_frames(frames: list, num: int) -> list:
    """``num`` frames at uniformly spaced indices (repeats when the clip is shorter).

    >>> sample_frames(list(range(10)), 4)
    [0, 3, 6, 9]
    """
    if len(frames) == 0:
        raise DataError("a video needs at least one frame")
    idx = np.linspace(0, len(frames) - 1, num).round().astype(int)
    return [frames[k] for k in idx]


@dataclass
class HFVideoConfig(EncoderConfig):
    """``model``: VideoMAE folder / cached hub id; ``num_frames`` (default: the model's)
    frames are sampled uniformly from each clip; tokens of ``layer`` are mean-pooled."""

    model: str | None = None
    num_frames: int | None = None
    layer: int = -1
    batch_size: int = 2


@register_encoder("hf_video", HFVideoConfig)
class HFVideo(_HFEncoder):
    """VideoMAE clip embeddings (mean over space-time tokens)."""

    modality = "video"

    def _load(self, directory: Path) -> None:
        tf = _transformers()
        self.processor_ = tf.AutoImageProcessor.from_pretrained(directory, local_files_only=True)
        self.model_ = tf.AutoModel.from_pretrained(directory, local_files_only=True)

    @property
    def num_frames(self) -> int:
        return int(self.config.num_frames or getattr(self._hf_config(), "num_frames", 16))

    def encode(self, batch: list[list[np.ndarray]]) -> np.ndarray:
        import torch

        if len(batch) == 0:
            return empty(self.dim)
        model, c = self._ensure(), self.config
        clips = [
            [as_rgb(f, i) for f in sample_frames(list(clip), self.num_frames)]
            for i, clip in enumerate(batch)
        ]
        out = []
        with torch.inference_mode():
            for s in range(0, len(clips), c.batch_size):
                px = self.processor_(list(clips[s : s + c.batch_size]), return_tensors="pt")
                res = model(
                    pixel_values=px["pixel_values"], output_hidden_states=True, return_dict=True
                )
                out.append(self._select(res.hidden_states, c.layer).mean(1).float().numpy())
        return as_float32(np.concatenate(out), len(batch), self.dim)


# --- CLIP zero-shot --------------------------------------------------------------------
