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

import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError, UsageError
from .models.artifact import write_atomic

#: manifest column(s) that hold each modality's input, tried in order
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "voice": ("audio", "video"),
    "face": ("image",),
    "image": ("image",),
    "video": ("video",),
}
VIDEO_FPS = 2.0
ENGINES = ("local", "ray")


# ---- keys -------------------------------------------------------------------------------


def encoder_identity(encoder: Any) -> dict[str, Any]:
    """Plain data that defines an encoder's features (config without runtime fields)."""
    cfg = encoder.config
    if hasattr(cfg, "identity"):
        ident = cfg.identity()
    elif hasattr(cfg, "to_dict"):
        ident = cfg.to_dict()
    else:
        import dataclasses

        ident = dataclasses.asdict(cfg)
    return {"name": encoder.name, "config": ident, "fingerprint": encoder.fingerprint()}


def encoder_prefix(encoder: Any) -> bytes:
    """The part of every key that depends on the encoder and toolkit version only."""
    from . import __version__

    ident = encoder_identity(encoder)
    parts = [ident["name"], json.dumps(ident["config"], sort_keys=True, default=str)]
    parts += [ident["fingerprint"], __version__]
    return b"\0".join(p.encode() for p in parts) + b"\0"


def content_hash(modality: str, ref: str) -> str:
    """sha256 of the text (text) or of the file's bytes (media); DataError if unreadable."""
    h = hashlib.sha256()
    if modality == "text":
        h.update(ref.encode("utf-8", "surrogatepass"))
        return h.hexdigest()
    try:
        with open(ref, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise DataError(f"cannot read {ref}: {e.strerror or e}") from None
    return h.hexdigest()


def item_key(prefix: bytes, content: str) -> str:
    return hashlib.sha256(prefix + content.encode()).hexdigest()


# ---- inputs -----------------------------------------------------------------------------


def item_ref(manifest: Any, row: Any, modality: str) -> str:
    """The text itself or the absolute media path of one manifest row."""
    from .data.manifest import _is_null

    for column in INPUT_COLUMNS[modality]:
        if column in row and not _is_null(row[column]):
            if modality == "text":
                return str(row[column])
            return str(manifest.media_path(row, column))
    raise DataError(f"item {row['id']!r} has no {' or '.join(INPUT_COLUMNS[modality])}")


def load_input(modality: str, ref: str) -> Any:
    """An encoder's batch item for ``ref``: text, 16 kHz audio, an RGB image or frames."""
    if modality == "text":
        return ref
    from .media import decode

    if modality == "voice":
        wave = decode.load_audio(ref, sample_rate=16000)
        if wave.size == 0:
            raise DataError(f"no audio in {ref}")
        return wave
    if modality in ("face", "image"):
        return decode.load_image(ref)
    frames = [rgb for _, rgb in decode.iter_frames(ref, fps=VIDEO_FPS)]
    if not frames:
        raise DataError(f"no frames in {ref}")
    return frames


# ---- the store --------------------------------------------------------------------------


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


# ---- extraction -------------------------------------------------------------------------


@dataclass
class Summary:
    """Counts of one extract run."""

    total: int = 0
    computed: int = 0
    cached: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        rate = self.computed / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.total} items: {self.computed} computed, {self.cached} cached, "
            f"{self.failed} failed in {self.seconds:.1f}s ({rate:,.1f} items/s computed)"
        )


@dataclass
class Batch:
    """Items to compute: ids, keys and refs (text or path); all plain data for workers."""

    ids: list[str]
    keys: list[str]
    refs: list[str]


def _plan(
    manifest: Any,
    encoder: Any,
    store: FeatureStore,
    batch_size: int,
    summary: Summary,
    order: tuple[list[str], list[str | None]],
) -> Iterator[Batch]:
    """Stream the manifest: key every row, yield batches of the missing ones."""
    prefix = encoder_prefix(encoder)
    pending = Batch([], [], [])
    failures: list[tuple[str, str | None, str]] = []
    for _, row in manifest.frame.iterrows():
        item_id = str(row["id"])
        key: str | None = None
        try:
            ref = item_ref(manifest, row, encoder.modality)
            key = item_key(prefix, content_hash(encoder.modality, ref))
        except DataError as e:
            failures.append((item_id, None, str(e)))
        order[0].append(item_id)
        order[1].append(key)
        summary.total += 1
        if key is None:
            continue
        if store.has(key):
            summary.cached += 1
        elif key in store.errors:
            summary.failed += 1
            summary.errors[item_id] = store.errors[key]
        else:
            pending.ids.append(item_id)
            pending.keys.append(key)
            pending.refs.append(ref)
            if len(pending.ids) >= batch_size:
                yield pending
                pending = Batch([], [], [])
    if pending.ids:
        yield pending
    store.write_errors(failures)
    for item_id, _, msg in failures:
        summary.failed += 1
        summary.errors[item_id] = msg


def extract(
    manifest: Any,
    encoder: Any,
    store_path: str | Path,
    *,
    batch_size: int = 32,
    engine: str = "local",
    workers: int = 2,
    address: str | None = None,
    progress: bool | Callable[[int, int], None] = True,
) -> Summary:
    """Encode every manifest item not yet in the store at ``store_path``.

    ``engine``: ``"local"`` (a process pool of ``workers``; ``workers=0`` runs in this
    process) or ``"ray"`` (Ray Data; ``address`` of a cluster, else a local one). Each
    worker builds the encoder once from its name and config. Unreadable items are
    recorded with their error and the run carries on. ``progress``: a Rich bar (True) or
    a ``callback(done, total)``.
    """
    from . import engines

    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if batch_size < 1:
        raise UsageError(f"batch_size must be >= 1, got {batch_size}")
    store = FeatureStore(store_path)
    summary = Summary()
    order: tuple[list[str], list[str | None]] = ([], [])
    started = time.perf_counter()
    batches = _plan(manifest, encoder, store, batch_size, summary, order)
    run = engines.run_ray if engine == "ray" else engines.run_local
    total = len(manifest)

    with _progress(progress, total) as advance:
        advance(0)

        def sink(batch: Batch, vectors: np.ndarray | None, errors: dict[int, str]) -> None:
            ok = [i for i in range(len(batch.ids)) if i not in errors]
            if ok and vectors is not None:
                store.write_batch([batch.ids[i] for i in ok], [batch.keys[i] for i in ok], vectors)
            store.write_errors([(batch.ids[i], batch.keys[i], m) for i, m in errors.items()])
            summary.computed += len(ok)
            summary.failed += len(errors)
            summary.errors.update({batch.ids[i]: m for i, m in errors.items()})
            advance(summary.computed + summary.cached + summary.failed)

        run(encoder, batches, sink, workers=workers, address=address)
        advance(summary.computed + summary.cached + summary.failed)
    store.write_order(order[0], order[1], summary.errors)
    summary.seconds = time.perf_counter() - started
    return summary


class _progress:
    """Context manager yielding ``advance()``: refreshes done = computed+cached+failed."""

    def __init__(self, progress: Any, total: int):
        self.progress, self.total, self.bar = progress, total, None

    def __enter__(self) -> Callable[..., None]:
        if self.progress is True:
            from .display import training_progress

            self.bar = training_progress(enabled=True, unit="items")
            self.bar.__enter__()
            self.task = self.bar.add_task("extract", total=self.total)
        return self.advance

    def advance(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
        elif callable(self.progress):
            self.progress(done, self.total)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
