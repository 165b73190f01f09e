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
frames (video).

``fingerprint()`` identifies what defines the features: the weights *and* the
feature-defining config fields (layer, pooling, ...), but not runtime knobs such as
``batch_size`` (listed in ``EncoderConfig.runtime_fields``). A cache key is therefore
``(name, fingerprint(), emofuse version, item content hash)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

from ..errors import UsageError

Modality = Literal["text", "voice", "face", "image", "video"]
MODALITIES: tuple[str, ...] = typing.get_args(Modality)

C = TypeVar("C", bound="EncoderConfig")


@dataclass
class EncoderConfig:
    """Base of encoder configs: a dataclass with a YAML/dict round trip.

    Subclasses are ``@dataclass``es whose fields are plain data (str, int, float,
    bool, None, lists/dicts of those).
    """

    #: fields that change how features are computed, not what they are (excluded from
    #: :meth:`identity` and therefore from cache keys)
    runtime_fields: ClassVar[tuple[str, ...]] = ("batch_size",)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any] | None) -> C:
        """Build from a dict; unknown keys are an error, values are type-converted."""
        return cls(**convert_overrides(cls, dict(data or {})))

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls: type[C], text: str) -> C:
        import yaml

        return cls.from_dict(yaml.safe_load(text) or {})

    def identity(self) -> dict[str, Any]:
        """The feature-defining fields (everything but :attr:`runtime_fields`)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.runtime_fields}


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


@dataclass(frozen=True)
class EncoderEntry:
    """A registry row."""

    name: str
    cls: type
    config_cls: type[EncoderConfig]

    @property
    def modality(self) -> str:
        return self.cls.modality


ENCODERS: dict[str, EncoderEntry] = {}


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
        ENCODERS[name] = EncoderEntry(name, cls, config_cls)
        return cls

    return decorate


def _import_builtin() -> None:
    from . import embedded, hf, opensmile  # noqa: F401  (registers; heavy imports are lazy)


def encoder_names(modality: str | None = None) -> list[str]:
    """Registered names (optionally of one modality), sorted."""
    _import_builtin()
    return sorted(n for n, e in ENCODERS.items() if modality in (None, e.modality))


def get_entry(name: str) -> EncoderEntry:
    _import_builtin()
    try:
        return ENCODERS[name]
    except KeyError:
        known = ", ".join(sorted(ENCODERS))
        raise UsageError(f"unknown encoder {name!r}; known: {known}") from None


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


def parse_set_options(items: Iterable[str]) -> dict[str, str]:
    """``["layer=3", "pooling=cls"]`` -> ``{"layer": "3", "pooling": "cls"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected key=value, got {item!r}")
        out[key.strip()] = value
    return out


# --- type conversion of overrides -------------------------------------------------------

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def convert_overrides(config_cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Check keys against ``config_cls``'s fields and convert values to their types."""
    hints = typing.get_type_hints(config_cls)
    fields = {f.name for f in dataclasses.fields(config_cls) if f.init}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise UsageError(
            f"{config_cls.__name__} has no field(s) {unknown}; fields: {sorted(fields)}"
        )
    out = {}
    for key, value in values.items():
        try:
            out[key] = _convert(value, hints.get(key, Any))
        except (TypeError, ValueError) as e:
            raise UsageError(f"{config_cls.__name__}.{key}: {e}") from None
    return out


def _convert(value: Any, tp: Any) -> Any:
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_none and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg)
            except (TypeError, ValueError) as e:
                errors.append(str(e))
        raise ValueError("; ".join(errors) or f"cannot convert {value!r}")
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"{value!r} is not one of {list(args)}")
    if origin in (list, tuple) or tp in (list, tuple):
        if isinstance(value, str):
            value = _parse_sequence(value)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list, got {value!r}")
        item_tp = args[0] if args else Any
        return [_convert(v, item_tp) for v in value]
    if origin is dict or tp is dict:
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ValueError(f"expected a boolean, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, str):
            value = value.strip()
        return int(value)
    if tp is float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if isinstance(value, (str, int, float, Path)) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _parse_sequence(text: str) -> list[Any]:
    text = text.strip()
    if text.startswith("["):
        import yaml

        return list(yaml.safe_load(text))
    return [t.strip() for t in text.split(",") if t.strip()]


# --- fingerprints ----------------------------------------------------------------------


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
