"""Batch prediction over a manifest of mixed inputs, resumable after ``kill -9``.

Rows are read by :mod:`.batch_input` (``id, modality, input`` CSVs or manifests with
``text``/``audio``/``image``/``video`` columns and ``start``/``end`` segments). Each output
row has ``id, label, confidence, modalities, p_<label>...`` and ``error``; a bad row gets
its error filled and the run carries on. The work runs on the feature engines
(:func:`emofuse.features.engines.run_batches`: in this process, a process pool or Ray).
With ``output``, finished rows are journalled next to it (``.<name>.partial.jsonl``), so a
killed run resumes without recomputing them; the CSV is written atomically at the end.

>>> df = predict_manifest(Recognizer.default(), "inputs.csv", output="preds.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import DataError, EmofuseError, UsageError
from ..features.engines import WorkerSpec, check_engine, run_batches
from ..media import decode
from ..utils.io import write_atomic
from ..utils.journal import Journal
from .batch_input import Item, read_items
from .recognizer import SAMPLE_RATE, Progress, Recognizer
from .result import Prediction

VIDEO_FPS = 2.0  # frames sampled per second of a video row, as `analyze` does by default


Batched = dict[int, dict[str, "Prediction | EmofuseError"]]  # row -> modality -> result


def item_segment(item: dict[str, Any]) -> bool:
    """The row reads a part of its file (``start``/``end``), not the whole."""
    return bool(item.get("start")) or item.get("end") is not None


def predict_grouped(rec: Recognizer, items: list[dict[str, Any]]) -> Batched:
    """Each modality's whole-file inputs of ``items`` in one batched call per modality.

    Texts, images and whole voice files (no ``start``/``end``) are grouped by modality and
    run through the list APIs (:meth:`Recognizer.predict_text` etc.); an input's error is
    kept for its row. Segments of a file and videos are left to :func:`predict_item`.
    """
    done: Batched = {i: {} for i in range(len(items))}
    ok = [i for i, item in enumerate(items) if not item.get("error")]
    whole = [i for i in ok if not item_segment(items[i])]
    groups = {
        "text": [i for i in ok if "text" in items[i]["inputs"]],
        "face": [i for i in ok if "face" in items[i]["inputs"]],
        "voice": [i for i in whole if "voice" in items[i]["inputs"]],
    }
    texts = [i for i in groups["text"] if str(items[i]["inputs"]["text"]).strip()]
    for i in set(groups["text"]) - set(texts):
        done[i]["text"] = DataError("empty text")
    if texts:
        for i, p in zip(texts, rec.predict_text([items[i]["inputs"]["text"] for i in texts])):
            done[i]["text"] = p
    for modality, call in (("face", rec.predict_face), ("voice", rec.predict_voice)):
        rows = groups[modality]
        if rows:
            preds = call([items[i]["inputs"][modality] for i in rows], on_error="return")
            for i, p in zip(rows, preds):
                done[i][modality] = p
    return done


def predict_item(
    rec: Recognizer, item: dict[str, Any], batched: dict[str, Any] | None = None
) -> tuple[Prediction, list[str]]:
    """Predict one row from each of its inputs and fuse them; returns the prediction and
    the modalities used. A row with one input fails with that input's error.

    ``batched``: this row's results already computed by :func:`predict_grouped`."""
    inputs, start, end = item["inputs"], item.get("start") or 0.0, item.get("end")
    probs: dict[str, np.ndarray] = {}
    errors: list[str] = []
    batched = batched or {}

    def attempt(modality: str, fn: Any, *args: Any) -> None:
        try:
            pred = batched[modality] if modality in batched else fn(*args)
            if isinstance(pred, EmofuseError):
                raise pred
        except EmofuseError as e:
            errors.append(str(e))
            return
        if pred is not None:
            probs[modality] = np.array([pred.probabilities[lab] for lab in rec.labels])

    if "text" in inputs:
        attempt("text", lambda t: rec.predict_text([t])[0], inputs["text"])
    if "face" in inputs:
        attempt("face", rec.predict_face, inputs["face"])
    if "voice" in inputs:
        attempt("voice", _voice, rec, inputs["voice"], start, end)
    if "video" in inputs:  # as `analyze` reads one segment: up to the probed duration
        video = inputs["video"]
        stop = end if end is not None else decode.probe(video).duration
        if "face" not in inputs:
            attempt("face", _video_faces, rec, video, start, stop)
        if "voice" not in inputs:
            attempt("voice", _voice, rec, video, start, stop)
    if not probs:
        if "video" in inputs and len(inputs) == 1:
            raise DataError("no face, voice or text found in the video: " + "; ".join(errors))
        raise DataError("; ".join(errors) or "nothing to predict")
    used = sorted(probs)
    if len(used) == 1:
        return Prediction.from_probs(probs[used[0]], rec.labels), used
    fused = rec.fusion.predict_proba({m: p[None] for m, p in probs.items()})[0]
    return Prediction.from_probs(fused, rec.labels), used


def _voice(rec: Recognizer, path: str, start: float, end: float | None) -> Prediction:
    if not start and end is None:
        return rec.predict_voice(path)
    return rec.predict_voice(decode.load_audio(path, SAMPLE_RATE, start=start, end=end))


