"""Encoder towers for end-to-end models: a backbone with its preprocessing and pooled output.

A tower turns a batch of raw items of one modality into ``(N, dim)`` with gradients, so it
can be fine-tuned. Kinds (``build_tower(kind, **options)``):

- ``hf_text`` / ``hf_image`` / ``hf_speech``: a registered Hugging Face encoder's backbone
  and processor, from a local folder (``config={"model": path, ...}``; ``hf_text`` defaults
  to the bundled MiniLM); text is mean-pooled over tokens, images take the CLS token (or
  CLIP's pooled output), speech the mean over frames;
- ``face_cnn``: the bundled face CNN's convolutional trunk (``model_dir``: another face
  model folder), global-average pooled; items are gray ``(48, 48)`` crops or RGB images;
- ``voice_cnn``: the bundled voice CNN up to its attentive statistics pooling; items are
  16 kHz mono waves.

>>> tower = build_tower("face_cnn")                         # doctest: +SKIP
>>> tower(**tower.prepare([np.zeros((48, 48), np.uint8)])).shape  # doctest: +SKIP
torch.Size([1, 512])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DataError, UsageError

KINDS = ("hf_text", "hf_image", "hf_speech", "face_cnn", "voice_cnn")
MODALITY = {
    "hf_text": "text",
    "hf_image": "face",
    "hf_speech": "voice",
    "face_cnn": "face",
    "voice_cnn": "voice",
}


class HFTower(nn.Module):
    """The backbone of a registered ``hf_*`` encoder, differentiable."""

    def __init__(self, kind: str, config: dict[str, Any] | None = None, max_length: int = 64):
        super().__init__()
        from ..encoders.base import build_encoder

        self.kind, self.max_length = kind, max_length
        self.modality = MODALITY[kind]
        config = dict(config or {})
        if kind == "hf_text" and not config.get("model"):
            from ..encoders.text import default_model_path

            config["model"] = str(default_model_path())  # the bundled MiniLM
        self.encoder = build_encoder(kind, config)
        self.backbone = self.encoder._ensure()
        self.dim = int(self.encoder.dim)

    def prepare(self, items: list) -> dict[str, torch.Tensor]:
        enc = self.encoder
        if self.kind == "hf_text":
            if any(not isinstance(t, str) for t in items):
                raise DataError("a text tower reads strings")
            out = enc.tokenizer_(
                list(items),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            return {k: out[k] for k in ("input_ids", "attention_mask")}
        if self.kind == "hf_image":
            from ..encoders.hf.base import as_rgb

            images = [as_rgb(img, i) for i, img in enumerate(items)]
            return {
                "pixel_values": enc.processor_(images=images, return_tensors="pt")["pixel_values"]
            }
        waves = [np.asarray(w, dtype=np.float32) for w in items]
        px = enc.processor_(
            waves,
            sampling_rate=16000,
            return_tensors="pt",
            padding=True,
            return_attention_mask=True,
        )
        return {"input_values": px["input_values"], "attention_mask": px["attention_mask"]}

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        if self.kind == "hf_text":
            mask = inputs["attention_mask"]
            h = self.backbone(**inputs, return_dict=True).last_hidden_state
            m = mask.to(h.dtype).unsqueeze(-1)
            return (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        if self.kind == "hf_image":
            res = self.backbone(pixel_values=inputs["pixel_values"], return_dict=True)
            pooled = getattr(res, "pooler_output", None)
            return pooled if pooled is not None else res.last_hidden_state[:, 0]
        res = self.backbone(input_values=inputs["input_values"], return_dict=True)
        h = res.last_hidden_state  # frames; the mask is on samples, so pool them all
        return h.mean(1)


class FaceCNNTower(nn.Module):
    """The face CNN's conv trunk + global average pooling."""

    modality = "face"

    def __init__(self, model_dir: str | None = None):
        super().__init__()
        from .artifact import load_model
        from .face_cnn import DEFAULT_DIR

        art = load_model(model_dir or DEFAULT_DIR, architecture="face_cnn")
        self.trunk = art.module.features
        self.dim = int(art.module.head[-1].in_features)
        p = art.meta.preprocessing
        self.size, self.mean, self.std = int(p.get("size", 48)), float(p["mean"]), float(p["std"])

    def prepare(self, items: list) -> dict[str, torch.Tensor]:
        from ..media.faces import Box, crop_face

        crops = []
        for i, img in enumerate(items):
            img = np.asarray(img)
            if img.ndim not in (2, 3):
                raise DataError(f"face {i}: expected an image, got shape {img.shape}")
            if img.shape[:2] != (self.size, self.size) or img.ndim == 3:
                img = crop_face(img, Box(0, 0, img.shape[1], img.shape[0]), size=self.size)
            crops.append(img)
        x = torch.from_numpy(np.stack(crops).astype(np.float32))
        return {"x": ((x / 255.0 - self.mean) / self.std).unsqueeze(1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).mean(dim=(2, 3))


class VoiceCNNTower(nn.Module):
    """The voice CNN up to its pooled (mean, std) embedding."""

    modality = "voice"

    def __init__(self, model_dir: str | None = None):
        super().__init__()
        from .voice_cnn import VoiceModel

        model = VoiceModel.load(model_dir, backend="torch")
        self.wrapper = [model]  # a list: not a submodule, its network is registered below
        self.net = model.module
        self.net.head = nn.Identity()  # the tower ends at the (mean, std) embedding
        self.dim = 2 * int(self.net.config.embed)

    def prepare(self, items: list) -> dict[str, torch.Tensor]:
        from .voice_cnn import pad_batch

        model = self.wrapper[0]
        feats = [model.features(model._prepare(w, i)[0]) for i, w in enumerate(items)]
        x, lengths = pad_batch(feats, self.net.reduction)
        return {"x": x, "lengths": lengths}

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(x, lengths)


def build_tower(kind: str, **options: Any) -> nn.Module:
    """A tower of ``kind`` (see the module docstring)."""
    if kind.startswith("hf_") and kind in KINDS:
        return HFTower(kind, options.get("config"), int(options.get("max_length", 64)))
    if kind == "face_cnn":
        return FaceCNNTower(options.get("model_dir"))
    if kind == "voice_cnn":
        return VoiceCNNTower(options.get("model_dir"))
    raise UsageError(f"unknown tower kind {kind!r}; choose from {', '.join(KINDS)}")
