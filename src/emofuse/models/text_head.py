"""The text model: a small head over frozen MiniLM sentence embeddings.

>>> model = TextModel.load(DEFAULT_DIR)                                 # doctest: +SKIP
>>> p = model.predict_proba(["I can't believe we won!", "Leave me alone."])  # doctest: +SKIP
>>> [model.labels[i] for i in p.argmax(1)]                              # doctest: +SKIP
['happiness', 'anger']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..calibration import softmax
from ..data.datasets.meld import normalize_text
from ..errors import DataError, UsageError
from ..labels import CANONICAL
from .artifact import ModelMeta, load_model
from .registry import register_architecture

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "weights" / "text"


@dataclass
class TextHeadConfig:
    in_dim: int = 384
    hidden: int = 0  # 0: a linear (logistic-regression) head
    dropout: float = 0.1
    n_classes: int = len(CANONICAL)


@register_architecture("text_head")
class TextHead(nn.Module):
    """Embeddings ``(N, in_dim)`` -> logits ``(N, n_classes)`` in :data:`CANONICAL` order."""

    Config = TextHeadConfig

    def __init__(self, config: TextHeadConfig):
        super().__init__()
        self.config = config
        if config.hidden > 0:
            self.net = nn.Sequential(
                nn.Dropout(config.dropout),
                nn.Linear(config.in_dim, config.hidden),
                nn.GELU(),
                nn.Dropout(config.dropout),
                nn.Linear(config.hidden, config.n_classes),
            )
        else:
            self.net = nn.Sequential(
                nn.Dropout(config.dropout), nn.Linear(config.in_dim, config.n_classes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TextModel:
    """A loaded text model: encoder + head + temperature, returning calibrated probabilities."""

    def __init__(self, head: TextHead, meta: ModelMeta, encoder: Any):
        self.head = head.eval()
        self.meta = meta
        self.encoder = encoder

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_DIR, encoder: Any = None) -> TextModel:
        """Load a ``text_head`` artefact; ``encoder`` defaults to the one its metadata names."""
        art = load_model(directory, architecture=TextHead.architecture)
        meta = art.meta
        if encoder is None:
            name = meta.preprocessing.get("encoder", "minilm")
            if name != "minilm":
                raise DataError(f"unknown text encoder {name!r} in {directory}/model.json")
            from ..encoders.text import MiniLMEncoder

            encoder = MiniLMEncoder()
        return cls(art.module, meta, encoder)

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        """Uncalibrated head logits for precomputed embeddings."""
        with torch.inference_mode():
            return self.head(torch.as_tensor(np.asarray(embeddings, dtype=np.float32))).numpy()

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """``(N, len(labels))`` temperature-scaled probabilities; columns follow ``labels``.

        Texts get the same normalisation as the training data (ASCII quotes, repaired
        mojibake) before they are embedded.
        """
        if isinstance(texts, str):
            raise UsageError("predict_proba takes a list of texts, not one string")
        if any(not isinstance(t, str) or not t.strip() for t in texts):
            raise DataError("empty text")
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        emb = self.encoder.encode([normalize_text(t) for t in texts])
        probs = softmax(self.logits(emb), self.meta.temperature)
        return probs.astype(np.float32)
