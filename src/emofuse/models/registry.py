"""Registry of network architectures, so artefacts rebuild models from name + config.

A checkpoint never stores code or pickles: it names a registered architecture and
its config dataclass (pyannote's task/model split), plus the class's import path so a
third-party architecture loads in a fresh process when its package is trusted. Built-ins
resolve lazily; third-party networks register the same way::

    @register_architecture("my_net")
    class MyNet(torch.nn.Module):
        Config = MyNetConfig           # a dataclass
        def __init__(self, config: MyNetConfig): ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..utils.registry import Registry

#: name -> ``nn.Module`` class with a ``Config`` dataclass
ARCHITECTURES = Registry(
    "architecture",
    {
        "face_cnn": "emofuse.models.face_cnn:FaceCNN",
        "voice_cnn": "emofuse.models.voice_cnn:VoiceCNN",
        "text_head": "emofuse.models.text_head:TextHead",
        "crossmodal_attention": "emofuse.models.crossmodal:CrossModalAttention",
        "biencoder": "emofuse.models.biencoder:BiEncoder",
        "realtime_av": "emofuse.models.realtime:RealtimeAV",
    },
)


def register_architecture(name: str) -> Callable[[type], type]:
    """Class decorator: make an ``nn.Module`` with a ``Config`` dataclass buildable by name."""

    def decorate(cls: type) -> type:
        if not dataclasses.is_dataclass(getattr(cls, "Config", None)):
            raise TypeError(f"{cls.__name__} needs a `Config` dataclass attribute")
        cls.architecture = name
        return ARCHITECTURES.register(name, cls)

    return decorate


def build(name: str, config: dict[str, Any] | None = None):
    """Instantiate the architecture ``name`` from a plain config dict."""
    cls = ARCHITECTURES.get(name)
    return cls(cls.Config(**(config or {})))
