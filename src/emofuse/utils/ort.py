"""ONNX Runtime sessions on the CPU, shared by every layer that runs an ONNX file.

>>> session = make_session("model.onnx", threads=1)      # doctest: +SKIP
>>> session.run(None, {"input": x})[0]                   # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..errors import MissingExtraError

THREADS = min(2, os.cpu_count() or 1)  # small nets: more threads only add contention


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def ort():
    """The ``onnxruntime`` module, or a :class:`MissingExtraError` naming the extra."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError("onnxruntime", "onnx") from None
    return onnxruntime


def make_session(model: str | Path | bytes, threads: int = THREADS):
    """An onnxruntime CPU session over a file path or serialized model bytes."""
    rt = ort()
    opts = rt.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = rt.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = rt.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: no warnings about unused initializers
    source = model if isinstance(model, bytes) else str(model)
    return rt.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])
