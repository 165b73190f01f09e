"""The encoder contract, config dataclasses and the registry (lhotse style).

An encoder turns a batch of inputs of one modality into a ``(N, dim)`` float32 matrix.
Every encoder class is registered under a name together with a config dataclass, so
recipes and the CLI build encoders from plain data::

    >>> enc = build_encoder("logmel_stats", n_mels="32")      # strings are converted
    >>> enc.config.n_mels, enc.dim
    (32, 64)
    >>> type(enc.config).from_yaml(enc.config.to_yaml()) == enc.config
    True

Third parties plug in without editing emofuse::

    @dataclass
    class MyConfig(EncoderConfig):
        width: int = 8

    @register_encoder("mine", MyConfig)
    class MyEncoder:
        modality = "text"
        def __init__(self, config: MyConfig): self.config = config
        dim = property(lambda self: self.config.width)
        def encode(self, batch): ...
        def fingerprint(self): return config_fingerprint(self.config)

Batch items by modality: ``str`` (text); float32 mono 16 kHz 1-D array (voice); RGB
``uint8`` ``(H, W, 3)`` (image, face; face also takes gray ``(48, 48)``); a list of RGB
frames (video). A face encoder that pools over time (``default_face``) also takes, per
item, a list of face crops: the sampled frames of a video row (see
:mod:`emofuse.features.inputs`).

``fingerprint()`` identifies what defines the features: the weights *and* the
feature-defining config fields (layer, pooling, ...), but not runtime knobs such as
``batch_size`` (listed in ``EncoderConfig.runtime_fields``). A cache key is therefore
``(name, fingerprint(), emofuse version, item content hash)``.

Sequences (optional; what attention fusion reads). An encoder may also provide
``encode_sequence(batch) -> list[np.ndarray]``: one C-contiguous float32 array
``(T_i, sequence_dim)`` per item, ``T_i >= 1`` rows in time (audio frames, video frames)
or token order, the rows *before* pooling, so ``encode`` is a pooling of them (not
necessarily the mean: ``logmel_stats`` pools mean and std). ``sequence_dim`` defaults to
``dim`` (``logmel_stats``: ``n_mels``, its pooled vector is ``2 * n_mels``);
``sequence_hop`` gives the seconds between rows of a time sequence (``None`` for tokens
or irregular rows). An empty batch gives ``[]``; the same input gives the same arrays.
The feature store keeps sequences ragged next to pooled vectors
(``extract(..., kind="sequence"|"both")``, ``load_sequences``), and
``emofuse.features.pad_sequences`` batches them with a mask::

    >>> enc = build_encoder("logmel_stats", n_mels=32)
    >>> [s.shape for s in enc.encode_sequence([np.zeros(16000, "float32")])]
    [(101, 32)]
    >>> has_sequence(enc), sequence_dim(enc), enc.sequence_hop
    (True, 32, 0.01)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

from ..errors import UsageError
from ..utils.config import Config, convert_overrides, parse_set_options
from ..utils.registry import Registry

Modality = Literal["text", "voice", "face", "image", "video"]
MODALITIES: tuple[str, ...] = typing.get_args(Modality)

__all__ = [
    "ENCODERS",
    "MODALITIES",
    "Encoder",
    "EncoderConfig",
    "EncoderEntry",
    "SequenceEncoder",
    "build_encoder",
    "config_fingerprint",
    "convert_overrides",
    "encoder_from_spec",
    "encoder_names",
    "encoder_spec",
    "get_entry",
    "has_sequence",
    "parse_set_options",
    "register_encoder",
    "sequence_dim",
]


@dataclass
class EncoderConfig(Config):
    """Base of encoder configs (see :class:`~emofuse.utils.config.Config`)."""

    #: fields that change how features are computed, not what they are (excluded from
    #: :meth:`identity` and therefore from cache keys)
    runtime_fields: ClassVar[tuple[str, ...]] = ("batch_size",)


@runtime_checkable
class Encoder(Protocol):
    """What every registered encoder provides."""

    name: str
    modality: Modality
    config: Any
    dim: int

    def encode(self, batch: list) -> np.ndarray:
        """``(len(batch), dim)`` float32."""
        ...

    def fingerprint(self) -> str:
        """Short hash of the weights and feature-defining config, for cache keys."""
        ...


@runtime_checkable
class SequenceEncoder(Encoder, Protocol):
    """An encoder that also returns the rows it pools (see the module docstring)."""

    def encode_sequence(self, batch: list) -> list[np.ndarray]:
        """One float32 ``(T_i, sequence_dim)`` array per item, ``T_i >= 1``."""
        ...


def has_sequence(encoder: Any) -> bool:
    """Whether ``encoder`` provides ``encode_sequence``."""
    return callable(getattr(encoder, "encode_sequence", None))


def sequence_dim(encoder: Any) -> int:
    """Width of ``encoder``'s sequence rows (``sequence_dim``, else ``dim``)."""
    return int(getattr(encoder, "sequence_dim", None) or encoder.dim)


