"""Batch prediction over a manifest of mixed inputs.

The manifest is a CSV with columns ``id, modality, input``: modality is ``text``,
``voice``, ``face`` or ``video``; input is the text itself or a file path relative to
the manifest. Each output row has ``id, label, confidence, p_<label>...`` and ``error``;
a bad row gets its error filled and the run carries on.

>>> df = predict_manifest(Recognizer.default(), "inputs.csv")    # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..errors import DataError, EmofuseError, UsageError
from .recognizer import Progress, Recognizer
from .result import Prediction

REQUIRED = ("id", "modality", "input")
KINDS = ("text", "voice", "face", "video")


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read and check a prediction manifest."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"manifest not found: {path}")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise DataError(f"cannot read manifest {path}: {e}") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; need {list(REQUIRED)}")
    return df


def predict_row(rec: Recognizer, modality: str, value: str, base: Path) -> Prediction:
    """Predict one manifest row; raises :class:`EmofuseError` on bad input."""
    if modality == "text":
        return rec.predict_text([value])[0]
    if modality not in KINDS:
        raise DataError(f"unknown modality {modality!r}; choose from {', '.join(KINDS)}")
    path = base / value
    if modality == "voice":
        return rec.predict_voice(path)
    if modality == "face":
        return rec.predict_face(path)
    from ..media.decode import probe

    result = rec.analyze(path, window=max(probe(path).duration, 0.1))  # one segment
    fused = result.segments[0].fused if result.segments else None
    if fused is None:
        raise DataError("no face, voice or text found in the video")
    return fused


def predict_rows(rec: Recognizer, rows: list[tuple[str, str, str]], base: Path) -> list[dict]:
    """Output rows (``id, label, confidence, p_<label>..., error``) of ``(id, modality, input)``
    rows."""
    out = []
    for item_id, modality, value in rows:
        row: dict[str, object] = {"id": item_id, "label": None, "confidence": None}
        row.update({f"p_{lab}": None for lab in rec.labels})
        try:
            pred = predict_row(rec, modality, value, base)
            row.update(label=pred.label, confidence=round(pred.confidence, 4))
            row.update({f"p_{lab}": p for lab, p in pred.probabilities.items()})
            row["error"] = ""
        except EmofuseError as e:
            row["error"] = str(e)
        out.append(row)
    return out


def predict_manifest(
    rec: Recognizer,
    manifest: str | Path,
    progress: Progress | None = None,
    *,
    engine: str = "local",
    workers: int = 0,
    address: str | None = None,
    chunk: int = 16,
) -> pd.DataFrame:
    """Predict every row of ``manifest``; errors are reported per row, not raised.

    ``engine="local"`` runs in this process (``workers=0``) or a pool of ``workers``
    processes; ``engine="ray"`` uses Ray Data actors (``address``: a cluster, or a local Ray).
    Each worker loads ``rec``'s models once; output rows keep the manifest order.
    """
    df = read_manifest(manifest)
    base = Path(manifest).parent
    rows = list(zip(df["id"], df["modality"].str.strip().str.lower(), df["input"]))
    chunks = [rows[i : i + chunk] for i in range(0, len(rows), chunk)]
    if engine not in ("local", "ray"):
        raise UsageError(f"unknown engine {engine!r}; choose local or ray")
    spec = {"model_dir": str(rec.model_dir), "backend": rec.backend, "base": str(base)}
    if engine == "ray":
        done = _predict_ray(spec, chunks, workers, address)
    elif workers > 0:
        done = _predict_pool(spec, chunks, workers)
    else:
        done = (predict_rows(rec, c, base) for c in chunks)
    out = []
    for part in done:
        out += part
        if progress:
            progress("predict", len(part), len(rows))
    return pd.DataFrame(
        out, columns=["id", "label", "confidence", *[f"p_{lab}" for lab in rec.labels], "error"]
    )


class _Worker:
    """Holds one :class:`Recognizer` per process / Ray actor."""

    def __init__(self, spec: dict[str, str]):
        self.rec = Recognizer(spec["model_dir"], backend=spec["backend"])
        self.base = Path(spec["base"])

    def __call__(self, batch: dict) -> dict:  # Ray Data: one chunk per call
        rows = [tuple(r) for r in json.loads(batch["rows"][0])]
        return {"i": batch["i"], "out": [json.dumps(predict_rows(self.rec, rows, self.base))]}


_worker: _Worker | None = None


def _init_worker(spec: dict[str, str]) -> None:
    global _worker
    _worker = _Worker(spec)


def _run_chunk(rows: list) -> list[dict]:
    if _worker is None:
        raise RuntimeError("predict worker used before its initialiser ran")
    return predict_rows(_worker.rec, rows, _worker.base)


def _predict_pool(spec: dict, chunks: list, workers: int) -> Iterator[list[dict]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")  # no fork after torch/BLAS threads started
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(spec,)
    ) as pool:
        yield from pool.map(_run_chunk, chunks)


def _predict_ray(
    spec: dict, chunks: list, workers: int, address: str | None
) -> Iterator[list[dict]]:
    from ..features.engines import ray_session

    if not chunks:
        return
    with ray_session(address, workers) as ray:
        items = [{"i": k, "rows": json.dumps(c)} for k, c in enumerate(chunks)]
        ds = ray.data.from_items(items, override_num_blocks=min(len(items), 200))
        ds = ds.map_batches(
            _Worker,
            fn_constructor_kwargs={"spec": spec},
            batch_size=1,
            concurrency=max(1, workers),
            num_cpus=1,
        )
        results = sorted(ds.iter_rows(), key=lambda r: int(r["i"]))
    for r in results:
        yield json.loads(r["out"])
