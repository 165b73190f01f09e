"""The extraction worker: item refs in, pooled vectors and/or sequences (and errors) out.

A worker is built from plain data (:func:`worker_spec`): the encoder's registered name
and config (never a pickled encoder object), the input options and the kinds to compute.
Its results are plain data and arrays, so any engine of :mod:`.engines` can carry them.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import numpy as np

from ..errors import EmofuseError
from .engines import WorkerSpec
from .inputs import InputOptions, ItemRef, load_input


def encoder_spec(encoder: Any) -> dict[str, Any]:
    """Plain data a worker rebuilds the encoder from (the module registers it)."""
    cfg = encoder.config
    config = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)
    return {"name": encoder.name, "config": config, "module": type(encoder).__module__}


def build_from_spec(spec: dict[str, Any]) -> Any:
    from ..encoders.base import ENCODERS, build_encoder

    if spec["name"] not in ENCODERS and spec.get("module"):
        importlib.import_module(spec["module"])  # third-party/test encoders register here
    return build_encoder(spec["name"], **spec["config"])


def worker_spec(encoder: Any, options: InputOptions, kinds: tuple[str, ...]) -> WorkerSpec:
    kwargs = {
        "encoder": encoder_spec(encoder),
        "options": dataclasses.asdict(options),
        "kinds": list(kinds),
    }
    return WorkerSpec(f"{__name__}:EncodeWorker", kwargs)


def message(e: Exception) -> str:
    return str(e) if isinstance(e, EmofuseError) else f"{type(e).__name__}: {e}"


class EncodeWorker:
    """``worker(refs) -> {"x", "seq", "offsets", "errors"}`` for a batch of item refs.

    ``x``: ``(n_ok, dim)`` pooled vectors (or None), ``seq``/``offsets``: the ok items'
    sequences concatenated with ``n_ok + 1`` offsets (or None), ``errors``:
    ``{position: message}``; ok items are the positions without an error, in order.
    """

    def __init__(
        self,
        encoder: Any = None,
        options: dict[str, Any] | None = None,
        kinds: list[str] = ("pooled",),  # type: ignore[assignment]
        *,
        built: Any = None,
    ):
        self.encoder = built if built is not None else build_from_spec(encoder)
        self.options = InputOptions(**(options or {}))
        self.kinds = tuple(kinds)

    def __call__(self, refs: list[dict[str, Any]]) -> dict[str, Any]:
        enc, errors = self.encoder, {}
        inputs, ok = [], []
        for i, ref in enumerate(refs):
            try:
                inputs.append(load_input(enc.modality, ItemRef(**ref), self.options))
                ok.append(i)
            except Exception as e:  # an unreadable item is recorded, the batch goes on
                errors[i] = message(e)
        x, seqs = self._encode(inputs, ok, errors)
        keep = [k for k, i in enumerate(ok) if i not in errors]  # encoding may fail too
        out: dict[str, Any] = {"x": None, "seq": None, "offsets": None}
        if keep and x is not None:
            out["x"] = np.ascontiguousarray(x[keep], dtype=np.float32)
        if keep and seqs is not None:
            from .store import ragged

            out["seq"], out["offsets"] = ragged([seqs[k] for k in keep], len(keep))
        out["errors"] = {str(i): m for i, m in errors.items()}
        return out

    def _encode(self, inputs: list, ok: list[int], errors: dict[int, str]) -> tuple[Any, Any]:
        """Pooled ``(len(inputs), dim)`` and/or sequences for ``inputs``; a failing item
        gets an error (found by encoding one item at a time) and a placeholder row."""
        if not inputs:
            return None, None
        try:
            return self._run(inputs)
        except Exception:  # find the culprit(s) one item at a time
            pass
        rows, seqs = [], []
        for i, item in zip(ok, inputs):
            try:
                x, s = self._run([item])
            except Exception as e:
                errors[i] = message(e)
                x, s = None, None
            rows.append(None if x is None else x[0])
            seqs.append(None if s is None else s[0])
        dim = next((r.shape[0] for r in rows if r is not None), 0)
        x = np.stack([r if r is not None else np.zeros(dim, np.float32) for r in rows])
        return (x if "pooled" in self.kinds else None), (seqs if "sequence" in self.kinds else None)

    def _run(self, items: list) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        from ..encoders.base import sequence_dim

        x = seqs = None
        if "pooled" in self.kinds:
            x = np.asarray(self.encoder.encode(items), dtype=np.float32)
            if x.shape != (len(items), self.encoder.dim):
                raise EmofuseError(f"encode returned shape {x.shape} for {len(items)} items")
        if "sequence" in self.kinds:
            seqs = [np.asarray(s, dtype=np.float32) for s in self.encoder.encode_sequence(items)]
            d = sequence_dim(self.encoder)
            bad = [s.shape for s in seqs if s.ndim != 2 or len(s) == 0 or s.shape[1] != d]
            if len(seqs) != len(items) or bad:
                raise EmofuseError(
                    f"encode_sequence returned {len(seqs)} arrays for {len(items)} items; "
                    f"expected (T >= 1, {d}) each, got {bad}"
                )
        return x, seqs
