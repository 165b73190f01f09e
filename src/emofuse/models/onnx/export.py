"""Export the face, voice and audio-visual networks (and MiniLM) to ONNX, check, time them.

:func:`export_onnx` writes ``face/model.onnx``, ``voice/model.onnx`` (and ``av/model.onnx``
for a real-time audio-visual model) next to their safetensors, checks them against torch
(max abs logit difference below :data:`TOLERANCE`), times both runtimes at the batch sizes
the pipeline uses and records the timings (with their batch sizes) in ``onnx.json``, which
:mod:`.runtime` reads to pick a backend per batch size. The text model's transformer
(:func:`.finetuned_export.export_text`) goes to the user cache instead (it is ~90 MB).

>>> export_onnx("src/emofuse/weights")                                 # doctest: +SKIP
[PosixPath('src/emofuse/weights/face/model.onnx'), ...]
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import DataError, MissingExtraError
from ...utils.io import write_atomic
from ..artifact import WEIGHTS_FILE, load_meta
from .runtime import (
    INFO_FILE,
    ONNX_FILE,
    THREADS,
    _weights_hash,
    choose_backend,
    make_session,
    ort,
    run_session,
)

TOLERANCE = 1e-4
OPSET = 17
BENCH_SECONDS = 1.0  # time budget per backend and benchmark case
#: batch sizes timed: one item (the live server) and what ``analyze`` sends per call
FACE_BATCHES = (1, 8, 32)
VOICE_BATCHES = (1, 16)


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
            got = run_session(session, *args)
            worst = max(worst, float(np.abs(want - got).max()))
    if not worst < TOLERANCE:
        raise DataError(
            f"ONNX export of {where} disagrees with torch: max |logit diff| {worst:.2e} "
            f">= {TOLERANCE:.0e}; nothing written"
        )
    return worst


def _time_pair(torch_call: Callable[[], object], onnx_call: Callable[[], object]):
    """Fastest ms of each call, timed in alternating blocks (torch, onnx, torch, onnx).

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
    # the fastest call: on a shared machine the other processes only ever add time
    return tuple(round(min(t) * 1000, 3) for t in times)


def _benchmark(
    torch_fn: Callable, session, cases: dict[str, tuple[int, tuple[np.ndarray, ...]]]
) -> dict[str, Any]:
    """Time ``torch_fn`` and ``session`` on each ``name -> (batch size, inputs)`` case."""
    timings = {}
    for name, (batch, args) in cases.items():
        torch_ms, onnx_ms = _time_pair(
            lambda a=args: torch_fn(*a), lambda a=args: run_session(session, *a)
        )
        timings[name] = {"batch": batch, "torch_ms": torch_ms, "onnx_ms": onnx_ms}
    ratios = [t["torch_ms"] / t["onnx_ms"] for t in timings.values()]
    speedup = float(np.exp(np.mean(np.log(ratios))))  # geometric mean over the cases
    info = {"timings": timings, "speedup": round(speedup, 3)}
    info["backend"] = choose_backend(info)  # over all cases; the runtime picks per batch
    info["backend_by_batch"] = {str(b): choose_backend(info, b) for b, _ in cases.values()}
    return info


def _export_face(folder: Path) -> tuple[bytes, dict[str, Any]]:
    from ..face import FaceModel, normalise_crops

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
    for n in FACE_BATCHES:
        crops = rng.integers(0, 256, (n * mult, size, size), dtype=np.uint8)
        name = f"{n} crop{'s' * (n > 1)}" + (" + flips" if mult == 2 else "")
        bench[name] = (n, (normalise_crops(crops, p["mean"], p["std"]),))
    return data, {"max_abs_diff": diff, **_benchmark(model._network, session, bench)}


def _export_voice(folder: Path) -> tuple[bytes, dict[str, Any]]:
    from ..voice import VoiceModel, pad_features

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
    rng = np.random.default_rng(0)
    bench = {}
    for n in VOICE_BATCHES:
        waves = rng.normal(0, 0.1, (n, 4 * model.sample_rate)).astype(np.float32)
        x = pad_features([model.features(w) for w in waves], net.reduction)
        bench[f"{n} x 4 s clip{'s' * (n > 1)}"] = (n, x)
    return data, {"max_abs_diff": diff, **_benchmark(model._network, session, bench)}


