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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import DataError, MissingExtraError, UsageError
from ..labels import CANONICAL
from .base import (
    EncoderConfig,
    as_float32,
    build_encoder,  # noqa: F401  (doctest)
    config_fingerprint,
    empty,
    hash_files,
    register_encoder,
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
def _quiet() -> Iterator[None]:
    """Hide transformers' load progress bars and info chatter."""
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
            with _quiet():
                self._load(self.model_dir)
            self.model_.eval()
        return self.model_

    def _hf_config(self) -> Any:
        cfg = getattr(self, "hf_config_", None)
        if cfg is None:
            with _quiet():
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

    def encode(self, batch: list[str]) -> np.ndarray:
        import torch

        if any(not isinstance(t, str) for t in batch):
            raise DataError("hf_text encodes strings")
        if len(batch) == 0:
            return empty(self.dim)
        model, c = self._ensure(), self.config
        out = []
        with torch.inference_mode():
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
                h = self._select(res.hidden_states, c.layer)
                z = h[:, 0] if c.pooling == "cls" else _masked_mean(h, enc["attention_mask"])
                if c.normalize:
                    z = torch.nn.functional.normalize(z, dim=-1)
                out.append(z.float().numpy())
        return as_float32(np.concatenate(out), len(batch), self.dim)


def _no_token_types(model: Any) -> bool:
    import inspect

    return "token_type_ids" not in inspect.signature(model.forward).parameters


# --- speech ----------------------------------------------------------------------------


@dataclass
class HFSpeechConfig(EncoderConfig):
    """``model``: wav2vec2 / HuBERT / WavLM folder or cached hub id (16 kHz).

    Audio longer than ``chunk_seconds`` is cut into windows of that length (the last one
    end-aligned), each mean-pooled over time, and the windows averaged.
    """

    model: str | None = None
    layer: int = -1
    chunk_seconds: float = 20.0
    batch_size: int = 4


SAMPLE_RATE = 16000
MIN_SAMPLES = 400  # one frame of the wav2vec2 conv front end (25 ms)


def speech_windows(n: int, size: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` windows of ``size`` covering ``n`` samples, last end-aligned.

    >>> speech_windows(10, 4)
    [(0, 4), (4, 8), (6, 10)]
    """
    if n <= size:
        return [(0, n)]
    starts = list(range(0, n - size + 1, size))
    if starts[-1] + size < n:
        starts.append(n - size)
    return [(s, s + size) for s in starts]


@register_encoder("hf_speech", HFSpeechConfig)
class HFSpeech(_HFEncoder):
    """Self-supervised speech model, hidden states mean-pooled over time."""

    modality = "voice"

    def _load(self, directory: Path) -> None:
        tf = _transformers()
        self.extractor_ = tf.AutoFeatureExtractor.from_pretrained(directory, local_files_only=True)
        self.model_ = tf.AutoModel.from_pretrained(directory, local_files_only=True)

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        import torch

        if len(batch) == 0:
            return empty(self.dim)
        model, c = self._ensure(), self.config
        size = max(MIN_SAMPLES, round(c.chunk_seconds * SAMPLE_RATE))
        rows = []
        with torch.inference_mode():
            for i, wave in enumerate(batch):
                wave = np.asarray(wave, dtype=np.float32)
                if wave.ndim != 1 or len(wave) == 0 or not np.isfinite(wave).all():
                    raise DataError(f"wave {i}: expected finite, non-empty mono 1-D samples")
                if len(wave) < MIN_SAMPLES:
                    wave = np.pad(wave, (0, MIN_SAMPLES - len(wave)))
                chunks = [wave[s:e] for s, e in speech_windows(len(wave), size)]
                embs = []
                for s in range(0, len(chunks), c.batch_size):  # all full windows: equal length
                    group = chunks[s : s + c.batch_size]
                    feats = self.extractor_(
                        group, sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True
                    )
                    res = model(feats["input_values"], output_hidden_states=True, return_dict=True)
                    embs.append(self._select(res.hidden_states, c.layer).mean(1).float().numpy())
                rows.append(np.concatenate(embs).mean(0))
        return as_float32(rows, len(batch), self.dim)


# --- images and video ------------------------------------------------------------------


def _rgb(img: Any, i: int) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise DataError(f"image {i}: expected RGB (H, W, 3) or gray (H, W), got {img.shape}")
    return np.ascontiguousarray(img, dtype=np.uint8)


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
        images = [_rgb(img, i) for i, img in enumerate(batch)]
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
            [_rgb(f, i) for f in sample_frames(list(clip), self.num_frames)]
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
            z = _features(self.model_.get_text_features(**tok))
            self.text_ = torch.nn.functional.normalize(z, dim=-1)
        return self.text_

    def frame_probs(self, frames: list[np.ndarray]) -> np.ndarray:
        """Per-frame label probabilities ``(F, len(labels))``."""
        import torch

        model = self._ensure()
        images = [_rgb(f, k) for k, f in enumerate(frames)]
        out = []
        with torch.inference_mode():
            text = self._text_features()
            step = self.config.batch_size
            for s in range(0, len(images), step):
                px = self.processor_(images=images[s : s + step], return_tensors="pt")
                img = _features(model.get_image_features(pixel_values=px["pixel_values"]))
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


def _features(out: Any) -> Any:
    """``get_*_features`` return a tensor (transformers 4) or an output object (5)."""
    return out if hasattr(out, "dim") and callable(out.dim) else out.pooler_output
