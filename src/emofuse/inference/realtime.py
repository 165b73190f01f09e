"""An audio-visual model as the Recognizer's fused row, for files and for live streams.

A model folder with an ``av/`` sub-folder (a :class:`~emofuse.models.realtime.RealtimeModel`),
or an ``emofuse train`` RUN_DIR whose ``models/`` hold one, makes ``Recognizer`` fuse with
it: each segment of ``analyze`` becomes a clip (face crops and downscaled frames at the
model's fps, the segment's sound) and the network's probabilities are the fused row,
while the face, voice and text rows still come from the per-modality models (the bundled
ones when the folder has none). :class:`AVStream` does the same for ``emofuse serve``:
it keeps the last frames of a live session and runs the network on them and the audio
window.

>>> rec = Recognizer("runs/av")                                   # doctest: +SKIP
>>> rec.av.meta.name, rec.analyze("clip.mp4").info["fusion"]      # doctest: +SKIP
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError
from ..labels import CANONICAL
from ..media import decode
from ..media.faces import Box, FaceDetector, Tracker, crop_face
from ..models.artifact import META_FILE

if TYPE_CHECKING:  # torch and OpenCV load only when a folder holds an audio-visual model
    from ..data.clips import Clip, ClipSpec
    from ..models.realtime import RealtimeModel

AV_DIR = "av"
SAMPLE_RATE = 16000


def find_av(model_dir: str | Path) -> Path | None:
    """``model_dir/av/``, else the first ``model_dir/models/*/`` holding an ``av`` model (an
    ``emofuse train`` RUN_DIR with a real-time model), else ``None``."""
    import json

    root = Path(model_dir)
    if (root / AV_DIR / META_FILE).is_file():
        return root / AV_DIR
    for folder in sorted((root / "models").glob("*")):
        meta = folder / META_FILE
        if meta.is_file() and json.loads(meta.read_text()).get("modality") == "av":
            return folder
    return None


def load_av(model_dir: str | Path, backend: str = "auto") -> RealtimeModel | None:
    """The audio-visual model of ``model_dir`` (see :func:`find_av`), or ``None``."""
    folder = find_av(model_dir)
    if folder is None:
        return None
    from ..models.realtime import RealtimeModel

    model = RealtimeModel.load(folder, backend)
    unknown = [lab for lab in model.labels if lab not in CANONICAL]
    if unknown:
        raise DataError(f"{folder}: labels {unknown} are not canonical emotions")
    return model


def canonical(model: RealtimeModel, probs: np.ndarray) -> np.ndarray:
    """Probabilities in the model's label order -> :data:`CANONICAL` order (0 for absent)."""
    out = np.zeros((len(probs), len(CANONICAL)))
    for j, lab in enumerate(model.labels):
        out[:, CANONICAL.index(lab)] = probs[:, j]
    return out


def segment_clips(
    path: str | Path, info: Any, segments: Sequence[Any], spec: ClipSpec, detector: Tracker
) -> list[Clip]:
    """One clip per segment of a media file (frames at the spec's fps, the segment's sound)."""
    from ..data.clips import clip_from_frames, frames_at, sample_times

    clips = []
    for seg in segments:
        if info.kind == "image":
            frames = [decode.load_image(path)]
        elif info.has_video and seg.end > seg.start:
            try:
                times = sample_times(seg.start, seg.end, spec)
                frames = frames_at(path, times, spec.fps, seg.start, seg.end)
            except DataError:
                frames = []
        else:
            frames = []
        wave = None
        if info.has_audio and seg.end > seg.start:
            wave = decode.load_audio(path, SAMPLE_RATE, start=seg.start, end=seg.end)
        if frames:
            clips.append(clip_from_frames(frames, wave, spec, detector))
        else:
            clips.append(_empty(spec, wave))
    return clips


def _empty(spec: ClipSpec, wave: np.ndarray | None) -> Clip:
    from ..data.clips import Clip

    s = spec.face_size
    return Clip(
        np.zeros((0, s, s), np.uint8),
        np.zeros(0, bool),
        np.zeros((0, *spec.frame_shape), np.uint8),
        None if wave is None else wave[: int(spec.max_seconds * SAMPLE_RATE)],
    )


def segment_probs(
    model: RealtimeModel,
    path: str | Path,
    info: Any,
    segments: Sequence[Any],
    detector: Tracker | None = None,
) -> list[np.ndarray | None]:
    """Canonical probabilities per segment (``None`` where the clip has nothing to read).

    ``detector`` defaults to the Haar cascade, which cut the clips the model was trained on
    (:func:`emofuse.data.clips.clip_from_frames`).
    """
    detector = detector or FaceDetector()
    clips = segment_clips(path, info, segments, model.clip_spec, detector)
    usable = [i for i, c in enumerate(clips) if model.streams_used(c) != []]
    out: list[np.ndarray | None] = [None] * len(clips)
    if usable:
        probs = canonical(model, model.predict_proba([clips[i] for i in usable]))
        for i, p in zip(usable, probs):
            out[i] = p
    return out


class AVStream:
    """The last frames of a live session, fed to the audio-visual model with the sound."""

    def __init__(self, model: RealtimeModel):
        self.model = model
        self.spec = model.clip_spec
        self.detector = FaceDetector()  # the Haar cascade, as the training clips were cut
        self.faces: deque[np.ndarray] = deque(maxlen=self.spec.frames)
        self.valid: deque[bool] = deque(maxlen=self.spec.frames)
        self.frames: deque[np.ndarray] = deque(maxlen=self.spec.frames)

    def push(self, rgb: np.ndarray, box: Box | None) -> None:
        """Add a frame (RGB) and its main face box (``None``: no face)."""
        from ..data.clips import downscale

        s = self.spec.face_size
        self.faces.append(
            crop_face(rgb, box, size=s) if box is not None else np.zeros((s, s), np.uint8)
        )
        self.valid.append(box is not None)
        self.frames.append(downscale(rgb, self.spec.frame_shape))

    def probs(self, wave: np.ndarray | None) -> np.ndarray | None:
        """Canonical probabilities from the frames so far and ``wave`` (the audio window)."""
        if wave is not None:
            wave = wave[-int(self.spec.max_seconds * SAMPLE_RATE) :]
        from ..data.clips import Clip

        if not self.frames:
            clip = _empty(self.spec, wave)
        else:
            clip = Clip(np.stack(self.faces), np.array(self.valid), np.stack(self.frames), wave)
        if not self.model.streams_used(clip):
            return None
        return canonical(self.model, self.model.predict_proba([clip]))[0]
