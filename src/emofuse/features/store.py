"""Feature store: content-addressed, resumable encoder outputs for a manifest.

An item's key is sha256 over what defines its features: the encoder name, its
feature-defining config (sorted JSON of ``config.identity()``), ``encoder.fingerprint()``,
the emofuse version, the item's content hash (file bytes for media, the text for
text) and its input tag (segment ``start``/``end``, face crops). Runtime knobs (workers,
device, batch size, engine) are not in the key, so a rerun with other knobs reuses
everything.

Two kinds of output live side by side under the same key: ``pooled`` vectors ``(dim,)``
and ``sequence`` arrays ``(T_i, sequence_dim)`` (ragged: a shard concatenates its items'
rows and keeps ``N + 1`` offsets). Layout of a store folder::

    shards/<seq>-<uuid>.npz   keys, ids, and x (N, dim) float32 and/or seq (sum T_i, d)
                              float32 + offsets (N + 1,) int64; written atomically
    index.jsonl               one line per item and kind: id, key, kind, shard, row (or
                              an error); a shard's lines are appended only after the
                              shard is durable
    order.json                manifest order (ids, keys) and kinds of the last extract

A shard whose index lines were lost (killed between the two writes) is re-indexed by
scanning; a half-written shard is a dot-prefixed tmp file that is never read and is
removed when the store is opened.

>>> summary = extract(Manifest.read("m.jsonl"), build_encoder("minilm"), "feats")  # doctest: +SKIP
>>> ids, x = load_features("feats")                                             # doctest: +SKIP
>>> ids, seqs = load_sequences("feats")   # after extract(..., kind="sequence" or "both")
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

KINDS = ("pooled", "sequence")


@dataclass
class Entry:
    """Where an item's output of ``kind`` lives (``shard``/``row``), or why it failed
    (``error``). ``kind`` ``None`` means pooled (index lines written before sequences)."""

    id: str
    key: str | None = None
    shard: str | None = None
    row: int | None = None
    error: str | None = None
    kind: str | None = None


class FeatureStore:
    """A folder of vector shards plus a JSONL index; see the module docstring."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.shards_dir = self.path / "shards"
        self.index_path = self.path / "index.jsonl"
        self.order_path = self.path / "order.json"
        #: kind -> key -> (shard, row)
        self.locations: dict[str, dict[str, tuple[str, int]]] = {k: {} for k in KINDS}
        self.errors: dict[str, str] = {}  # key -> error (items that could be hashed)
        self._load()

    @property
    def vectors(self) -> dict[str, tuple[str, int]]:
        """key -> (shard, row) of the pooled vectors."""
        return self.locations["pooled"]

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
                        kinds = [k for k, a in (("pooled", "x"), ("sequence", "seq")) if a in z]
                except (OSError, ValueError, KeyError):
                    continue  # not ours or unreadable: never read
                self._append(_entries(ids, keys, shard.name, kinds))

    def _add(self, e: Entry) -> None:
        if e.key is None:
            return
        kind = e.kind or "pooled"
        if e.error is None and e.shard is not None and kind in self.locations:
            self.locations[kind][e.key] = (e.shard, int(e.row or 0))
            self.errors.pop(e.key, None)
        elif e.error is not None and not any(e.key in loc for loc in self.locations.values()):
            self.errors[e.key] = e.error

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
    def write_batch(
        self,
        ids: list[str],
        keys: list[str],
        vectors: np.ndarray | None = None,
        sequences: list[np.ndarray] | None = None,
    ) -> str:
        """Write one shard (pooled ``vectors`` and/or ragged ``sequences``) atomically,
        then index it; returns the shard name."""
        n, arrays = len(keys), {}
        if vectors is not None:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            if vectors.ndim != 2 or vectors.shape[0] != n:
                raise DataError(f"encoder returned shape {vectors.shape} for {n} items")
            arrays["x"] = vectors
        if sequences is not None:
            arrays["seq"], arrays["offsets"] = ragged(sequences, n)
        if not arrays:
            raise DataError("write_batch needs vectors or sequences")
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.npz"
        buf = io.BytesIO()
        np.savez(buf, ids=np.array(ids, dtype=str), keys=np.array(keys, dtype=str), **arrays)
        write_atomic(self.shards_dir / name, buf.getvalue())
        kinds = [k for k, a in (("pooled", "x"), ("sequence", "seq")) if a in arrays]
        self._append(_entries(ids, keys, name, kinds))
        return name

    def write_errors(self, entries: list[tuple[str, str | None, str]]) -> None:
        """Record failures ``(id, key or None, message)``."""
        if entries:
            self._append([Entry(i, k, error=msg) for i, k, msg in entries])

    def write_order(
        self,
        ids: list[str],
        keys: list[str | None],
        errors: dict,
        kinds: tuple[str, ...] | list[str] = ("pooled",),
    ) -> None:
        doc = {"ids": ids, "keys": keys, "failed": errors, "kinds": list(kinds)}
        write_atomic(self.order_path, json.dumps(doc).encode())

    # ---- reading ----------------------------------------------------------------------
    def has(self, key: str, kind: str = "pooled") -> bool:
        return key in self.locations[kind]

    def _by_shard(self, keys: list[str], kind: str) -> dict[str, list[tuple[int, int]]]:
        by_shard: dict[str, list[tuple[int, int]]] = {}
        for i, k in enumerate(keys):
            shard, row = self.locations[kind][k]
            by_shard.setdefault(shard, []).append((i, row))
        return by_shard

    def get(self, keys: list[str]) -> np.ndarray:
        """Pooled vectors for ``keys`` (all present), reading each shard once."""
        out: np.ndarray | None = None
        for shard, pairs in self._by_shard(keys, "pooled").items():
            with np.load(self.shards_dir / shard, allow_pickle=False) as z:
                x = z["x"]
            if out is None:
                out = np.zeros((len(keys), x.shape[1]), dtype=np.float32)
            out[[i for i, _ in pairs]] = x[[r for _, r in pairs]]
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def get_sequences(self, keys: list[str]) -> list[np.ndarray]:
        """Sequences ``(T_i, d)`` for ``keys`` (all present), reading each shard once."""
        out: list[np.ndarray | None] = [None] * len(keys)
        for shard, pairs in self._by_shard(keys, "sequence").items():
            with np.load(self.shards_dir / shard, allow_pickle=False) as z:
                seq, offsets = z["seq"], z["offsets"]
            for i, r in pairs:
                out[i] = np.ascontiguousarray(seq[offsets[r] : offsets[r + 1]])
        return out  # type: ignore[return-value]

    def order(self) -> dict[str, Any]:
        if not self.order_path.is_file():
            raise DataError(f"no extraction recorded in {self.path}")
        return json.loads(self.order_path.read_text())

    def failures(self) -> dict[str, str]:
        """Item id -> error message of the last extract's failed items."""
        return dict(self.order()["failed"])

    def _ordered(self, kind: str) -> list[tuple[str, str]]:
        order = self.order()
        kinds = order.get("kinds", ["pooled"])
        if kind not in kinds:
            other = "load_sequences" if kind == "pooled" else "load_features"
            raise DataError(
                f"the last extract into {self.path} stored {'/'.join(kinds)}, not {kind}: "
                f"use {other}, or extract with kind={kind!r} (or 'both')"
            )
        return [(i, k) for i, k in zip(order["ids"], order["keys"]) if k and self.has(k, kind)]


