"""Config dataclasses with a dict/YAML round trip and typed overrides (lhotse style).

>>> from dataclasses import dataclass
>>> @dataclass
... class C(Config):
...     n: int = 1
...     name: str = "a"
>>> C.from_dict({"n": "3"})
C(n=3, name='a')
>>> C.from_yaml(C(n=2).to_yaml()) == C(n=2)
True
>>> parse_set_options(["n=4"])
{'n': '4'}
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from ..errors import UsageError

C = TypeVar("C", bound="Config")


@dataclass
class Config:
    """Base of config dataclasses: a dict/YAML round trip with type-converted values.

    Subclasses are ``@dataclass``es whose fields are plain data (str, int, float,
    bool, None, lists/dicts of those).
    """

    #: fields that change how results are computed, not what they are (excluded from
    #: :meth:`identity` and therefore from cache keys)
    runtime_fields: ClassVar[tuple[str, ...]] = ()

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


def parse_set_options(items: Iterable[str]) -> dict[str, str]:
    """``["layer=3", "pooling=cls"]`` -> ``{"layer": "3", "pooling": "cls"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected key=value, got {item!r}")
        out[key.strip()] = value
    return out


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


def convert_value(value: Any, tp: Any) -> Any:
    """``value`` converted to the type annotation ``tp`` (``"3"`` -> ``3`` for ``int``);
    raises ``ValueError``/``TypeError`` when it does not fit."""
    return _convert(value, tp)


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
