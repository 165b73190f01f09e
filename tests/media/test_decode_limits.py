"""Hostile media: picture sizes read from headers and capped before decoding; truncated WAVs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from emofuse.errors import DataError
from emofuse.media import images, iter_frames, load_image, probe
from tests.fixtures import jpeg_bytes, png_bytes, truncate, write_tiny_video, write_tone_wav


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bomb.png", png_bytes(20000, 20000, rows=4)),
        ("bomb.jpg", jpeg_bytes(claim=(20000, 20000))),
    ],
)
def test_huge_image_is_refused_from_its_header(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    for call in (load_image, probe):
        with pytest.raises(DataError, match=r"20000x20000 pixels is over the limit of 50 mega"):
            call(path)


def test_real_png_bomb_costs_no_memory(tmp_path):
    """A complete 12000 x 12000 PNG (430 MB decoded): refused with almost no allocation."""
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(12000, 12000))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="megapixels"):
            load_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak  # the file itself is ~0.3 MB


def test_image_format_comes_from_the_bytes(tmp_path):
    bmp = tmp_path / "photo.jpg"
    bmp.write_bytes(b"BM" + bytes(100))  # a BMP (or anything) named .jpg
    with pytest.raises(DataError, match="is not a JPEG or PNG image"):
        load_image(bmp)
    png_named_jpg = tmp_path / "really_png.jpg"
    png_named_jpg.write_bytes(png_bytes(30, 20))
    assert load_image(png_named_jpg).shape == (20, 30, 3)


def test_truncated_image_is_data_error(tmp_path):
    good = tmp_path / "ok.png"
    good.write_bytes(png_bytes(64, 48))
    for keep in (0.1, 0.5):
        cut = truncate(good, keep, tmp_path / f"cut{keep}.png")
        with pytest.raises(DataError):
            load_image(cut)


def test_decode_image_caps_and_scales():
    with pytest.raises(DataError, match=r"over the limit of 0\.001 megapixels"):
        images.decode_image(jpeg_bytes(64, 48), "frame", max_pixels=1000)
    with pytest.raises(DataError, match="not a JPEG image"):
        images.decode_image(png_bytes(30, 20), "frame", formats=("JPEG",))
    big = images.decode_image(jpeg_bytes(1600, 1200), "frame", max_side=320)
    assert big.shape == (240, 320, 3) and big.dtype == np.uint8


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_tiny_video(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=1)


def test_video_frames_over_the_cap_are_refused_before_decoding(clip, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 160 * 120 - 1)
    with pytest.raises(DataError, match="160x120 pixels is over the limit"):
        probe(clip)
    with pytest.raises(DataError, match="160x120 pixels is over the limit"):
        next(iter_frames(clip, fps=2))
    monkeypatch.setattr(images, "MAX_PIXELS", 160 * 120)
    assert probe(clip).width == 160


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_iter_frames_refuses_bad_fps(clip, bad):
    from emofuse.errors import UsageError

    with pytest.raises(UsageError, match="fps must be a finite number > 0"):
        next(iter_frames(clip, fps=bad))


def test_truncated_wav_is_reported(tmp_path):
    full = write_tone_wav(tmp_path / "full.wav", seconds=3.0)
    assert probe(full).warnings == ()
    cut = truncate(full, 0.5, tmp_path / "cut.wav")
    info = probe(cut)
    assert info.duration == pytest.approx(1.5, abs=0.01)
    [warning] = info.warnings
    assert "truncated" in warning and "1.50 s of the 3.00 s" in warning