@dataclass(frozen=True)
class EncoderEntry:
    """A registry row."""

    name: str
    cls: type
    config_cls: type[EncoderConfig]

    @property
    def modality(self) -> str:
        return self.cls.modality


#: name -> encoder class; built-ins are imported only when first used
ENCODERS = Registry(
    "encoder",
    {
        "minilm": "emofuse.encoders.text:MiniLM",
        "logmel_stats": "emofuse.encoders.audio:LogMelStats",
        "tfidf": "emofuse.encoders.tfidf:Tfidf",
        "egemaps": "emofuse.encoders.opensmile:EGeMAPS",
        "compare": "emofuse.encoders.opensmile:ComParE",
        "hf_text": "emofuse.encoders.hf.text:HFText",
        "hf_speech": "emofuse.encoders.hf.speech:HFSpeech",
        "hf_image": "emofuse.encoders.hf.vision:HFImage",
        "hf_video": "emofuse.encoders.hf.vision:HFVideo",
        "clip_zeroshot": "emofuse.encoders.hf.clip:ClipZeroShot",
        "default_face": "emofuse.models.embedded:DefaultFace",
        "default_voice": "emofuse.models.embedded:DefaultVoice",
    },
)


def register_encoder(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: register ``cls(config)`` under ``name`` with its config dataclass.

    Sets ``cls.name`` and ``cls.config_cls``. Re-registering a name replaces it.
    """
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"config_cls for {name!r} must be a dataclass, got {config_cls!r}")

    def decorate(cls: type) -> type:
        modality = getattr(cls, "modality", None)
        if modality not in MODALITIES:
            raise TypeError(f"{cls.__name__}.modality must be one of {MODALITIES}")
        cls.name = name
        cls.config_cls = config_cls
        return ENCODERS.register(name, cls)

    return decorate


def encoder_names(modality: str | None = None) -> list[str]:
    """Registered names (optionally of one modality, which imports them), sorted."""
    names = ENCODERS.names()
    if modality is None:
        return names
    return [n for n in names if get_entry(n).modality == modality]


def get_entry(name: str) -> EncoderEntry:
    cls = ENCODERS.get(name)
    return EncoderEntry(name, cls, cls.config_cls)


def build_encoder(name: str, config: Any = None, /, **overrides: Any) -> Any:
    """Instantiate encoder ``name``.

    ``config``: a config instance or dict (default: the defaults); ``overrides`` replace
    fields and are converted to the field types (``batch_size="8"`` -> ``8``), as given by
    ``--set key=value`` on the command line.
    """
    entry = get_entry(name)
    if config is None:
        base: dict[str, Any] = {}
    elif isinstance(config, entry.config_cls):
        base = dataclasses.asdict(config)
    elif isinstance(config, dict):
        base = dict(config)
    else:
        raise UsageError(f"config for {name!r} must be a {entry.config_cls.__name__} or a dict")
    base.update(overrides)
    cfg = entry.config_cls(**convert_overrides(entry.config_cls, base))
    return entry.cls(cfg)


def encoder_spec(encoder: Any) -> dict[str, Any]:
    """``{"name": ..., "config": {...}}``: plain data that :func:`encoder_from_spec` rebuilds."""
    return {"name": encoder.name, "config": dataclasses.asdict(encoder.config)}


def encoder_from_spec(spec: dict[str, Any]) -> Any:
    if not isinstance(spec, dict) or "name" not in spec:
        raise UsageError(f"an encoder spec needs a 'name' (and optional 'config'): {spec!r}")
    return build_encoder(spec["name"], dict(spec.get("config") or {}))


def hash_files(paths: Iterable[str | Path], head_bytes: int = 1 << 20) -> str:
    """sha256 over each file's name, size and first ``head_bytes`` (fast on GB weights)."""
    h = hashlib.sha256()
    for p in sorted(Path(p) for p in paths):
        h.update(p.name.encode() + b"\0" + str(p.stat().st_size).encode() + b"\0")
        with p.open("rb") as f:
            h.update(f.read(head_bytes))
    return h.hexdigest()


def config_fingerprint(config: Any, *parts: str) -> str:
    """16 hex chars over ``config``'s feature-defining fields and extra ``parts`` (weights)."""
    ident = config.identity() if hasattr(config, "identity") else dataclasses.asdict(config)
    h = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode())
    for part in parts:
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:16]


def as_float32(rows: Any, n: int, dim: int) -> np.ndarray:
    """``rows`` as a C-contiguous float32 ``(n, dim)`` matrix (shape-checked)."""
    x = np.ascontiguousarray(np.asarray(rows, dtype=np.float32).reshape(n, dim))
    return x


def empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)