def _export_av(folder: Path) -> tuple[bytes, dict[str, Any]]:
    from ...data.clips import Clip
    from ..realtime import INPUT_NAMES, RealtimeModel, example_inputs

    model = RealtimeModel.load(folder, backend="torch")
    net, config = model.module, model.module.config
    time_axes = {n: {0: "batch", 1: "frames"} for n in INPUT_NAMES[:4]}
    axes = {
        **time_axes,
        "mel": {0: "batch", 3: "mel_frames"},
        "mel_valid": {0: "batch", 1: "mel_frames"},
        "logits": {0: "batch"},
    }
    data = _to_onnx(net, example_inputs(config, 2, 6, 160), INPUT_NAMES, axes)
    session = make_session(data)
    masked = list(example_inputs(config, 3, 5, 203, seed=3))
    masked[1] = masked[1].clone()
    masked[1][0] = 0  # no face in the first clip
    masked[5] = masked[5].clone()
    masked[5][1, 90:] = 0  # a shorter sound in the second
    masked[5][2] = 0  # and none in the third
    cases = [example_inputs(config, 1, 8, 401, seed=1), example_inputs(config, 4, 3, 77, seed=2)]
    diff = _verify(net, session, [*cases, tuple(masked)], folder)
    spec, rng = model.clip_spec, np.random.default_rng(0)
    clip = Clip(
        rng.integers(0, 256, (spec.frames, spec.face_size, spec.face_size), dtype=np.uint8),
        np.ones(spec.frames, bool),
        rng.integers(0, 256, (spec.frames, *spec.frame_shape), dtype=np.uint8),
        rng.normal(0, 0.1, int(spec.max_seconds * 16000)).astype(np.float32),
    )
    name = f"1 clip ({spec.frames} frames + {spec.max_seconds:g} s sound)"
    bench = _benchmark(model._network, session, {name: (1, model.inputs([clip]))})
    return data, {"max_abs_diff": diff, **bench}


EXPORTERS = {"face": _export_face, "voice": _export_voice, "av": _export_av}


def export_onnx(
    model_dir: str | Path,
    out_dir: str | Path | None = None,
    modalities: tuple[str, ...] = tuple(EXPORTERS),
) -> list[Path]:
    """Export the face, voice and audio-visual networks of ``model_dir`` to ONNX; the files.

    ``model_dir`` holds ``face/``, ``voice/`` and/or ``av/`` (a real-time audio-visual
    model) folders (like ``emofuse/weights``). Each network is checked against torch on
    random inputs (a difference of :data:`TOLERANCE` or more raises :class:`DataError` and
    writes nothing), timed against torch, and saved atomically as ``<modality>/model.onnx``
    plus ``<modality>/onnx.json`` (timings, speed-up, chosen backend, weights hash) under
    ``out_dir`` (default: ``model_dir``, i.e. next to the safetensors, where the models look
    for them). ``modalities`` picks a subset. ``model_dir`` may also be one face, voice or
    av model's own folder (e.g. ``RUN_DIR/models/realtime__net``): its export is written
    into it (or into ``out_dir``). MiniLM (the text encoder) has its own export,
    :func:`.text_export.export_minilm`.
    """
    model_dir = Path(model_dir)
    out_root = Path(out_dir) if out_dir is not None else model_dir
    folders = {
        m: model_dir / m
        for m in EXPORTERS
        if m in modalities and (model_dir / m / WEIGHTS_FILE).is_file()
    }
    targets = {m: out_root / m for m in folders}
    if not folders and (model_dir / WEIGHTS_FILE).is_file():  # one model's own folder
        modality = load_meta(model_dir).modality
        if modality in EXPORTERS and modality in modalities:
            folders, targets = {modality: model_dir}, {modality: out_root}
    if not folders:
        raise DataError(f"no face/ or voice/ model folder (nor av/) in {model_dir}")
    rt = ort()
    written = []
    for modality, folder in folders.items():
        data, report = EXPORTERS[modality](folder)
        info = {
            "onnx_file": ONNX_FILE,
            "weights_sha256": _weights_hash(folder),
            "opset": OPSET,
            "torch": torch.__version__,
            "onnxruntime": rt.__version__,
            "threads": {"torch": torch.get_num_threads(), "onnxruntime": THREADS},
            "how": "fastest wall time of the network call (features excluded), timed in "
            "alternating warmed-up blocks torch, onnx, torch, onnx",
            **report,
        }
        target = targets[modality]
        write_atomic(target / ONNX_FILE, data)
        write_atomic(target / INFO_FILE, (json.dumps(info, indent=2) + "\n").encode())
        written += [target / ONNX_FILE, target / INFO_FILE]
    return written
