"""Registry of network architectures, so artefacts rebuild models from name + config.

A checkpoint never stores code or pickles: it names a registered architecture and
its config dataclass (pyannote's task/model split). Third-party networks register
the same way::

    @register_architecture("my_net")
    class MyNet(torch.nn.Module):
        Config = MyNetConfig           # a dataclass
        def __init__(self, config: MyNetConfig): ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..errors import UsageError

ARCHITECTURES: dict[str, type] = {}


def register_architecture(name: str) -> Callable[[type], type]:
    """Class decorator: make an ``nn.Module`` with a ``Config`` dataclass buildable by name."""

    def decorate(cls: type) -> type:
        if not dataclasses.is_dataclass(getattr(cls, "Config", None)):
            raise TypeError(f"{cls.__name__} needs a `Config` dataclass attribute")
        ARCHITECTURES[name] = cls
        cls.architecture = name
        return cls

    return decorate


def build(name: str, config: dict[str, Any] | None = None):
    """Instantiate the architecture ``name`` from a plain config dict."""
    _import_builtin()
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise UsageError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}") from None
    return cls(cls.Config(**(config or {})))


def _import_builtin() -> None:
    from . import face_cnn, text_head, voice_cnn  # noqa: F401  (registers)
