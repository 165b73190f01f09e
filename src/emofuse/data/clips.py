"""Audio-visual clips for end-to-end models: face crops, whole frames and the sound.

One :class:`Clip` is what an audio-visual network reads: ``T`` gray face crops (with a
flag per frame: was a face found), the ``T`` whole frames downscaled, the 16 kHz wave and,
when there is one, the text. Clips come from two kinds of manifest rows, with the same
preprocessing as inference (:func:`clip_from_frames`):

- a row with ``video`` (CREMA-D, RAVDESS video, MELD clips, IEMOCAP turns with
  ``start``/``end``): frames decoded at ``fps`` and faces found by the detector; the
  sound from ``audio`` or from the video's own track;
- a paired row (``emofuse data pair``: ``image`` + ``audio`` + ``text`` of one emotion):
  rendered the way the sample clip ``four_emotions.mp4`` was made, the face photo on a
  gray 4:3 canvas, with light per-frame augmentation (position, scale, rotation,
  brightness, contrast, noise) when a random generator is given.

>>> spec = ClipSpec(frames=4)
>>> face = np.full((48, 48), 128, np.uint8)
>>> clip = synthesize(face, np.zeros(16000, np.float32), spec, np.random.default_rng(0))
>>> clip.faces.shape, clip.frames.shape, bool(clip.face_valid.all())
((4, 48, 48), (4, 48, 64), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..errors import DataError
from ..media import decode
from ..media.faces import Box, FaceDetector, crop_face, main_face
from ..utils.config import Config

SAMPLE_RATE = 16000
CANVAS = (480, 640)  # the sample clip's frame (height, width)
#: where OpenCV's Haar detector puts a face box in a FER-style photo: (x, y) offset and
#: side as fractions of the photo (mean over FER2013 images it finds a face in)
HAAR_BOX = (0.09, 0.09, 0.80)


@dataclass
class ClipSpec(Config):
    """How clips are cut: ``frames`` per clip, sampled at ``fps`` from real videos."""

    frames: int = 8
    fps: float = 4.0
    face_size: int = 48
    frame_shape: list[int] = field(default_factory=lambda: [48, 64])  # (height, width)
    max_seconds: float = 4.0
    render_scale: float = 0.25  # synthetic canvases are rendered at this fraction of CANVAS


@dataclass
class Clip:
    """One item: gray face crops ``(T, S, S)``, their flags, gray frames ``(T, H, W)``, sound."""

    faces: np.ndarray
    face_valid: np.ndarray
    frames: np.ndarray
    wave: np.ndarray | None
    text: str | None = None

    @property
    def has_audio(self) -> bool:
        return self.wave is not None and self.wave.size > 0


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.ndim != 2:
        raise DataError(f"expected an RGB or gray image, got shape {image.shape}")
    return image.astype(np.uint8, copy=False)


def downscale(image: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """A gray copy of ``image`` at ``shape`` (height, width)."""
    return cv2.resize(_gray(image), (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_AREA)


def clip_from_frames(
    frames: Sequence[np.ndarray],
    wave: np.ndarray | None,
    spec: ClipSpec,
    detector: FaceDetector | None = None,
    boxes: Sequence[Box | None] | None = None,
    text: str | None = None,
) -> Clip:
    """A clip from decoded frames (RGB or gray) and a wave: face crops + downscaled frames.

    ``boxes`` (one per frame, ``None`` for no face) skip the detector.
    """
    if len(frames) == 0:
        raise DataError("a clip needs at least one frame")
    if boxes is None:
        detector = detector or FaceDetector()
        boxes = [main_face(detector.detect(f)) for f in frames]
    size = spec.face_size
    faces = np.zeros((len(frames), size, size), np.uint8)
    valid = np.zeros(len(frames), bool)
    for i, (frame, box) in enumerate(zip(frames, boxes)):
        if box is not None:
            faces[i], valid[i] = crop_face(frame, box, size=size), True
    small = np.stack([downscale(f, spec.frame_shape) for f in frames])
    if wave is not None:
        wave = np.asarray(wave, np.float32)[: int(spec.max_seconds * SAMPLE_RATE)]
    return Clip(faces, valid, small, wave, text)


def _render(
    face: np.ndarray, spec: ClipSpec, rng: np.random.Generator | None, base: dict[str, float]
) -> tuple[np.ndarray, Box]:
    """One canvas with the face photo on gray (jittered around ``base`` when ``rng`` is set)
    and the box a face detector would find there."""
    h, w = round(CANVAS[0] * spec.render_scale), round(CANVAS[1] * spec.render_scale)
    j = (lambda s: float(rng.normal(0, s))) if rng is not None else (lambda s: 0.0)
    canvas = np.full((h, w), base["background"], np.float32)
    side = max(8, round(h * base["scale"] * (1 + j(0.02))))
    patch = cv2.resize(_gray(face), (side, side), interpolation=cv2.INTER_LINEAR)
    if rng is not None:
        m = cv2.getRotationMatrix2D((side / 2, side / 2), j(2.0), 1.0)
        patch = cv2.warpAffine(patch, m, (side, side), borderMode=cv2.BORDER_REPLICATE)
    x = int(np.clip(round(base["x"] * (w - side) + j(0.01) * w), 0, w - side))
    y = int(np.clip(round(base["y"] * (h - side) + j(0.01) * h), 0, h - side))
    canvas[y : y + side, x : x + side] = patch
    if rng is not None:
        noise = rng.standard_normal(canvas.shape, dtype=np.float32) * 2.0
        canvas = (canvas - 128) * (1 + j(0.04)) + 128 + j(4.0) + noise
    bx, by, bs = (HAAR_BOX[0] + j(0.02), HAAR_BOX[1] + j(0.02), HAAR_BOX[2] * (1 + j(0.03)))
    box = Box(x + round(bx * side), y + round(by * side), round(bs * side), round(bs * side))
    return np.clip(canvas, 0, 255).astype(np.uint8), box


def synthesize(
    face: np.ndarray,
    wave: np.ndarray | None,
    spec: ClipSpec,
    rng: np.random.Generator | None = None,
    text: str | None = None,
) -> Clip:
    """A video-like clip from one face photo: ``spec.frames`` renderings on a gray canvas.

    Without ``rng`` every frame is the centred face of the sample clip (no augmentation);
    with it the clip gets a random placement, size and background, and each frame light
    jitter, so it looks like a short recording of a still face.
    """
    if rng is None:
        base = {"background": 128.0, "scale": 2 / 3, "x": 0.5, "y": 0.5}
    else:
        base = {
            "background": float(rng.uniform(90, 170)),
            "scale": float(rng.uniform(0.45, 0.8)),
            "x": float(rng.uniform(0.2, 0.8)),
            "y": float(rng.uniform(0.3, 0.7)),
        }
    rendered = [_render(face, spec, rng, base) for _ in range(spec.frames)]
    return clip_from_frames(
        [f for f, _ in rendered], wave, spec, boxes=[b for _, b in rendered], text=text
    )


def sample_times(start: float, end: float, spec: ClipSpec) -> np.ndarray:
    """``spec.frames`` evenly spaced times in ``[start, end)`` (at most ``fps`` apart).

    >>> sample_times(0.0, 4.0, ClipSpec(frames=4, fps=2.0)).tolist()
    [0.5, 1.5, 2.5, 3.5]
    """
    span = max(end - start, 1e-3)
    n = max(1, min(spec.frames, int(np.ceil(span * spec.fps))))
    return start + (np.arange(n) + 0.5) * span / n


def load_clip(
    row: Any,
    media_path: Any,
    spec: ClipSpec,
    rng: np.random.Generator | None = None,
    detector: FaceDetector | None = None,
) -> Clip:
    """The clip of a manifest row (``media_path(column)`` gives an absolute path).

    A ``video`` row is decoded (the ``start``/``end`` span when set); a row with an
    ``image`` is synthesised (augmented when ``rng`` is given). The sound comes from
    ``audio`` when set, else from the video's span. With both (IEMOCAP: the turn's own wav,
    the whole dialogue's video), ``start``/``end`` locate the turn in the video only.
    """

    def value(column: str) -> Any:
        v = row.get(column) if hasattr(row, "get") else None
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else v

    start = float(value("start") or 0.0)
    end = value("end")
    text = value("text")
    wave = None
    if value("audio") is not None:
        if value("video") is None:  # the span cuts the recording itself
            stop = None if end is None else float(end)
            wave = decode.load_audio(media_path("audio"), SAMPLE_RATE, start=start, end=stop)
        else:
            wave = decode.load_audio(media_path("audio"), SAMPLE_RATE)
    if value("video") is not None:
        path = media_path("video")
        info = decode.probe(path)
        stop = float(end) if end is not None else info.duration
        if wave is None and info.has_audio:
            wave = decode.load_audio(path, SAMPLE_RATE, start=start, end=stop)
        times = sample_times(start, stop, spec)
        frames = frames_at(path, times, spec.fps, start, stop)
        return clip_from_frames(frames, wave, spec, detector, text=text)
    if value("image") is not None:
        face = decode.load_image(media_path("image"))
        return synthesize(face, wave, spec, rng, text=text)
    raise DataError(f"item {value('id')!r} has neither a video nor an image")


def frames_at(path: Any, times: np.ndarray, fps: float, start: float, stop: float) -> list:
    """The decoded frames nearest to ``times`` (decoding ``[start, stop)`` at ``2 * fps``)."""
    decoded = list(decode.iter_frames(path, fps=max(2 * fps, 1.0), start=start, end=stop))
    if not decoded:
        raise DataError(f"no frames in {path} between {start:g} and {stop:g} s")
    stamps = np.array([t for t, _ in decoded])
    return [decoded[int(np.abs(stamps - t).argmin())][1] for t in times]