def _entries(ids: list[str], keys: list[str], shard: str, kinds: list[str]) -> list[Entry]:
    return [
        Entry(i, k, shard, r, kind=None if kind == "pooled" else kind)
        for kind in kinds
        for r, (i, k) in enumerate(zip(ids, keys))
    ]


def ragged(sequences: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, offsets)``: the sequences concatenated, and ``N + 1`` int64 offsets."""
    if len(sequences) != n:
        raise DataError(f"encoder returned {len(sequences)} sequences for {n} items")
    seqs = [np.asarray(s, dtype=np.float32) for s in sequences]
    widths = {s.shape[1] for s in seqs if s.ndim == 2}
    if any(s.ndim != 2 or len(s) == 0 for s in seqs) or len(widths) > 1:
        shapes = [s.shape for s in seqs]
        raise DataError(f"sequences must be non-empty (T, d) arrays of one d, got {shapes}")
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in seqs])
    rows = np.concatenate(seqs) if seqs else np.zeros((0, 0), np.float32)
    return np.ascontiguousarray(rows), offsets


def _open(store: str | Path | FeatureStore) -> FeatureStore:
    return store if isinstance(store, FeatureStore) else FeatureStore(store)


def load_features(store: str | Path | FeatureStore) -> tuple[list[str], np.ndarray]:
    """``(ids, (N, dim) float32)`` in the last extract's manifest order, failures excluded.

    The failed items and their errors: ``FeatureStore(path).failures()``.
    """
    st = _open(store)
    pairs = st._ordered("pooled")
    return [i for i, _ in pairs], st.get([k for _, k in pairs])


def load_sequences(store: str | Path | FeatureStore) -> tuple[list[str], list[np.ndarray]]:
    """``(ids, [(T_i, d) float32, ...])`` in the last extract's manifest order, failures
    excluded (``extract(..., kind="sequence")`` or ``"both"``); batch them with
    :func:`emofuse.features.pad_sequences`."""
    st = _open(store)
    pairs = st._ordered("sequence")
    return [i for i, _ in pairs], st.get_sequences([k for _, k in pairs])
