"""ONNX Runtime fast path for the face and voice networks.

:func:`export_onnx` writes ``face/model.onnx`` and ``voice/model.onnx`` next to their
safetensors, checks them against torch (max abs logit difference below
:data:`TOLERANCE`), times both runtimes on representative batches and records the
timings and the faster backend in ``onnx.json``. :class:`~emofuse.models.face_cnn.FaceModel`
and :class:`~emofuse.models.voice_cnn.VoiceModel` then run their network through
onnxruntime with ``backend="onnx"``, or with ``backend="auto"`` when that JSON says
onnxruntime was faster. Preprocessing, test-time augmentation, chunking and temperature
are shared with the torch path: only the call mapping a batch to logits changes.

>>> export_onnx("src/emofuse/weights")                                 # doctest: +SKIP
[PosixPath('src/emofuse/weights/face/model.onnx'), ...]
>>> FaceModel.load(backend="auto").backend                             # doctest: +SKIP
'onnx'
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError, MissingExtraError, UsageError
from .artifact import WEIGHTS_FILE, write_atomic

ONNX_FILE = "model.onnx"
INFO_FILE = "onnx.json"
BACKENDS = ("torch", "onnx", "auto")
TOLERANCE = 1e-4
OPSET = 17
THREADS = min(2, os.cpu_count() or 1)  # small nets: more threads only add contention
BENCH_SECONDS = 1.0  # time budget per backend and benchmark case


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


# -- export -----------------------------------------------------------------------------------


def _to_onnx(module: torch.nn.Module, args: tuple, names: list[str], axes: dict) -> bytes:
    import warnings

    if importlib.util.find_spec("onnx") is None:
        raise MissingExtraError("onnx", "onnx")
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about the shape checks in forward()
        torch.onnx.export(
            module,
            args,
            buf,
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    return buf.getvalue()


def _verify(module, session, cases: list[tuple[torch.Tensor, ...]], where: Path) -> float:
    worst = 0.0
    with torch.inference_mode():
        for args in cases:
            want = module(*args).numpy()
            got = run_session(session, *args).numpy()
            worst = max(worst, float(np.abs(want - got).max()))
    if not worst < TOLERANCE:
        raise DataError(
            f"ONNX export of {where} disagrees with torch: max |logit diff| {worst:.2e} "
            f">= {TOLERANCE:.0e}; nothing written"
        )
    return worst


def _time_pair(torch_call: Callable[[], object], onnx_call: Callable[[], object]):
    """Median ms of each call, timed in alternating blocks (torch, onnx, torch, onnx).

    Blocks rather than call-by-call interleaving: each runtime's worker threads spin
    for a while after a call and would slow the other one; each block warms up first.
    Two rounds spread load changes on a shared machine over both runtimes.
    """
    times: tuple[list[float], list[float]] = ([], [])
    with torch.inference_mode():
        for _ in range(2):
            for call, acc in zip((torch_call, onnx_call), times):
                for _ in range(3):  # warm up (allocators, lazy init, thread pools)
                    call()
                start, n = time.perf_counter(), len(acc)
                while len(acc) - n < 3 or (
                    len(acc) - n < 25 and time.perf_counter() - start < BENCH_SECONDS / 2
                ):
                    t0 = time.perf_counter()
                    call()
                    acc.append(time.perf_counter() - t0)
    return tuple(round(statistics.median(t) * 1000, 3) for t in times)


def _benchmark(
    torch_fn: Callable, session, cases: dict[str, tuple[torch.Tensor, ...]]
) -> dict[str, Any]:
    timings = {}
    for name, args in cases.items():
        torch_ms, onnx_ms = _time_pair(
            lambda a=args: torch_fn(*a), lambda a=args: run_session(session, *a)
        )
        timings[name] = {"torch_ms": torch_ms, "onnx_ms": onnx_ms}
    ratios = [t["torch_ms"] / t["onnx_ms"] for t in timings.values()]
    speedup = float(np.exp(np.mean(np.log(ratios))))  # geometric mean over the cases
    return {
        "timings": timings,
        "speedup": round(speedup, 3),
        "backend": "onnx" if speedup > 1.0 else "torch",
    }


def _export_face(folder: Path) -> tuple[bytes, dict[str, Any]]:
    from .face_cnn import FaceModel, normalise

    model = FaceModel.load(folder, backend="torch")
    # a copy: ``.to`` works in place, and torch is timed in its own (channels-last) layout
    net = copy.deepcopy(model.module).to(memory_format=torch.contiguous_format)
    size = model.size
    data = _to_onnx(
        net,
        (torch.randn(2, 1, size, size),),
        ["input"],
        {"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    session = make_session(data)
    g = torch.Generator().manual_seed(0)
    cases = [(torch.randn(n, 1, size, size, generator=g),) for n in (1, 5, 64)]
    diff = _verify(net, session, cases, folder)
    # representative batches as FaceModel sends them (flip TTA doubles the batch)
    p, mult = model.meta.preprocessing, 2 if model.meta.preprocessing.get("tta_flip") else 1
    rng = np.random.default_rng(0)
    bench = {}
    for n in (1, 32):
        crops = rng.integers(0, 256, (n * mult, size, size), dtype=np.uint8)
        x = normalise(crops, p["mean"], p["std"])
        name = f"{n} crop{'s' * (n > 1)}" + (" + flips" if mult == 2 else "")
        bench[name] = (x.contiguous(memory_format=torch.channels_last),)
    return data, {"max_abs_diff": diff, **_benchmark(model._network, session, bench)}


def _export_voice(folder: Path) -> tuple[bytes, dict[str, Any]]:
    from .voice_cnn import VoiceModel, pad_batch

    model = VoiceModel.load(folder, backend="torch")
    net, mels = model.module, int(model.meta.preprocessing["n_mels"])
    g = torch.Generator().manual_seed(0)
    data = _to_onnx(
        net,
        (torch.randn(2, 1, mels, 160, generator=g), torch.tensor([160, 100])),
        ["input", "lengths"],
        {"input": {0: "batch", 3: "frames"}, "lengths": {0: "batch"}, "logits": {0: "batch"}},
    )
    session = make_session(data)
    cases = [
        (torch.randn(1, 1, mels, 401, generator=g), torch.tensor([401])),
        (torch.randn(3, 1, mels, 77, generator=g), torch.tensor([77, 50, 16])),
        (torch.randn(2, 1, mels, 250, generator=g), torch.tensor([250, 250])),
    ]
    diff = _verify(net, session, cases, folder)
    wave = np.random.default_rng(0).normal(0, 0.1, 4 * model.sample_rate).astype(np.float32)
    x, lengths = pad_batch([model.features(wave)], net.reduction)
    bench = _benchmark(model._network, session, {"4 s clip": (x, lengths)})
    return data, {"max_abs_diff": diff, **bench}


EXPORTERS = {"face": _export_face, "voice": _export_voice}


def export_onnx(model_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Export the face and voice networks of ``model_dir`` to ONNX; the files written.

    ``model_dir`` holds ``face/`` and/or ``voice/`` model folders (like
    ``emofuse/weights``). Each network is checked against torch on random inputs (a
    difference of :data:`TOLERANCE` or more raises :class:`DataError` and writes nothing),
    timed against torch, and saved atomically as ``<modality>/model.onnx`` plus
    ``<modality>/onnx.json`` (timings, speed-up, chosen backend, weights hash) under
    ``out_dir`` (default: ``model_dir``, i.e. next to the safetensors, where the models
    look for them). The text model stays on torch.
    """
    model_dir = Path(model_dir)
    out_root = Path(out_dir) if out_dir is not None else model_dir
    folders = {m: model_dir / m for m in EXPORTERS if (model_dir / m / WEIGHTS_FILE).is_file()}
    if not folders:
        raise DataError(f"no face/ or voice/ model folder in {model_dir}")
    ort = _ort()
    written = []
    for modality, folder in folders.items():
        data, report = EXPORTERS[modality](folder)
        info = {
            "onnx_file": ONNX_FILE,
            "weights_sha256": _weights_hash(folder),
            "opset": OPSET,
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
            "threads": {"torch": torch.get_num_threads(), "onnxruntime": THREADS},
            "how": "median wall time of the network call (features excluded), timed in "
            "alternating warmed-up blocks torch, onnx, torch, onnx",
            **report,
        }
        target = out_root / modality
        write_atomic(target / ONNX_FILE, data)
        write_atomic(target / INFO_FILE, (json.dumps(info, indent=2) + "\n").encode())
        written += [target / ONNX_FILE, target / INFO_FILE]
    return written
