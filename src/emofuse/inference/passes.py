"""One streamed pass per modality over a file's segments, models run on batches as they fill.

Each pass reads the file once (frames at ``fps``; the audio track decoded once and cut
into the segments, :func:`emofuse.media.decode.iter_spans`) and keeps only a batch of
model inputs and a few numbers per sampled frame or segment, so memory stays flat with
the file's duration. :class:`~emofuse.inference.recognizer.Recognizer.analyze` calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..media import decode, vad
from ..media.faces import crop_face
from ..media.segments import Segment
from .result import ModalityResult, Prediction

if TYPE_CHECKING:
    from ..media.decode import MediaInfo

Recognizer = Any  # the passes take the Recognizer that calls them (no import: no circle)

Progress = Callable[[str, int, int | None], None]  # (task, advance, total)
#: items per model call; also what ``backend="auto"`` times the backends at
BATCH = {"face": 32, "voice": 16, "text": 256}
#: earlier transcript segments passed as a cue's dialogue context (bounded: linear cost)
CONTEXT_UTTERANCES = 8


def face_pass(
    rec: Recognizer,
    path,
    info: MediaInfo,
    segments: Sequence[Segment],
    fps: float,
    progress: Progress | None = None,
) -> list[ModalityResult]:
    """Per segment: the mean face probabilities over its sampled frames with a face."""
    known = bool(info.width and info.height)
    small = info.kind == "image" or (known and max(info.width, info.height) <= rec.small_image)
    if info.kind == "image":
        frames: Iterable[tuple[float, np.ndarray]] = [(0.0, decode.load_image(path))]
        total: int | None = 1
    elif info.has_video:
        frames = decode.iter_frames(path, fps=fps, pixel_format="gray")
        total = int(info.duration * fps) + 1
    else:
        return [ModalityResult("no video") for _ in segments]
    model = rec.model("face")
    size = model.meta.preprocessing.get("size", 48)
    if small:  # images (crops or not) and tiny videos: Recognizer.face_crop decides
        found: Iterable = ((t, *rec.face_crop(f)) for t, f in frames)
    else:  # video: the detector follows the face from frame to frame
        tracked = rec.detector.track(frames)
        found = ((t, crop_face(f, b, size) if b else None, b) for t, f, b in tracked)
    times, boxes, crops, parts, frame_times = [], [], [], [], []
    for t, crop, box in found:
        frame_times.append(t)
        if crop is not None:
            times.append(t)
            boxes.append(box)
            crops.append(crop)
            if len(crops) == BATCH["face"]:
                parts.append(model.predict_proba(np.stack(crops)))
                crops = []
        if progress:
            progress("faces", 1, total)
    if crops:
        parts.append(model.predict_proba(np.stack(crops)))
    probs = np.concatenate(parts) if parts else np.zeros((0, len(rec.labels)))
    times_arr, frames_arr = np.asarray(times, float), np.asarray(frame_times, float)
    out = []
    for seg in segments:
        if info.kind == "image":
            lo, hi = 0, len(times)
        else:
            lo, hi = np.searchsorted(times_arr, [seg.start, seg.end])
        if hi <= lo:
            a, b = np.searchsorted(frames_arr, [seg.start, seg.end])
            sampled = info.kind == "image" or b > a
            out.append(ModalityResult("no face" if sampled else "no frame sampled"))
            continue
        main = max(range(lo, hi), key=lambda i: boxes[i].area if boxes[i] else 0)
        details = {"frames_with_face": int(hi - lo)}
        if boxes[main] is not None:
            details["box"] = boxes[main].to_dict()
            details["box_time"] = round(float(times[main]), 3)
        pred = Prediction.from_probs(probs[lo:hi].mean(0), rec.labels)
        out.append(ModalityResult("ok", pred, details))
    return out


def voice_pass(
    rec: Recognizer,
    path,
    info: MediaInfo,
    segments: Sequence[Segment],
    progress: Progress | None = None,
) -> list[ModalityResult]:
    """Per segment: voice probabilities, or why there are none (too short, silent)."""
    if not info.has_audio:
        return [ModalityResult("no audio") for _ in segments]
    out: list[ModalityResult | None] = [None] * len(segments)
    where: list[int] = []
    waves: list[np.ndarray] = []

    def flush() -> None:
        for i, p in zip(where, rec.model("voice").predict_proba(waves)):
            out[i] = ModalityResult("ok", Prediction.from_probs(p, rec.labels))
        where.clear()
        waves.clear()

    spans = [(s.start, s.end) for s in segments]
    for i, wave in decode.iter_spans(path, spans, vad.SAMPLE_RATE):
        status = rec.voice_status(wave)
        if status == "ok":
            where.append(i)
            waves.append(vad.normalise_gain(wave))
            if len(waves) == BATCH["voice"]:
                flush()
        else:
            out[i] = ModalityResult(status)
        if progress:
            progress("voice", 1, len(segments))
    if waves:
        flush()
    return [r or ModalityResult("too short") for r in out]


def text_pass(rec: Recognizer, segments: Sequence[Segment]) -> list[ModalityResult]:
    """Per segment with text: text probabilities, each cue read with the earlier cues
    (at most :data:`CONTEXT_UTTERANCES`) as dialogue context."""
    where = [i for i, s in enumerate(segments) if s.text and s.text.strip()]
    out = [ModalityResult("no text") for _ in segments]
    if where:
        texts = [segments[i].text or "" for i in where]
        context = [texts[max(0, k - CONTEXT_UTTERANCES) : k] for k in range(len(texts))]
        for i, pred in zip(where, rec.predict_text(texts, context)):
            out[i] = ModalityResult("ok", pred)
    return out
