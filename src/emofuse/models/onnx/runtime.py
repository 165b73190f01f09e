"""ONNX Runtime sessions for the bundled networks (the export lives in :mod:`.export`).

A model folder's ``model.onnx`` runs through onnxruntime with ``backend="onnx"``, or with
``backend="auto"`` when its ``onnx.json`` says onnxruntime was faster and the export
matches the weights (a hash of the safetensors). Preprocessing, test-time augmentation,
chunking and temperature stay shared with the torch path: only the call mapping a batch
to logits changes.

>>> FaceModel.load(backend="auto").backend                             # doctest: +SKIP
'onnx'
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import DataError, MissingExtraError, UsageError
from ..artifact import WEIGHTS_FILE

ONNX_FILE = "model.onnx"
INFO_FILE = "onnx.json"
BACKENDS = ("torch", "onnx", "auto")
THREADS = min(2, os.cpu_count() or 1)  # small nets: more threads only add contention


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    return backend


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError("onnxruntime", "onnx") from None
    return onnxruntime


def _weights_hash(directory: Path) -> str:
    return hashlib.sha256((directory / WEIGHTS_FILE).read_bytes()).hexdigest()


def read_info(directory: str | Path) -> dict[str, Any] | None:
    """The ``onnx.json`` of a model folder (timings and chosen backend), or ``None``."""
    path = Path(directory) / INFO_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def make_session(model: str | Path | bytes, threads: int = THREADS):
    """An onnxruntime CPU session over a file path or serialized model bytes."""
    ort = _ort()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])


def session_for(directory: str | Path, backend: str = "auto"):
    """The onnxruntime session a model folder should run with, or ``None`` for torch.

    ``"onnx"`` insists (a missing or stale ``model.onnx`` is a :class:`DataError`, a
    missing onnxruntime a :class:`MissingExtraError`); ``"auto"`` takes onnxruntime only
    when the file is there, matches the weights, onnxruntime is installed and ``onnx.json``
    records that it was faster.
    """
    directory = Path(directory)
    if check_backend(backend) == "torch":
        return None
    path = directory / ONNX_FILE
    info = read_info(directory)
    fresh = info is not None and info.get("weights_sha256") == _weights_hash(directory)
    if backend == "auto":
        if not (path.is_file() and fresh and onnxruntime_available()):
            return None
        return make_session(path) if info.get("backend") == "onnx" else None
    if not path.is_file():
        raise DataError(
            f"no {ONNX_FILE} in {directory}: run `emofuse export-onnx --model-dir "
            f"{directory.parent}` first (or use backend='torch')"
        )
    if not fresh:
        raise DataError(
            f"{path} does not match {WEIGHTS_FILE} (exported from other weights): "
            f"run `emofuse export-onnx --model-dir {directory.parent}` again"
        )
    return make_session(path)


def run_session(session, *inputs: torch.Tensor) -> torch.Tensor:
    """Feed torch tensors to ``session`` in input order; its first output as a tensor."""
    names = [i.name for i in session.get_inputs()]
    feed = {n: np.ascontiguousarray(t.numpy()) for n, t in zip(names, inputs)}
    return torch.from_numpy(session.run(None, feed)[0])
