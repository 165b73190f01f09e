"""Export MiniLM (all-MiniLM-L6-v2) to ONNX for the torch-free text path, checked and timed.

The graph takes ``input_ids, attention_mask, token_type_ids`` and returns the sentence
embedding (mean pooling over the mask, L2 normalised), like sentence-transformers. It is
written with its weights as external data (so onnxruntime maps them instead of copying)
into the user cache folder keyed by the weights (:func:`..encoders.minilm_onnx.export_dir`),
never into the package: the file is ~90 MB.

>>> export_minilm()                                                    # doctest: +SKIP
[PosixPath('/root/.cache/emofuse/minilm/3f0c.../model.onnx'), ...]
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...encoders.minilm_onnx import (
    INFO_FILE,
    MAX_TOKENS,
    ONNX_FILE,
    MiniLMOnnx,
    export_dir,
    weights_identity,
)
from ...encoders.text import MiniLMEncoder, default_model_path
from ...errors import DataError, MissingExtraError
from ...utils.io import write_atomic
from ...utils.ort import ort

TOLERANCE = 1e-4  # max |embedding difference| (unit vectors) against sentence-transformers
OPSET = 17
#: parity texts: short, punctuated, non-ASCII, mis-encoded, and longer than MAX_TOKENS
CHECK_TEXTS = [
    "hi",
    "I can't believe we actually won, this is the best day ever!",
    "Leave me alone.",
    "Oh... really?? 😂😂 café naïve – “quotes”",
    "I\x92m fine",
    " ".join(["a very long sentence that keeps going"] * 60),
    "What?",
]


class _Pooled(torch.nn.Module):
    """BERT -> masked mean pooling -> L2 normalisation (sentence-transformers' pipeline)."""

    def __init__(self, bert: torch.nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(e, p=2.0, dim=1)


def _to_onnx(module: torch.nn.Module) -> bytes:
    ids = torch.tensor([[101, 7592, 2088, 999, 102], [101, 7592, 102, 0, 0]])
    mask = (ids > 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"embedding": {0: "batch"}}
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings from transformers' shape checks
        torch.onnx.export(
            module,
            (ids, mask, torch.zeros_like(ids)),
            buf,
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    return buf.getvalue()


def _save_external(data: bytes, folder: Path) -> None:
    """The model with its weights in ``model.onnx.data`` beside it (mapped, not copied)."""
    import onnx

    model = onnx.load_from_string(data)
    constants_to_initializers(model.graph)
    onnx.save_model(
        model,
        str(folder / ONNX_FILE),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=ONNX_FILE + ".data",
        size_threshold=1024,
    )


def constants_to_initializers(graph: Any, min_bytes: int = 1024) -> int:
    """Turn ``Constant`` nodes of at least ``min_bytes`` into initializers; how many.

    Frozen weights held as buffers (the fine-tuned network's base) are exported as
    ``Constant`` nodes, which ``onnx.save_model`` keeps inside the graph file: onnxruntime
    then parses them into memory (~70 MB more) instead of mapping them from the data file.
    """
    from onnx import TensorProto, numpy_helper

    keep, moved = [], 0
    for node in graph.node:
        value = None
        if node.op_type == "Constant" and len(node.output) == 1:
            value = next((a.t for a in node.attribute if a.name == "value"), None)
        if value is not None and numpy_helper.to_array(value).nbytes >= min_bytes:
            tensor = TensorProto()
            tensor.CopyFrom(value)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
            moved += 1
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    return moved


def _fastest_ms(call, repeats: int = 7) -> float:
    """The fastest of ``repeats`` calls after a warm-up (others' load only adds time)."""
    call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return round(min(times) * 1000, 3)


def text_timings(
    torch_call: Callable[[list[str]], Any], onnx_call: Callable[[list[str]], Any], text: str
) -> dict[str, dict[str, float]]:
    """Fastest ms of one and of 64 copies of ``text`` through each backend's call."""
    many = [text] * 64
    return {
        f"{n} text{'s' * (n > 1)}": {
            "batch": n,
            "torch_ms": _fastest_ms(lambda n=n: torch_call(many[:n])),
            "onnx_ms": _fastest_ms(lambda n=n: onnx_call(many[:n])),
        }
        for n in (1, 64)
    }


def export_minilm(
    model_path: str | Path | None = None, root: str | Path | None = None
) -> list[Path]:
    """Export MiniLM to ``export_dir(model_path, root)``; the files written.

    The export is checked against sentence-transformers on :data:`CHECK_TEXTS`, one by one
    and as one padded batch (a difference of :data:`TOLERANCE` or more raises
    :class:`DataError` and leaves nothing behind), then both are timed at 1 and 64 texts.
    The folder appears atomically (:func:`publish`), with ``onnx.json`` recording the
    weights' identity and SHA-256, the difference and the timings.
    """
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise MissingExtraError("onnx", "onnx") from None
    path = Path(model_path) if model_path else default_model_path()
    ident = weights_identity(path)
    torch_enc = MiniLMEncoder(str(path))
    st = torch_enc._model()
    if int(st.max_seq_length) != MAX_TOKENS:
        raise DataError(f"{path}: max_seq_length {st.max_seq_length}, expected {MAX_TOKENS}")
    data = _to_onnx(_Pooled(st[0].auto_model.eval()))

    def check(tmp: Path) -> dict[str, Any]:
        onnx_enc = MiniLMOnnx(path, tmp)
        want = torch_enc.encode(CHECK_TEXTS)
        batched = onnx_enc.encode(CHECK_TEXTS)
        single = np.concatenate([onnx_enc.encode([t]) for t in CHECK_TEXTS])
        diff = float(max(np.abs(want - batched).max(), np.abs(want - single).max()))
        if not diff < TOLERANCE:
            raise DataError(
                f"ONNX export of MiniLM disagrees with sentence-transformers: max |diff| "
                f"{diff:.2e} >= {TOLERANCE:.0e}; nothing written"
            )
        timings = text_timings(torch_enc.encode, onnx_enc.encode, CHECK_TEXTS[1])
        return {
            "model": "text (MiniLM)",
            "onnx_file": ONNX_FILE,
            "weights": ident,
            "weights_sha256": hashlib.sha256(Path(ident["path"]).read_bytes()).hexdigest(),
            "opset": OPSET,
            "torch": torch.__version__,
            "onnxruntime": ort().__version__,
            "max_abs_diff": diff,
            "timings": timings,
            "how": "fastest wall time of encode() (tokenising included), 7 runs after a warm-up",
        }

    return publish(export_dir(path, root), data, check)


def publish(final: Path, data: bytes, check: Callable[[Path], dict[str, Any]]) -> list[Path]:
    """Write the ONNX ``data`` (weights as external data) into a temporary folder beside
    ``final``, run ``check(folder)`` on it (it returns the ``onnx.json`` record, or raises
    and nothing is left behind), then move the folder into place atomically; the files."""
    tmp = final.parent / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _save_external(data, tmp)
        del data
        info = check(tmp)
        write_atomic(tmp / INFO_FILE, (json.dumps(info, indent=2) + "\n").encode())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [final / ONNX_FILE, final / (ONNX_FILE + ".data"), final / INFO_FILE]
