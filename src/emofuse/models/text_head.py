"""The text head (torch, for training): a small network over frozen MiniLM embeddings.

The inference wrapper ``TextModel`` (numpy head, MiniLM on onnxruntime when exported)
lives in :mod:`.text` and is re-exported here.

>>> head = TextHead(TextHeadConfig(hidden=8))
>>> tuple(head(torch.zeros(2, 384)).shape)
(2, 7)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..labels import CANONICAL
from .registry import register_architecture
from .text import TextModel

__all__ = ["TextHead", "TextHeadConfig", "TextModel"]


@dataclass
class TextHeadConfig:
    in_dim: int = 384
    hidden: int = 0  # 0: a linear (logistic-regression) head
    dropout: float = 0.1
    n_classes: int = len(CANONICAL)
    context: int = 0  # 1: in_dim = 2 * embedding dim + 1 ([e_t, e_prev, has_context])


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
