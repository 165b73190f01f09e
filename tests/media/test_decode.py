"""Decoding: kinds, probing, frame sampling, audio loading and resampling, bad files."""

from __future__ import annotations

import inspect
import itertools

import cv2
import numpy as np
import pytest

from emofuse.errors import DataError, UsageError
from emofuse.media import (
    AUDIO_EXTS,
    IMAGE_EXTS,
    VIDEO_EXTS,
    is_silent,
    iter_audio,
    iter_frames,
    load_audio,
    load_image,
    media_kind,
    probe,
    rms_dbfs,
)
from tests.fixtures import (
    AUDIO_CODECS,
    VIDEO_CODECS,
    peak_hz,
    tone,
    write_gapped_audio,
    write_tiny_video,
    write_tone,
    write_tone_wav,
)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def clip(media_dir):
    """2 s, 10 fps, 160x120 H.264 + AAC."""
    return write_tiny_video(media_dir / "clip.mp4")


@pytest.fixture(scope="module")
def silent_clip(media_dir):
    return write_tiny_video(media_dir / "mute.mp4", with_audio=False)


@pytest.fixture(scope="module")
def wav16k(media_dir):
    return write_tone_wav(media_dir / "tone.wav", seconds=2.5, sr=16000, freq=440.0)


@pytest.fixture
def corrupt(tmp_path):
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


# ---- kinds -------------------------------------------------------------------------------


def test_media_kind_by_extension(tmp_path):
    for exts, kind in ((VIDEO_EXTS, "video"), (AUDIO_EXTS, "audio"), (IMAGE_EXTS, "image")):
        for ext in exts:
            path = tmp_path / f"x{ext.upper()}"
            path.touch()
            assert media_kind(path) == kind


def test_media_kind_missing_and_unsupported(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        media_kind(tmp_path / "nope.mp4")
    (tmp_path / "notes.txt").touch()
    with pytest.raises(UsageError, match=r"'\.txt'.*\.mp4"):
        media_kind(tmp_path / "notes.txt")


# ---- every supported format decodes -------------------------------------------------------


@pytest.mark.parametrize("ext", sorted(AUDIO_CODECS))
def test_audio_formats_decode(tmp_path, ext):
    path = write_tone(tmp_path / f"tone{ext}", seconds=1.0, sr=16000, freq=440.0, channels=2)
    info = probe(path)
    assert (info.kind, info.has_audio, info.has_video) == ("audio", True, False)
    assert info.duration == pytest.approx(1.0, abs=0.1)
    wave = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert wave.size == pytest.approx(16000, rel=0.1)  # lossy codecs add priming/padding
    assert peak_hz(wave, 16000) == pytest.approx(440.0, abs=3.0)


@pytest.mark.parametrize("ext", sorted(VIDEO_CODECS))
def test_video_formats_decode(tmp_path, ext):
    path = write_tiny_video(tmp_path / f"clip{ext}", seconds=2, fps=10)
    info = probe(path)
    assert (info.kind, info.has_video, info.has_audio) == ("video", True, True)
    assert (info.width, info.height) == (160, 120)
    assert info.fps == pytest.approx(10.0)
    assert info.duration == pytest.approx(2.0, abs=0.15)
    frames = list(iter_frames(path, fps=2))
    assert 4 <= len(frames) <= 5  # AVI's mpeg4 muxing shifts late frames by one tick
    assert all(rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8 for _, rgb in frames)
    wave = load_audio(path)
    assert wave.size == pytest.approx(32000, rel=0.05)
    assert peak_hz(wave, 16000) == pytest.approx(440.0, abs=3.0)


def test_image_probe_and_load(tmp_path):
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 0] = 200  # red
    for ext in (".png", ".jpg"):
        path = tmp_path / f"img{ext}"
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        info = probe(path)
        assert (info.kind, info.width, info.height, info.duration) == ("image", 40, 30, 0.0)
        loaded = load_image(path)
        assert loaded.shape == (30, 40, 3) and loaded.dtype == np.uint8
        assert loaded[..., 0].mean() > 190 and loaded[..., 2].mean() < 10  # stays RGB


# ---- frame sampling -------------------------------------------------------------------------


def test_iter_frames_sampling_rate_and_timestamps(clip):
    times = [t for t, _ in iter_frames(clip, fps=2)]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5], abs=1e-3)
    times = [t for t, _ in iter_frames(clip, fps=5)]
    assert np.diff(times) == pytest.approx([0.2] * 9, abs=1e-3)
    # asking for more than the source has yields every frame once
    assert len(list(iter_frames(clip, fps=100))) == 20


def test_iter_frames_moving_content(clip):
    frames = [rgb for _, rgb in iter_frames(clip, fps=2)]
    assert all(np.abs(a.astype(int) - b).mean() > 1 for a, b in itertools.pairwise(frames))


def test_iter_frames_start_end_streams(clip):
    gen = iter_frames(clip, fps=2, start=0.5, end=1.5)
    assert inspect.isgenerator(gen)
    assert [t for t, _ in gen] == pytest.approx([0.5, 1.0], abs=1e-3)
    first = next(iter_frames(clip, fps=2, start=1.0))
    assert first[0] == pytest.approx(1.0, abs=1e-3)


def test_iter_frames_usage_errors(clip):
    with pytest.raises(UsageError, match="fps"):
        next(iter_frames(clip, fps=0))
    with pytest.raises(UsageError, match="end"):
        next(iter_frames(clip, start=1.0, end=1.0))
    with pytest.raises(UsageError, match="start"):
        next(iter_frames(clip, start=-1.0))


# ---- audio ---------------------------------------------------------------------------------


