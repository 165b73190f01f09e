"""Shared base of the bundled networks' wrappers: metadata + a torch module or an ONNX session.

A subclass names its architecture and default folder and adds its own preprocessing (in
numpy); loading, the backend choice (torch or onnxruntime) and the network call are here
once. On the onnxruntime backend the torch module is never built, so torch is not
imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import DataError
from .artifact import META_FILE, ModelMeta, load_meta, load_model
from .onnx.runtime import check_backend, run_session, session_for


class NetworkModel:
    """A trained network and its metadata; ``session`` runs it on onnxruntime instead."""

    #: the registered architecture name (see :data:`.registry.ARCHITECTURES`)
    architecture: ClassVar[str]
    #: the bundled model folder used when ``load`` gets none
    default_dir: ClassVar[Path]
    default_batch_size: ClassVar[int] = 32
    modality: ClassVar[str] = ""

    def __init__(
        self,
        module: Any,
        meta: ModelMeta,
        batch_size: int | None = None,
        session=None,
        directory: str | Path | None = None,
    ):
        self._module = module.eval() if module is not None else None
        self.meta = meta
        self.batch_size = batch_size or self.default_batch_size
        self.session = session  # an onnxruntime session running the network, or None (torch)
        self.directory = None if directory is None else Path(directory)
        if module is None and session is None:
            raise DataError("a network model needs a torch module or an onnxruntime session")

    @classmethod
    def load(
        cls, directory: str | Path | None = None, backend: str = "auto", batch: int | None = None
    ):
        """Load a model folder (default: the bundled one).

        ``backend``: ``"torch"``, ``"onnx"`` (needs ``emofuse export-onnx``) or ``"auto"``
        (onnxruntime where the export measured it at least as fast at ``batch`` items per
        call, see :func:`.onnx.runtime.choose_backend`).
        """
        check_backend(backend)
        directory = Path(directory) if directory is not None else cls.default_dir
        if not (directory / META_FILE).is_file():
            raise DataError(f"no {cls.modality} model in {directory} (missing {META_FILE})")
        session = session_for(directory, backend, batch)
        if session is not None:
            meta = load_meta(directory)
            if meta.architecture != cls.architecture:
                raise DataError(
                    f"{directory} holds a {meta.architecture!r} model, not {cls.architecture!r}"
                )
            return cls(None, meta, session=session, directory=directory)
        art = load_model(directory, architecture=cls.architecture)
        return cls(cls.prepare_module(art.module), art.meta, directory=directory)

    @classmethod
    def prepare_module(cls, module: Any) -> Any:
        """Inference-time rewrite of a freshly loaded module (default: none)."""
        return module

    @property
    def module(self) -> Any:
        """The torch module (built from the weights on first use when running on ONNX)."""
        if self._module is None:
            if self.directory is None:
                raise DataError("this model was built from an ONNX session only")
            art = load_model(self.directory, architecture=self.architecture)
            self._module = self.prepare_module(art.module).eval()
        return self._module

    @property
    def backend(self) -> str:
        """``"onnx"`` or ``"torch"``: what runs the network."""
        return "torch" if self.session is None else "onnx"

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    def _network(self, *inputs: np.ndarray) -> np.ndarray:
        """Network inputs (numpy arrays) -> float32 logits on the chosen backend."""
        if self.session is not None:
            return run_session(self.session, *inputs)
        import torch

        with torch.inference_mode():
            return self._torch_call(*(torch.from_numpy(np.ascontiguousarray(x)) for x in inputs))

    def _torch_call(self, *inputs: Any) -> np.ndarray:
        """The torch module on tensors -> numpy logits (subclasses may set a memory layout)."""
        return self.module(*inputs).numpy()
