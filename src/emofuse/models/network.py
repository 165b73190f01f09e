"""Shared base of the bundled networks' wrappers: module + metadata + optional ONNX session.

A subclass names its architecture and default folder and adds its own preprocessing;
loading, the backend choice (torch or onnxruntime) and the network call are here once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ..errors import DataError
from .artifact import META_FILE, ModelMeta, load_model
from .onnx.runtime import check_backend, run_session, session_for


class NetworkModel:
    """A trained network and its metadata; ``session`` runs it on onnxruntime instead."""

    #: the registered ``nn.Module`` class (with its ``architecture`` name)
    network_cls: ClassVar[type]
    #: the bundled model folder used when ``load`` gets none
    default_dir: ClassVar[Path]
    default_batch_size: ClassVar[int] = 32
    modality: ClassVar[str] = ""

    def __init__(self, module: Any, meta: ModelMeta, batch_size: int | None = None, session=None):
        self.module = module.eval()
        self.meta = meta
        self.batch_size = batch_size or self.default_batch_size
        self.session = session  # an onnxruntime session running ``module``, or None (torch)

    @classmethod
    def load(cls, directory: str | Path | None = None, backend: str = "auto"):
        """Load a model folder (default: the bundled one).

        ``backend``: ``"torch"``, ``"onnx"`` (needs ``emofuse export-onnx``) or ``"auto"``
        (onnxruntime where the export measured it faster); see :mod:`.onnx.runtime`.
        """
        check_backend(backend)
        directory = Path(directory) if directory is not None else cls.default_dir
        if not (directory / META_FILE).is_file():
            raise DataError(f"no {cls.modality} model in {directory} (missing {META_FILE})")
        art = load_model(directory, architecture=cls.network_cls.architecture)
        module = cls.prepare_module(art.module)
        return cls(module, art.meta, session=session_for(directory, backend))

    @classmethod
    def prepare_module(cls, module: Any) -> Any:
        """Inference-time rewrite of a freshly loaded module (default: none)."""
        return module

    @property
    def backend(self) -> str:
        """``"onnx"`` or ``"torch"``: what runs the network."""
        return "torch" if self.session is None else "onnx"

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    def _network(self, *inputs: Any) -> Any:
        """Network inputs (torch tensors) -> logits on the chosen backend."""
        if self.session is None:
            return self.module(*inputs)
        return run_session(self.session, *inputs)
