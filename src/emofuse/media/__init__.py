"""Media layer: decode files (PyAV), cut them into segments, find and crop faces.

>>> from emofuse.media import probe, iter_frames, load_audio, read_transcript  # doctest: +SKIP
>>> info = probe("clip.mp4")                                                   # doctest: +SKIP
"""

from __future__ import annotations

from .decode import (
    AUDIO_EXTS,
    IMAGE_EXTS,
    VIDEO_EXTS,
    MediaInfo,
    is_silent,
    iter_audio,
    iter_frames,
    iter_spans,
    load_audio,
    media_kind,
    probe,
    rms_dbfs,
)
from .faces import Box, FaceDetector, crop_face, main_face
from .images import load_image
from .segments import Segment, fixed_windows, read_transcript

__all__ = [
    "AUDIO_EXTS",
    "IMAGE_EXTS",
    "VIDEO_EXTS",
    "Box",
    "FaceDetector",
    "MediaInfo",
    "Segment",
    "crop_face",
    "fixed_windows",
    "is_silent",
    "iter_audio",
    "iter_frames",
    "iter_spans",
    "load_audio",
    "load_image",
    "main_face",
    "media_kind",
    "probe",
    "read_transcript",
    "rms_dbfs",
]
