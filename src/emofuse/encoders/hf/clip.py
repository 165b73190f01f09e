"""CLIP zero-shot frames: prompts per canonical label -> label probabilities per clip."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ...labels import CANONICAL
from ..base import EncoderConfig, as_float32, empty, register_encoder
from .base import (
    _HFEncoder,
    _transformers,
    as_rgb,
    features_tensor,
)

DEFAULT_WORDS = {
    "neutral": "neutral",
    "happiness": "happy",
    "sadness": "sad",
    "anger": "angry",
    "fear": "fearful",
    "disgust": "disgusted",
    "surprise": "surprised",
}


@dataclass
class ClipZeroShotConfig(EncoderConfig):
    """``template`` is filled with each label's word (``words``, default: adjectives for
    the canonical labels). Output columns follow ``labels``."""

    model: str | None = None
    template: str = "a photo of a {label} face"
    labels: list[str] = field(default_factory=lambda: list(CANONICAL))
    words: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_WORDS))
    batch_size: int = 16


@register_encoder("clip_zeroshot", ClipZeroShotConfig)
class ClipZeroShot(_HFEncoder):
    """CLIP zero-shot emotion probabilities per clip, ``(N, len(labels))``.

    Each frame is compared with one prompt per label and softmaxed; frames are averaged
    weighted by their confidence (max probability). An item is a list of RGB frames or
    a single RGB image.
    """

    modality = "video"

    def _load(self, directory: Path) -> None:
        tf = _transformers()
        self.processor_ = tf.AutoImageProcessor.from_pretrained(directory, local_files_only=True)
        self.tokenizer_ = tf.AutoTokenizer.from_pretrained(directory, local_files_only=True)
        self.model_ = tf.CLIPModel.from_pretrained(directory, local_files_only=True)
        self.text_ = None

    @property
    def dim(self) -> int:
        return len(self.config.labels)

    def prompts(self) -> list[str]:
        c = self.config
        return [c.template.format(label=c.words.get(lab, lab)) for lab in c.labels]

    def _text_features(self) -> Any:
        import torch

        if self.text_ is None:
            tok = self.tokenizer_(self.prompts(), padding=True, return_tensors="pt")
            z = features_tensor(self.model_.get_text_features(**tok))
            self.text_ = torch.nn.functional.normalize(z, dim=-1)
        return self.text_

    def frame_probs(self, frames: list[np.ndarray]) -> np.ndarray:
        """Per-frame label probabilities ``(F, len(labels))``."""
        import torch

        model = self._ensure()
        images = [as_rgb(f, k) for k, f in enumerate(frames)]
        out = []
        with torch.inference_mode():
            text = self._text_features()
            step = self.config.batch_size
            for s in range(0, len(images), step):
                px = self.processor_(images=images[s : s + step], return_tensors="pt")
                img = features_tensor(model.get_image_features(pixel_values=px["pixel_values"]))
                img = torch.nn.functional.normalize(img, dim=-1)
                logits = model.logit_scale.exp() * img @ text.T
                out.append(logits.softmax(-1).float().numpy())
        return np.concatenate(out)

    def encode(self, batch: list) -> np.ndarray:
        if len(batch) == 0:
            return empty(self.dim)
        rows = []
        for i, item in enumerate(batch):
            single = isinstance(item, np.ndarray) and (
                item.ndim == 2 or (item.ndim == 3 and item.shape[-1] == 3)
            )
            frames = [item] if single else list(item)
            if not frames:
                raise DataError(f"clip {i} has no frames")
            p = self.frame_probs(frames)
            w = p.max(1)
            rows.append((w[:, None] * p).sum(0) / w.sum())
        return as_float32(rows, len(batch), self.dim)