def test_resample_44k_stereo_to_16k_mono(tmp_path):
    path = write_tone_wav(tmp_path / "stereo.wav", seconds=1.0, sr=44100, freq=440.0, channels=2)
    wave = load_audio(path, sample_rate=16000)
    assert wave.dtype == np.float32 and wave.shape == (16000,)
    assert np.abs(wave).max() <= 1.0
    assert peak_hz(wave, 16000) == pytest.approx(440.0, abs=1.0)
    assert rms_dbfs(wave) == pytest.approx(20 * np.log10(0.45 / np.sqrt(2)), abs=0.2)  # (L+R)/2


def test_load_audio_start_end(wav16k):
    full = load_audio(wav16k)
    assert full.shape == (40000,)
    part = load_audio(wav16k, start=0.5, end=1.5)
    assert part.shape == (16000,)
    np.testing.assert_allclose(part, full[8000:24000], atol=1e-4)
    assert load_audio(wav16k, start=2.0).shape == (8000,)


def test_iter_audio_chunks(wav16k):
    chunks = list(iter_audio(wav16k, chunk_seconds=1.0))
    assert [t for t, _ in chunks] == [0.0, 1.0, 2.0]
    assert [c.size for _, c in chunks] == [16000, 16000, 8000]
    np.testing.assert_allclose(np.concatenate([c for _, c in chunks]), load_audio(wav16k))


def test_audio_gap_is_filled_with_silence(tmp_path):
    path = write_gapped_audio(tmp_path / "gap.mkv", starts=[0.0, 1.0])  # silent 0.5-1.0 s
    wave = load_audio(path)
    assert wave.shape == (24000,)
    assert is_silent(wave[8000:16000]) and not is_silent(wave[16000:])
    assert peak_hz(wave[16000:], 16000) == pytest.approx(440.0, abs=3.0)


def test_video_audio_track(clip):
    wave = load_audio(clip, sample_rate=8000, start=0.5, end=1.5)
    assert wave.shape == (8000,)
    assert peak_hz(wave, 8000) == pytest.approx(440.0, abs=2.0)


def test_no_audio_track(silent_clip):
    info = probe(silent_clip)
    assert info.has_video and not info.has_audio
    with pytest.raises(DataError, match="no audio track"):
        load_audio(silent_clip)


def test_no_video_track(wav16k):
    with pytest.raises(DataError, match="no video track"):
        next(iter_frames(wav16k))


def test_load_audio_usage_errors(wav16k):
    with pytest.raises(UsageError):
        load_audio(wav16k, sample_rate=0)
    with pytest.raises(UsageError):
        load_audio(wav16k, start=2.0, end=1.0)
    with pytest.raises(UsageError):
        next(iter_audio(wav16k, chunk_seconds=0))


# ---- bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call", [probe, load_audio, lambda p: next(iter_frames(p)), lambda p: next(iter_audio(p))]
)
def test_corrupt_file_is_data_error(corrupt, call):
    with pytest.raises(DataError) as err:
        call(corrupt)
    assert "corrupt.mp4" in str(err.value) and "\n" not in str(err.value)


def test_empty_file(tmp_path):
    for name in ("empty.wav", "empty.mp4"):
        (tmp_path / name).touch()
        with pytest.raises(DataError, match="empty file"):
            probe(tmp_path / name)
        with pytest.raises(DataError, match="empty file"):
            load_audio(tmp_path / name)


def test_missing_file(tmp_path):
    missing = tmp_path / "missing.mp4"
    for call in (probe, load_audio, load_image, lambda p: next(iter_frames(p))):
        with pytest.raises(DataError, match="file not found"):
            call(missing)


def test_unsupported_extension_probe(tmp_path):
    (tmp_path / "clip.xyz").write_bytes(b"data")
    with pytest.raises(UsageError, match="supported"):
        probe(tmp_path / "clip.xyz")


# ---- images --------------------------------------------------------------------------------


def test_load_image_arrays():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    rgb = load_image(gray)
    assert rgb.shape == (3, 4, 3) and (rgb[..., 1] == gray).all()
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 2] = 7
    assert load_image(rgba).shape == (3, 4, 3) and (load_image(rgba)[..., 2] == 7).all()
    floats = np.full((2, 2, 3), 0.5, np.float32)
    assert load_image(floats).dtype == np.uint8 and load_image(floats)[0, 0, 0] == 128
    assert load_image(np.full((2, 2), 2.0)).max() == 255  # clipped


def test_load_image_bad_inputs(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"bad\.png"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(DataError, match="shape"):
        load_image(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(DataError):
        load_image(np.zeros((0, 3), np.uint8))


# ---- levels --------------------------------------------------------------------------------


def test_rms_dbfs():
    assert rms_dbfs(np.zeros(1000, np.float32)) == -120.0
    assert rms_dbfs(np.zeros(0, np.float32)) == -120.0
    full_scale_sine = tone(1.0, 16000, 100.0, amp=1.0)[0]
    assert rms_dbfs(full_scale_sine) == pytest.approx(-3.01, abs=0.05)
    assert rms_dbfs(np.full(10, 0.1)) == pytest.approx(-20.0)
    assert rms_dbfs(np.full(10, 16384, np.int16)) == pytest.approx(-6.02, abs=0.01)


def test_is_silent():
    assert is_silent(np.zeros(16000, np.float32))
    assert is_silent(np.zeros(0, np.float32))
    loud = tone(0.5, 16000, 440.0, amp=0.5)[0]
    quiet = tone(0.5, 16000, 440.0, amp=1e-4)[0]  # about -83 dBFS
    assert not is_silent(loud)
    assert is_silent(quiet)
    assert not is_silent(quiet, threshold_dbfs=-90.0)
