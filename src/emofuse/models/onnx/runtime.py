"""ONNX Runtime sessions for the bundled networks (the export lives in :mod:`.export`).

A model folder's ``model.onnx`` runs through onnxruntime with ``backend="onnx"``, or with
``backend="auto"`` when it matches the weights (a hash of the safetensors) and its
``onnx.json`` says onnxruntime was at least as fast at the batch size the caller uses
(:func:`choose_backend`). Preprocessing, test-time augmentation, chunking and temperature
stay shared with the torch path: only the call mapping a batch to logits changes. Nothing
here imports torch.

>>> FaceModel.load(backend="auto").backend                             # doctest: +SKIP
'onnx'
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError, UsageError
from ...utils.ort import THREADS, make_session, onnxruntime_available, ort
from ..artifact import WEIGHTS_FILE

ONNX_FILE = "model.onnx"
INFO_FILE = "onnx.json"
BACKENDS = ("torch", "onnx", "auto")
#: ``auto`` keeps onnxruntime unless torch is faster by more than this factor: onnxruntime
#: needs no torch import (~1.5 s, ~220 MiB), so a tie goes to it
TIE = 1.10

__all__ = [
    "BACKENDS",
    "INFO_FILE",
    "ONNX_FILE",
    "THREADS",
    "check_backend",
    "choose_backend",
    "make_session",
    "onnxruntime_available",
    "ort",
    "read_info",
    "run_session",
    "session_for",
]


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    return backend


def _weights_hash(directory: Path) -> str:
    return hashlib.sha256((directory / WEIGHTS_FILE).read_bytes()).hexdigest()


def read_info(directory: str | Path) -> dict[str, Any] | None:
    """The ``onnx.json`` of a model folder (timings and chosen backend), or ``None``."""
    path = Path(directory) / INFO_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def choose_backend(info: dict[str, Any], batch: int | None = None) -> str:
    """``"onnx"`` or ``"torch"`` from the export's timings at the batch nearest ``batch``.

    Timings are recorded per case with its batch size (``{"batch": n, "torch_ms": ...,
    "onnx_ms": ...}``); ``batch=None`` weighs every case equally (geometric mean). Older
    files without batch sizes fall back to their recorded ``backend``.
    """
    cases = [t for t in (info.get("timings") or {}).values() if "batch" in t]
    if not cases:
        return str(info.get("backend", "torch"))
    if batch is not None:
        nearest = min(abs(np.log(t["batch"] / batch)) for t in cases)
        cases = [t for t in cases if abs(np.log(t["batch"] / batch)) == nearest]
    ratio = float(np.exp(np.mean([np.log(t["onnx_ms"] / t["torch_ms"]) for t in cases])))
    return "onnx" if ratio <= TIE else "torch"


def session_for(directory: str | Path, backend: str = "auto", batch: int | None = None):
    """The onnxruntime session a model folder should run with, or ``None`` for torch.

    ``"onnx"`` insists (a missing or stale ``model.onnx`` is a :class:`DataError`, a
    missing onnxruntime a :class:`MissingExtraError`); ``"auto"`` takes onnxruntime only
    when the file is there, matches the weights, onnxruntime is installed and the timings
    at ``batch`` favour it (:func:`choose_backend`).
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
        return make_session(path) if choose_backend(info, batch) == "onnx" else None
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


def run_session(session, *inputs: Any) -> np.ndarray:
    """Feed arrays (or CPU torch tensors) to ``session`` in input order; its first output."""
    names = [i.name for i in session.get_inputs()]
    feed = {n: np.ascontiguousarray(np.asarray(t)) for n, t in zip(names, inputs)}
    return session.run(None, feed)[0]
