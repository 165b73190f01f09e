"""Model artefacts: ``model.safetensors`` (weights) + ``model.json`` (everything else).

The JSON names the architecture and its config, the label list, preprocessing,
training data and validation metrics, so a model is rebuilt without pickle::

    >>> art = load_model("src/emofuse/weights/face")      # doctest: +SKIP
    >>> art.meta.labels[:2]                                 # doctest: +SKIP
    ['neutral', 'happiness']
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import DataError
from ..utils.io import write_atomic
from ..utils.registry import path_of
from .registry import ARCHITECTURES

WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"


@dataclass
class ModelMeta:
    """What travels with the weights."""

    name: str
    modality: str  # text | voice | face
    architecture: str
    config: dict[str, Any]
    labels: list[str]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0
    emofuse_version: str = ""
    #: where the architecture's class lives (``"module:Class"``), for a fresh process
    architecture_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Artifact:
    """A loaded model: the torch module (in eval mode) and its metadata."""

    module: Any
    meta: ModelMeta


def save_model(module, meta: ModelMeta, directory: str | Path) -> Path:
    """Save ``module``'s weights and ``meta`` into ``directory`` (atomically, file by file)."""
    from safetensors.torch import save

    directory = Path(directory)
    meta.emofuse_version = __version__
    meta.architecture = getattr(module, "architecture", meta.architecture)
    meta.architecture_path = path_of(type(module))
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    write_atomic(directory / WEIGHTS_FILE, save(state))
    write_atomic(directory / META_FILE, json.dumps(meta.to_dict(), indent=2).encode())
    return directory


def load_meta(directory: str | Path) -> ModelMeta:
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise DataError(f"not a model folder (no {META_FILE}): {directory}")
    return ModelMeta.from_dict(json.loads(path.read_text()))


def load_model(
    directory: str | Path, architecture: str | None = None, trusted: Iterable[str] = ()
) -> Artifact:
    """Rebuild a model from its folder: architecture from the registry, weights from safetensors.

    With ``architecture``, a folder holding another kind of model is refused. An
    architecture that is not registered in this process is imported from the path its
    ``model.json`` records only if that path's top-level package is in ``trusted``.
    """
    from safetensors.torch import load_file

    meta = load_meta(directory)
    if architecture is not None and meta.architecture != architecture:
        raise DataError(f"{directory} holds a {meta.architecture!r} model, not {architecture!r}")
    cls = ARCHITECTURES.load_path(meta.architecture, meta.architecture_path, trusted)
    module = cls(cls.Config(**(meta.config or {})))
    module.load_state_dict(load_file(str(Path(directory) / WEIGHTS_FILE)))
    module.eval()
    return Artifact(module=module, meta=meta)
