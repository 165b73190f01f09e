"""Hugging Face backbones as encoders (extra ``hf``: ``pip install 'emofuse[hf]'``).

``model`` is a local folder (``save_pretrained`` output) or a hub id that is already in
the local Hugging Face cache: emofuse never downloads (``local_files_only=True``).
Models load lazily, once per encoder, in eval mode on the CPU.

>>> enc = build_encoder("hf_text", model="path/to/bert", pooling="cls", layer=-2)  # doctest: +SKIP
>>> enc.encode(["so happy"]).shape                                               # doctest: +SKIP
(1, 768)

Registered: ``hf_text`` (BERT/RoBERTa/DistilBERT/MiniLM/T5 encoder), ``hf_speech``
(wav2vec2/HuBERT/WavLM), ``hf_image`` (ViT, CLIP vision tower), ``hf_video`` (VideoMAE),
``clip_zeroshot`` (CLIP prompts -> canonical label probabilities).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError, MissingExtraError, UsageError
from ..base import (
    config_fingerprint,
    hash_files,
)

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "config.json")


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise MissingExtraError("transformers", "hf") from None
    return transformers


def resolve_model_dir(model: str | os.PathLike | None) -> Path:
    """A local model folder for ``model`` (a folder, or a hub id already in the HF cache)."""
    if model is None or str(model) == "":
        raise UsageError("this encoder needs model=<local folder or cached hub id>")
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise DataError(f"{path} is not a Hugging Face model folder (no config.json)")
        return path
    text = str(model)
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text:
        raise DataError(f"no model folder at {path}")
    _transformers()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(text, local_files_only=True))
    except Exception:
        raise DataError(
            f"{text!r} is not a local folder nor in the local Hugging Face cache, and emofuse "
            "never downloads. On a machine with network access run "
            f"`huggingface-cli download {text} --local-dir ./{text.split('/')[-1]}` (or "
            "from_pretrained(...).save_pretrained(folder)), copy the folder here and pass "
            "model=/path/to/folder"
        ) from None


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide transformers' load progress bars and info chatter (and "unexpected key" notes)."""
    hf_logging = _transformers().utils.logging
    bar, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()


class _HFEncoder:
    """Shared lazy loading, fingerprinting and layer selection."""

    config: Any

    def __init__(self, config: Any = None):
        self.config = config if config is not None else self.config_cls()

    # subclasses set ``self.model_`` (and a processor) in ``_load``
    def _load(self, directory: Path) -> None:
        raise NotImplementedError

    @property
    def model_dir(self) -> Path:
        directory = getattr(self, "model_dir_", None)
        if directory is None:
            directory = self.model_dir_ = resolve_model_dir(self._model_name())
        return directory

    def _model_name(self) -> str | None:
        return self.config.model

    @property
    def dim(self) -> int:
        """The backbone's hidden size (subclasses with another output override this)."""
        return _hidden_size(self._hf_config())

    def _ensure(self) -> Any:
        if getattr(self, "model_", None) is None:
            with quiet_transformers():
                self._load(self.model_dir)
            self.model_.eval()
        return self.model_

    def _hf_config(self) -> Any:
        cfg = getattr(self, "hf_config_", None)
        if cfg is None:
            with quiet_transformers():
                cfg = self.hf_config_ = _transformers().AutoConfig.from_pretrained(
                    self.model_dir, local_files_only=True
                )
        return cfg

    def fingerprint(self) -> str:
        files = [p for pat in WEIGHT_PATTERNS for p in self.model_dir.glob(pat)]
        return config_fingerprint(self.config, self.name, hash_files(files))

    def _select(self, hidden_states: tuple, layer: int) -> Any:
        n = len(hidden_states)
        if not -n <= layer < n:
            raise UsageError(
                f"{self.name}: layer {layer} out of range; the model has {n} hidden states "
                f"(0 = embeddings, {n - 1} or -1 = last)"
            )
        return hidden_states[layer]


def _hidden_size(cfg: Any) -> int:
    for sub in ("text_config", "vision_config"):
        if getattr(cfg, "model_type", "") == "clip" and sub == "vision_config":
            return int(cfg.vision_config.hidden_size)
    for attr in ("hidden_size", "d_model", "dim"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int):
            return value
    raise DataError(f"cannot tell the hidden size of a {type(cfg).__name__}")


def _masked_mean(h: Any, mask: Any) -> Any:
    m = mask.to(h.dtype).unsqueeze(-1)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


# --- text ------------------------------------------------------------------------------


def as_rgb(img: Any, i: int) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise DataError(f"image {i}: expected RGB (H, W, 3) or gray (H, W), got {img.shape}")
    return np.ascontiguousarray(img, dtype=np.uint8)


def features_tensor(out: Any) -> Any:
    """``get_*_features`` return a tensor (transformers 4) or an output object (5)."""
    return out if hasattr(out, "dim") and callable(out.dim) else out.pooler_output
