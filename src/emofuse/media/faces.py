"""Face detection (OpenCV Haar cascade, always available) and FER2013-style face crops.

>>> det = FaceDetector()
>>> rgb = load_image("photo.jpg")                             # doctest: +SKIP
>>> face = main_face(det.detect(rgb))                         # doctest: +SKIP
>>> crop_face(rgb, face).shape                                # doctest: +SKIP
(48, 48)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import EmofuseError, UsageError
from .decode import load_image

if TYPE_CHECKING:  # OpenCV is imported where faces are found, not at start-up
    import cv2

CASCADE_FILE = "haarcascade_frontalface_default.xml"
NEAR_FACE = 48  # px: the face's width when searched for near its last place
_local = threading.local()


@dataclass(frozen=True)
class Box:
    """A face box in pixels: top-left corner (x, y), width w and height h."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _cascade() -> cv2.CascadeClassifier:
    """The Haar cascade, loaded once per thread (a classifier is not safe to share)."""
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        import cv2

        path = cv2.data.haarcascades + CASCADE_FILE
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise EmofuseError(
                f"cannot load the Haar cascade {path}: "
                "install 'opencv-python-headless<5' (OpenCV 5 dropped it)"
            )
        _local.cascade = cascade
    return cascade


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    if image.ndim == 2 and image.dtype == np.uint8:
        return image
    return cv2.cvtColor(load_image(image), cv2.COLOR_RGB2GRAY)


class Tracker:
    """Follows the main face through a video with any detector's ``detect``/``detect_near``.

    The whole frame is searched on every ``every``-th frame and whenever the face was not
    found near its last place; the frames between look only near the last box.
    """

    every: int = 1

    def detect(self, image: np.ndarray) -> list[Box]:
        raise NotImplementedError

    def detect_near(self, image: np.ndarray, box: Box) -> Box | None:
        raise NotImplementedError

    def track(
        self, frames: Iterable[tuple[float, np.ndarray]], every: int | None = None
    ) -> Iterator[tuple[float, np.ndarray, Box | None]]:
        """(time, frame, main face box or None) for each frame of a video, in order.

        ``every`` defaults to ``self.every``; 1 searches every whole frame.
        """
        every = self.every if every is None else every
        box, since = None, 0
        for t, frame in frames:
            found = None
            if box is not None and since + 1 < every:
                found = self.detect_near(frame, box)
                since += 1
            if found is None:
                found, since = main_face(self.detect(frame)), 0
            box = found
            yield t, frame, box


