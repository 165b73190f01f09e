"""Hugging Face text encoders: BERT, RoBERTa, DistilBERT, MiniLM, T5 encoder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...errors import DataError
from ..base import EncoderConfig, as_float32, empty, register_encoder
from .base import (
    _HFEncoder,
    _masked_mean,
    _transformers,
)


@dataclass
class HFTextConfig(EncoderConfig):
    """``model``: folder or cached hub id (default: the bundled all-MiniLM-L6-v2).

    ``layer`` indexes the hidden states (0 = embeddings, -1 = last); ``pooling`` is
    ``cls`` (first token) or ``mean`` (over non-padding tokens).
    """

    model: str | None = None
    pooling: Literal["cls", "mean"] = "mean"
    layer: int = -1
    max_length: int = 256
    normalize: bool = False
    batch_size: int = 32


@register_encoder("hf_text", HFTextConfig)
class HFText(_HFEncoder):
    """Any transformer text encoder (AutoModel; T5-style encoder-decoders use the encoder)."""

    modality = "text"

    def _model_name(self) -> str | None:
        if self.config.model:
            return self.config.model
        from .text import default_model_path

        return str(default_model_path())

    def _load(self, directory: Path) -> None:
        tf = _transformers()
        self.tokenizer_ = tf.AutoTokenizer.from_pretrained(directory, local_files_only=True)
        # T5-style encoder-decoders: load the encoder alone (T5EncoderModel, ...)
        auto = tf.AutoModelForTextEncoding
        if type(self._hf_config()) not in auto._model_mapping:
            auto = tf.AutoModel
        self.model_ = auto.from_pretrained(directory, local_files_only=True)

    sequence_hop = None  # tokens, not time

    def _hidden(self, batch: list[str]) -> Iterator[tuple[Any, Any]]:
        """``(hidden states of `layer`, attention mask)`` per sub-batch of ``batch_size``."""
        if any(not isinstance(t, str) for t in batch):
            raise DataError("hf_text encodes strings")
        model, c = self._ensure(), self.config
        for s in range(0, len(batch), c.batch_size):
            enc = self.tokenizer_(
                list(batch[s : s + c.batch_size]),
                padding=True,
                truncation=True,
                max_length=c.max_length,
                return_tensors="pt",
            )
            if _no_token_types(model):
                enc.pop("token_type_ids", None)
            res = model(**enc, output_hidden_states=True, return_dict=True)
            yield self._select(res.hidden_states, c.layer), enc["attention_mask"]

    def encode(self, batch: list[str]) -> np.ndarray:
        import torch

        if len(batch) == 0:
            return empty(self.dim)
        c, out = self.config, []
        with torch.inference_mode():
            for h, mask in self._hidden(batch):
                z = h[:, 0] if c.pooling == "cls" else _masked_mean(h, mask)
                if c.normalize:
                    z = torch.nn.functional.normalize(z, dim=-1)
                out.append(z.float().numpy())
        return as_float32(np.concatenate(out), len(batch), self.dim)

    def encode_sequence(self, batch: list[str]) -> list[np.ndarray]:
        """Hidden states of ``layer`` per token ``(T, dim)``, padding removed (special
        tokens kept; not normalised)."""
        import torch

        out: list[np.ndarray] = []
        with torch.inference_mode():
            for h, mask in self._hidden(batch):
                for row, keep in zip(h, mask.bool()):
                    out.append(np.ascontiguousarray(row[keep].float().numpy()))
        return out


def _no_token_types(model: Any) -> bool:
    import inspect

    return "token_type_ids" not in inspect.signature(model.forward).parameters


# --- speech ----------------------------------------------------------------------------
