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

from ..errors import DataError, UsageError
from ..labels import CANONICAL
from ..media.text import normalize_text
from .artifact import ModelMeta, load_model
from .calibration import softmax
from .registry import register_architecture

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "weights" / "text"


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


class TextModel:
    """A loaded text model: encoder + head (+ lexical branch) + temperature -> probabilities.

    Models trained with dialogue context (``config.context``) read ``[e_t, e_prev, flag]``:
    the embedding of the text, of the previous utterance (zeros when there is none) and
    whether there was one. Models with a lexical branch add ``weight * lexical logits``;
    ``preprocessing["logit_bias"]`` (tuned on held-out training data) is added last.
    """

    def __init__(self, head: TextHead, meta: ModelMeta, encoder: Any, lexical: Any = None):
        self.head = head.eval()
        self.meta = meta
        self.encoder = encoder
        self.lexical = lexical

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    @property
    def uses_context(self) -> bool:
        return bool(getattr(self.head.config, "context", 0))

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
        lexical = None
        if meta.preprocessing.get("lexical"):
            from .text_lexical import LexicalModel

            lexical = LexicalModel.load(directory)
        return cls(art.module, meta, encoder, lexical)

    def features(
        self, embeddings: np.ndarray, context_embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Head input: the embeddings, plus ``[e_prev, has_context]`` for context models.

        ``context_embeddings`` rows that are all zeros (or ``None``) mean "no context".
        """
        e = np.asarray(embeddings, dtype=np.float32)
        if not self.uses_context:
            return e
        c = np.zeros_like(e) if context_embeddings is None else np.asarray(context_embeddings)
        flag = np.abs(c).sum(1, keepdims=True) > 0
        return np.hstack([e, c.astype(np.float32), flag.astype(np.float32)])

    def logits(
        self,
        embeddings: np.ndarray,
        texts: list[str] | None = None,
        context_embeddings: np.ndarray | None = None,
    ) -> np.ndarray:
        """Uncalibrated logits for precomputed (normalised) embeddings.

        ``texts`` (normalised) are needed when the model has a lexical branch.
        """
        x = self.features(embeddings, context_embeddings)
        with torch.inference_mode():
            z = self.head(torch.as_tensor(x)).numpy().astype(np.float32)
        if self.lexical is not None:
            if texts is None or len(texts) != len(z):
                raise UsageError("this text model has a lexical branch: pass the texts too")
            z = z + float(self.meta.preprocessing["lexical"]["weight"]) * self.lexical.logits(texts)
        bias = self.meta.preprocessing.get("logit_bias")
        if bias is not None:
            z = z + np.asarray(bias, dtype=np.float32)
        return z

    def predict_proba(
        self, texts: list[str], context: list[list[str] | None] | None = None
    ) -> np.ndarray:
        """``(N, len(labels))`` temperature-scaled probabilities; columns follow ``labels``.

        ``context``: optional, one list per text of the previous utterances of the same
        conversation, oldest first (may be empty). Texts get the same normalisation as
        the training data (ASCII quotes, repaired mojibake) before they are embedded.
        """
        if isinstance(texts, str):
            raise UsageError("predict_proba takes a list of texts, not one string")
        if any(not isinstance(t, str) or not t.strip() for t in texts):
            raise DataError("empty text")
        if context is not None and len(context) != len(texts):
            raise UsageError(f"{len(context)} contexts for {len(texts)} texts")
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        norm = [normalize_text(t) for t in texts]
        prev = [None] * len(texts)
        if context is not None and self.uses_context:
            for i, ctx in enumerate(context):
                if isinstance(ctx, str):
                    raise UsageError("each context is a list of previous utterances")
                earlier = [normalize_text(c) for c in (ctx or []) if isinstance(c, str)]
                earlier = [c for c in earlier if c]
                prev[i] = earlier[-1] if earlier else None
        extra = [p for p in prev if p is not None]
        emb = self.encoder.encode(norm + extra)
        ctx_emb = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
        rows = [i for i, p in enumerate(prev) if p is not None]
        ctx_emb[rows] = emb[len(texts) :]
        z = self.logits(emb[: len(texts)], norm, ctx_emb if self.uses_context else None)
        return softmax(z, self.meta.temperature).astype(np.float32)
