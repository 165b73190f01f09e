"""What an encoder reads for a manifest row: the text, or the media decoded for its modality.

A row becomes an :class:`ItemRef` (plain data a worker can receive): the text or the
absolute media path, the column it came from and, for audio and video, the row's
``start``/``end`` segment in seconds. :func:`load_input` decodes only that segment.
:class:`InputOptions` say how media become inputs: ``crop_faces`` detects and crops the
main face (:func:`emofuse.media.faces.face_crop`) of each image or sampled video frame for
face/image/video encoders; ``fps`` samples video frames. :func:`input_tag` is the part of
an item's key that these add (empty for a whole file with the default options, so keys
of earlier stores stay valid).

>>> ref = ItemRef("/data/clip.mp4", "video", start=1.5, end=3.0)
>>> input_tag("voice", ref, InputOptions())
'segment=1.5,3.0'
>>> input_tag("face", ref, InputOptions(crop_faces=True))
'segment=1.5,3.0|crop=48'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import DataError, UsageError

#: manifest column(s) that hold each modality's input, tried in order
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "voice": ("audio", "video"),
    "face": ("image", "video"),
    "image": ("image",),
    "video": ("video",),
}
#: modalities whose inputs can be face crops
FACE_MODALITIES = ("face", "image", "video")
#: columns whose media have a time line (a row's start/end apply)
TIMED_COLUMNS = ("audio", "video")
VIDEO_FPS = 2.0
#: most video frames one item may sample (a longer video needs start/end or a lower fps)
MAX_FRAMES = 300
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class InputOptions:
    """How media become encoder inputs; see the module docstring."""

    crop_faces: bool = False
    face_size: int = 48
    fps: float = VIDEO_FPS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise UsageError(f"fps must be a positive number, got {self.fps}")
        if not 8 <= self.face_size <= 1024:
            raise UsageError(f"face_size must be in [8, 1024] pixels, got {self.face_size}")

    def check(self, modality: str) -> InputOptions:
        if self.crop_faces and modality not in FACE_MODALITIES:
            raise UsageError(
                f"crop_faces applies to {'/'.join(FACE_MODALITIES)} encoders, not {modality}"
            )
        return self


@dataclass(frozen=True)
class ItemRef:
    """One item's input: ``value`` (the text, or an absolute media path) from ``column``,
    and for audio/video a segment ``[start, end)`` in seconds (``None``: file start/end)."""

    value: str
    column: str
    start: float | None = None
    end: float | None = None

    @property
    def segment(self) -> str:
        """``""`` for a whole file, else ``"start,end"`` (``end`` may be ``None``)."""
        if self.start is None and self.end is None:
            return ""
        return f"{self.start or 0.0},{self.end}"


def item_ref(manifest: Any, row: Any, modality: str) -> ItemRef:
    """The input of one manifest row for ``modality``; :class:`DataError` if it has none."""
    from ..data.manifest import _is_null

    for column in INPUT_COLUMNS[modality]:
        if column in row and not _is_null(row[column]):
            if modality == "text":
                return ItemRef(str(row[column]), column)
            path = str(manifest.media_path(row, column))
            # a row with both an audio file and a video (IEMOCAP: the turn's own wav and the
            # dialogue's avi): start/end locate the turn in the video, the audio is the turn
            own_recording = column == "audio" and not _is_null(row.get("video"))
            if column not in TIMED_COLUMNS or own_recording:
                return ItemRef(path, column)
            start, end = _seconds(row, "start"), _seconds(row, "end")
            if start is not None and start < 0:
                raise DataError(f"item {row['id']!r}: start {start} < 0")
            if end is not None and end <= (start or 0.0):
                raise DataError(f"item {row['id']!r}: end {end} <= start {start or 0.0}")
            return ItemRef(path, column, start, end)
    raise DataError(f"item {row['id']!r} has no {' or '.join(INPUT_COLUMNS[modality])}")


def _seconds(row: Any, column: str) -> float | None:
    value = row.get(column) if hasattr(row, "get") else None
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DataError(f"item {row['id']!r}: {column} {value!r} is not a number") from None
    if math.isnan(value):
        return None
    if not math.isfinite(value):
        raise DataError(f"item {row['id']!r}: {column} is {value}")
    return value


def input_tag(modality: str, ref: ItemRef, options: InputOptions) -> str:
    """What the segment and the options add to an item's key (``""``: nothing)."""
    parts = []
    if ref.segment:
        parts.append(f"segment={ref.segment}")
    if options.crop_faces and modality in FACE_MODALITIES:
        parts.append(f"crop={options.face_size}")
    if ref.column == "video" and modality in FACE_MODALITIES and options.fps != VIDEO_FPS:
        parts.append(f"fps={options.fps}")
    return "|".join(parts)


def load_input(modality: str, ref: ItemRef, options: InputOptions | None = None) -> Any:
    """An encoder's batch item for ``ref``: text, 16 kHz audio, an image, or a list of
    frames (face crops with ``crop_faces``); only the ``ref``'s segment is decoded."""
    options = options or InputOptions()
    if modality == "text":
        return ref.value
    from ..media import decode

    where = ref.value + (f" [{ref.segment}]" if ref.segment else "")
    if modality == "voice":
        wave = decode.load_audio(ref.value, SAMPLE_RATE, start=ref.start or 0.0, end=ref.end)
        if wave.size == 0:
            raise DataError(f"no audio in {where}")
        return wave
    if ref.column == "image":
        image = decode.load_image(ref.value)
        return _crop(image, options.face_size, where) if options.crop_faces else image
    frames = []
    for _, rgb in decode.iter_frames(ref.value, options.fps, ref.start or 0.0, ref.end):
        if len(frames) >= MAX_FRAMES:
            raise DataError(
                f"{where}: more than {MAX_FRAMES} frames at {options.fps} fps; "
                "give the row start/end or extract with a lower fps"
            )
        frames.append(_crop(rgb, options.face_size, None) if options.crop_faces else rgb)
    frames = [f for f in frames if f is not None]
    if not frames:
        what = "no face in any sampled frame" if options.crop_faces else "no frames"
        raise DataError(f"{what} of {where}")
    return frames


def _crop(image: Any, size: int, where: str | None) -> Any:
    """The main face's crop; ``None`` (a video frame) or DataError (an image) without one."""
    from ..media.faces import face_crop

    crop, _ = face_crop(image, size=size)
    if crop is None and where is not None:
        raise DataError(f"no face found in {where}")
    return crop