class FaceDetector(Tracker):
    """Frontal faces with OpenCV's Haar cascade, run on a downscaled, equalised gray image.

    min_size is the smallest face as a fraction of the image's shorter side; max_side caps
    the longer side of the image the cascade sees (boxes come back in original pixels).
    In a video (:meth:`track`) the whole frame is searched on every ``every``-th frame and
    when the face is lost; in between, only the region around the last face, at its scale.

    >>> FaceDetector().detect(np.zeros((480, 640, 3), np.uint8))
    []
    """

    def __init__(
        self,
        min_size: float = 0.08,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        max_side: int = 320,
        every: int = 5,
    ):
        if not 0 <= min_size < 1:
            raise UsageError(
                f"min_size is a fraction of the shorter side in [0, 1), got {min_size}"
            )
        if scale_factor <= 1:
            raise UsageError(f"scale_factor must be > 1, got {scale_factor}")
        if min_neighbors < 0:
            raise UsageError(f"min_neighbors must be >= 0, got {min_neighbors}")
        if max_side < 24:
            raise UsageError(f"max_side must be >= 24 pixels, got {max_side}")
        if every < 1:
            raise UsageError(f"every must be >= 1 (1: search every whole frame), got {every}")
        self.every = every
        self.min_size = min_size
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.max_side = max_side

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Face boxes in the image's own pixel coordinates, largest first."""
        import cv2

        gray = _gray(rgb)
        h, w = gray.shape
        scale = min(1.0, self.max_side / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        side = max(24, round(self.min_size * min(gray.shape)))  # the cascade's window is 24 px
        if side > min(gray.shape):
            return []
        found = _cascade().detectMultiScale(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(side, side),
        )
        boxes = []
        for bx, by, bw, bh in np.asarray(found).reshape(-1, 4):
            x0, y0 = max(0, round(bx / scale)), max(0, round(by / scale))
            x1, y1 = min(w, round((bx + bw) / scale)), min(h, round((by + bh) / scale))
            boxes.append(Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    def detect_near(self, image: np.ndarray, box: Box, margin: float = 0.5) -> Box | None:
        """The largest face near ``box``: the cascade over ``box`` grown by ``margin`` of its
        size on each side, at 0.7-1.4x its size only (a few small scans, not a pyramid)."""
        import cv2

        gray = _gray(image)
        side = max(box.w, box.h)
        x0, y0, x1, y1 = near_region(gray.shape, box, margin)
        if x1 - x0 < 24 or y1 - y0 < 24:
            return None
        scale = min(1.0, NEAR_FACE / side)  # the face becomes ~NEAR_FACE px wide
        roi = gray[y0:y1, x0:x1]
        if scale < 1.0:
            size = (max(24, round(roi.shape[1] * scale)), max(24, round(roi.shape[0] * scale)))
            roi = cv2.resize(roi, size, interpolation=cv2.INTER_AREA)
        lo = max(24, round(0.7 * side * scale))
        hi = max(lo + 1, round(1.4 * side * scale))
        found = _cascade().detectMultiScale(
            cv2.equalizeHist(roi),
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(lo, lo),
            maxSize=(hi, hi),
        )
        boxes = [
            Box(
                x0 + round(bx / scale), y0 + round(by / scale), round(bw / scale), round(bh / scale)
            )
            for bx, by, bw, bh in np.asarray(found).reshape(-1, 4)
        ]
        return main_face(boxes)


def near_region(shape: tuple[int, ...], box: Box, margin: float) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: ``box`` grown by ``margin`` of its longer side, inside the image."""
    h, w = shape[:2]
    grow = margin * max(box.w, box.h)
    x0, y0 = max(0, round(box.x - grow)), max(0, round(box.y - grow))
    return x0, y0, min(w, round(box.x + box.w + grow)), min(h, round(box.y + box.h + grow))


def main_face(boxes: list[Box]) -> Box | None:
    """The largest box, or None when there is none."""
    return max(boxes, key=lambda b: b.area, default=None)


def crop_face(image: np.ndarray, box: Box, size: int = 48, margin: float = 0.0) -> np.ndarray:
    """Gray uint8 (size, size) crop of `box` grown by `margin` (a fraction of its size).

    A non-square box is widened to a square around its centre; parts outside the image are
    filled by repeating the edge pixels. With the default margin 0 a Haar box gives the tight
    crop FER2013's 48x48 faces have.

    >>> crop_face(np.zeros((100, 100, 3), np.uint8), Box(10, 10, 30, 30)).shape
    (48, 48)
    """
    if box.w <= 0 or box.h <= 0:
        raise UsageError(f"face box must have a positive size, got {box}")
    if size <= 0 or margin < -0.5:
        raise UsageError(f"need size > 0 and margin >= -0.5, got size={size}, margin={margin}")
    import cv2

    gray = _gray(image)
    h, w = gray.shape
    side = max(box.w, box.h) * (1.0 + 2.0 * margin)
    cx, cy = box.x + box.w / 2.0, box.y + box.h / 2.0
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    x1, y1 = max(x0 + 1, round(cx + side / 2)), max(y0 + 1, round(cy + side / 2))
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = gray[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def face_crop(
    image: np.ndarray,
    detector: Tracker | None = None,
    size: int = 48,
    small: int = 96,
    crops: bool | None = None,
) -> tuple[np.ndarray | None, Box | None]:
    """The main face's gray ``(size, size)`` crop and its box, or ``(None, None)``.

    ``crops``: ``True`` when the image already is a face crop (taken whole, no detector),
    ``False`` to always detect, ``None`` to take an image no larger than ``small`` pixels
    on its longer side as a crop (FER-style; a detector run inside a 48 px crop finds
    spurious smaller "faces") and detect in larger ones. A crop taken whole has no box.

    >>> crop, box = face_crop(np.zeros((48, 48, 3), np.uint8))
    >>> crop.shape, box
    ((48, 48), None)
    """
    h, w = image.shape[:2]
    if crops or (crops is None and max(h, w) <= small):
        return crop_face(image, Box(0, 0, w, h), size=size), None
    box = main_face((detector or FaceDetector()).detect(image))
    if box is None:
        return None, None
    return crop_face(image, box, size=size), box
