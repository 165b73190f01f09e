"""Face boxes, the Haar detector and FER2013-style crops."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.media import Box, FaceDetector, crop_face, main_face
from tests.fixtures import make_face_image


def test_box():
    box = Box(1, 2, 30, 40)
    assert box.area == 1200
    assert box.to_dict() == {"x": 1, "y": 2, "w": 30, "h": 40}
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.x = 5  # type: ignore[misc]


def test_main_face():
    assert main_face([]) is None
    small, big = Box(0, 0, 10, 10), Box(5, 5, 20, 20)
    assert main_face([small, big, small]) == big


def test_detect_nothing_on_blank_images():
    det = FaceDetector()
    assert det.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert det.detect(np.full((20, 20), 128, np.uint8)) == []  # smaller than the cascade


def test_detector_usage_errors():
    for kwargs in (
        {"min_size": 1.5},
        {"scale_factor": 1.0},
        {"min_neighbors": -1},
        {"max_side": 10},
    ):
        with pytest.raises(UsageError):
            FaceDetector(**kwargs)


def test_crop_face_region_and_margin():
    img = np.zeros((100, 100), np.uint8)
    img[20:60, 30:70] = 255  # the "face"
    crop = crop_face(img, Box(30, 20, 40, 40))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert crop.min() == 255
    wide = crop_face(img, Box(30, 20, 40, 40), margin=0.25)  # 60 px around the face
    assert wide[24, 24] == 255 and wide[0, 0] == 0 and wide[47, 47] == 0
    assert crop_face(img, Box(30, 20, 40, 40), size=64).shape == (64, 64)


def test_crop_face_rgb_matches_gray():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    box = Box(10, 5, 40, 40)
    np.testing.assert_array_equal(crop_face(rgb, box), crop_face(gray, box))
    floats = rgb.astype(np.float32) / 255.0
    assert np.abs(crop_face(floats, box).astype(int) - crop_face(rgb, box)).max() <= 1


def test_crop_face_pads_outside_with_edges():
    img = np.zeros((50, 50), np.uint8)
    img[:, 0] = 200  # left edge column
    crop = crop_face(img, Box(-20, 10, 30, 30), size=30)  # two thirds outside on the left
    assert crop.shape == (30, 30)
    assert (crop[:, :15] == 200).all()


def test_crop_face_non_square_box_is_squared():
    img = np.zeros((100, 100), np.uint8)
    img[40:60, 20:80] = 255  # 60 x 20 band
    crop = crop_face(img, Box(20, 40, 60, 20), size=60)
    # squared around the centre: the band fills only the middle third of the rows
    assert crop[30, 30] == 255 and crop[5, 30] == 0 and crop[55, 30] == 0


def test_crop_face_rejects_empty_box():
    with pytest.raises(UsageError):
        crop_face(np.zeros((10, 10), np.uint8), Box(0, 0, 0, 5))


@pytest.mark.integration
def test_detect_real_face_in_original_coordinates():
    rgb = make_face_image()
    det = FaceDetector()
    boxes = det.detect(rgb)
    assert len(boxes) == 1
    face = boxes[0]
    h, w = rgb.shape[:2]
    assert face.w > 0.2 * min(h, w) and face.x + face.w <= w and face.y + face.h <= h
    # twice the picture, twice the box: coordinates are in the input image's pixels
    big = cv2.resize(rgb, (2 * w, 2 * h))
    twice = main_face(det.detect(big))
    assert twice is not None
    assert twice.w == pytest.approx(2 * face.w, rel=0.15)
    assert twice.x == pytest.approx(2 * face.x, abs=0.1 * face.w)
    crop = crop_face(rgb, face)
    assert crop.shape == (48, 48) and crop.std() > 10