def _video_faces(rec: Recognizer, path: str, start: float, end: float | None) -> Prediction:
    """The mean face probabilities over the segment's sampled frames with a face."""
    crops = []
    for _, frame in decode.iter_frames(path, fps=VIDEO_FPS, start=start, end=end):
        crop, _ = rec.face_crop(frame)
        if crop is not None:
            crops.append(crop)
    if not crops:
        raise DataError("no face found in the video")
    return Prediction.from_probs(
        rec.model("face").predict_proba(np.stack(crops)).mean(0), rec.labels
    )


def columns(labels: list[str]) -> list[str]:
    return ["id", "label", "confidence", "modalities", *[f"p_{lab}" for lab in labels], "error"]


def output_row(
    rec: Recognizer, item: dict[str, Any], batched: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One output row; an error of this row fills its ``error`` cell, never raises."""
    row: dict[str, Any] = dict.fromkeys(columns(rec.labels))
    row.update(id=item["id"], error=item.get("error") or "")
    if row["error"]:
        return row
    try:
        pred, used = predict_item(rec, item, batched)
    except EmofuseError as e:
        row["error"] = str(e)
        return row
    except Exception as e:  # a bug on one row must not lose the others
        row["error"] = f"internal error: {type(e).__name__}: {e}"
        return row
    row.update(label=pred.label, confidence=round(pred.confidence, 4), modalities="+".join(used))
    row.update({f"p_{lab}": p for lab, p in pred.probabilities.items()})
    return row


class PredictWorker:
    """What each worker process / Ray actor holds: one :class:`Recognizer`."""

    def __init__(self, model_dir: str, backend: str = "auto", rec: Recognizer | None = None):
        self.rec = rec if rec is not None else Recognizer(model_dir, backend=backend)

    def __call__(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            batched = predict_grouped(self.rec, items)
        except Exception:  # one input fails the whole batch: each row on its own (own errors)
            batched = {}
        return [output_row(self.rec, item, batched.get(i)) for i, item in enumerate(items)]


def predict_manifest(
    rec: Recognizer,
    manifest: str | Path,
    progress: Progress | None = None,
    *,
    engine: str = "local",
    workers: int = 0,
    address: str | None = None,
    chunk: int = 16,
    output: str | Path | None = None,
    allow_outside: bool = False,
) -> pd.DataFrame:
    """Predict every row of ``manifest``; errors are reported per row, not raised.

    ``engine="local"`` runs in this process (``workers=0``) or a pool of ``workers``
    processes; ``engine="ray"`` uses Ray Data actors (``address``: a cluster, or a local
    Ray). Each worker loads ``rec``'s models once; output rows keep the manifest order.
    ``output``: write the CSV there (atomically), journalling rows as they finish so that
    a rerun after a crash computes only the rest. ``allow_outside``: accept media paths
    outside the manifest's folder.
    """
    check_engine(engine)
    if chunk < 1:
        raise UsageError(f"chunk must be >= 1, got {chunk}")
    out_path = None if output is None else Path(output)
    if out_path is not None and out_path.is_dir():
        raise UsageError(f"-o {out_path} is a folder; give a CSV file path")
    items = read_items(manifest, allow_outside)
    rows: dict[int, dict[str, Any]] = {}
    journal = None
    if out_path is not None:
        header = _job(rec, manifest, allow_outside)
        journal = Journal(out_path.parent / f".{out_path.name}.partial.jsonl", header)
        rows.update({int(r["i"]): r["row"] for r in journal.records if "i" in r and "row" in r})
    todo = [it for it in items if it.i not in rows]
    for it in todo:
        if it.error:  # unreadable rows need no model
            rows[it.i] = output_row(rec, asdict(it))
    if journal is not None:
        journal.append([{"i": it.i, "row": rows[it.i]} for it in todo if it.error])
    if progress:
        progress("predict", len(rows), len(items))

    def sink(part: list[Item], out: list[dict[str, Any]]) -> None:
        for it, row in zip(part, out):
            rows[it.i] = row
        if journal is not None:
            journal.append([{"i": it.i, "row": row} for it, row in zip(part, out)])
        if progress:
            progress("predict", len(part), len(items))

    spec = WorkerSpec(
        f"{__name__}:PredictWorker", {"model_dir": str(rec.model_dir), "backend": rec.backend}
    )
    run_batches(
        spec,
        _chunks([it for it in todo if not it.error], chunk),
        sink,
        engine=engine,
        workers=workers,
        address=address,
        inline=PredictWorker(str(rec.model_dir), rec=rec),
    )
    frame = pd.DataFrame([rows[it.i] for it in items], columns=columns(rec.labels))
    if out_path is not None:
        write_atomic(out_path, frame.to_csv(index=False).encode())
        journal.remove()  # type: ignore[union-attr]
    return frame


def _chunks(items: list[Item], size: int) -> Iterator[tuple[list[Item], list[dict]]]:
    for s in range(0, len(items), size):
        part = items[s : s + size]
        yield part, [asdict(it) for it in part]


def _job(rec: Recognizer, manifest: str | Path, allow_outside: bool) -> dict[str, Any]:
    """What the output depends on: the manifest's bytes, the models, the options."""
    from ..encoders.base import hash_files

    h = hashlib.sha256()
    with open(manifest, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    model_files = sorted(p for p in Path(rec.model_dir).rglob("*") if p.is_file())
    return {
        "manifest": h.hexdigest(),
        "models": hash_files(model_files) if model_files else "",
        "backend": rec.backend,
        "allow_outside": allow_outside,
        "emofuse": __version__,
    }
