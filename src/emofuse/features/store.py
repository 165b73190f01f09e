"""Feature store: content-addressed, resumable encoder outputs for a manifest.

An item's key is sha256 over what defines its features: the encoder name, its
feature-defining config (sorted JSON of ``config.identity()``), ``encoder.fingerprint()``,
the emofuse version and the item's content hash (file bytes for media, the text for
text). Runtime knobs (workers, device, batch size, engine) are not in the key, so a
rerun with other knobs reuses everything.

Layout of a store folder::

    shards/<seq>-<uuid>.npz   keys, ids and (N, dim) float32 vectors, written atomically
    index.jsonl               one line per item: id, key, shard, row (or error); a shard's
                              lines are appended only after the shard is durable
    order.json                manifest order (ids, keys) of the last extract

A shard whose index lines were lost (killed between the two writes) is re-indexed by
scanning; a half-written shard is a dot-prefixed tmp file that is never read and is
removed when the store is opened.

>>> summary = extract(Manifest.read("m.jsonl"), build_encoder("minilm"), "feats")  # doctest: +SKIP
>>> ids, x = load_features("feats")                                             # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..utils.io import write_atomic


@dataclass
class Entry:
    """Where an item's vector lives (``shard``/``row``), or why it failed (``error``)."""

    id: str
    key: str | None = None
    shard: str | None = None
    row: int | None = None
    error: str | None = None


class FeatureStore:
    """A folder of vector shards plus a JSONL index; see the module docstring."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.shards_dir = self.path / "shards"
        self.index_path = self.path / "index.jsonl"
        self.order_path = self.path / "order.json"
        self.vectors: dict[str, tuple[str, int]] = {}  # key -> (shard, row)
        self.errors: dict[str, str] = {}  # key -> error (items that could be hashed)
        self._load()

    # ---- opening ----------------------------------------------------------------------
    def _load(self) -> None:
        self.shards_dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.shards_dir.glob(".*"):  # half-written shards (killed writers)
            tmp.unlink(missing_ok=True)
        indexed: set[str] = set()
        if self.index_path.is_file():
            with self.index_path.open("rb+") as f:  # end a torn last line before appending
                if f.seek(0, os.SEEK_END) > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        f.write(b"\n")
            with self.index_path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = Entry(**json.loads(line))
                    except (json.JSONDecodeError, TypeError):
                        continue  # a torn line: its shard is re-scanned below
                    self._add(entry)
                    rec = entry.__dict__
                    if rec.get("shard"):
                        indexed.add(rec["shard"])
        for shard in sorted(self.shards_dir.glob("*.npz")):
            if shard.name not in indexed:
                try:
                    with np.load(shard, allow_pickle=False) as z:
                        ids, keys = z["ids"].tolist(), z["keys"].tolist()
                except (OSError, ValueError, KeyError):
                    continue  # not ours or unreadable: never read
                self._append(
                    [Entry(i, k, shard.name, r) for r, (i, k) in enumerate(zip(ids, keys))]
                )

    def _add(self, e: Entry) -> None:
        if e.key is None:
            return
        if e.error is None and e.shard is not None:
            self.vectors[e.key] = (e.shard, int(e.row or 0))
            self.errors.pop(e.key, None)
        elif e.key not in self.vectors:
            self.errors[e.key] = e.error or "unknown error"

    def _append(self, entries: list[Entry]) -> None:
        lines = "".join(
            json.dumps({k: v for k, v in e.__dict__.items() if v is not None}) + "\n"
            for e in entries
        )
        with self.index_path.open("a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
        for e in entries:
            self._add(e)

    # ---- writing ----------------------------------------------------------------------
    def write_batch(self, ids: list[str], keys: list[str], vectors: np.ndarray) -> str:
        """Write one shard atomically, then index it; returns the shard name."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(keys):
            raise DataError(f"encoder returned shape {vectors.shape} for {len(keys)} items")
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.npz"
        buf = io.BytesIO()
        np.savez(buf, ids=np.array(ids, dtype=str), keys=np.array(keys, dtype=str), x=vectors)
        write_atomic(self.shards_dir / name, buf.getvalue())
        self._append([Entry(i, k, name, r) for r, (i, k) in enumerate(zip(ids, keys))])
        return name

    def write_errors(self, entries: list[tuple[str, str | None, str]]) -> None:
        """Record failures ``(id, key or None, message)``."""
        if entries:
            self._append([Entry(i, k, error=msg) for i, k, msg in entries])

    def write_order(self, ids: list[str], keys: list[str | None], errors: dict) -> None:
        doc = {"ids": ids, "keys": keys, "failed": errors}
        write_atomic(self.order_path, json.dumps(doc).encode())

    # ---- reading ----------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.vectors

    def get(self, keys: list[str]) -> np.ndarray:
        """Vectors for ``keys`` (all present), reading each shard once."""
        by_shard: dict[str, list[tuple[int, int]]] = {}
        for i, k in enumerate(keys):
            shard, row = self.vectors[k]
            by_shard.setdefault(shard, []).append((i, row))
        out: np.ndarray | None = None
        for shard, pairs in by_shard.items():
            with np.load(self.shards_dir / shard, allow_pickle=False) as z:
                x = z["x"]
            if out is None:
                out = np.zeros((len(keys), x.shape[1]), dtype=np.float32)
            out[[i for i, _ in pairs]] = x[[r for _, r in pairs]]
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def order(self) -> dict[str, Any]:
        if not self.order_path.is_file():
            raise DataError(f"no extraction recorded in {self.path}")
        return json.loads(self.order_path.read_text())

    def failures(self) -> dict[str, str]:
        """Item id -> error message of the last extract's failed items."""
        return dict(self.order()["failed"])


def load_features(store: str | Path | FeatureStore) -> tuple[list[str], np.ndarray]:
    """``(ids, (N, dim) float32)`` in the last extract's manifest order, failures excluded.

    The failed items and their errors: ``FeatureStore(path).failures()``.
    """
    st = store if isinstance(store, FeatureStore) else FeatureStore(store)
    order = st.order()
    pairs = [(i, k) for i, k in zip(order["ids"], order["keys"]) if k and st.has(k)]
    return [i for i, _ in pairs], st.get([k for _, k in pairs])
