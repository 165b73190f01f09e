"""Audio-visual clips: synthesised from a face photo (the sample clip's way) or decoded."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emofuse.data.clips import (
    Clip,
    ClipSpec,
    clip_from_frames,
    load_clip,
    sample_times,
    synthesize,
)
from emofuse.errors import DataError
from emofuse.media.faces import Box
from tests.fixtures import write_tiny_video, write_tone_wav


def _face(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (48, 48), dtype=np.uint8), (5, 5), 0)


def test_synthesized_clip_shapes_and_the_face_in_it():
    spec = ClipSpec(frames=5)
    wave = np.zeros(16000 * 6, np.float32)
    clip = synthesize(_face(), wave, spec, text="so happy")
    assert clip.faces.shape == (5, 48, 48) and clip.frames.shape == (5, 48, 64)
    assert clip.face_valid.all() and clip.text == "so happy"
    assert len(clip.wave) == 16000 * 4  # cut at max_seconds
    # without augmentation every frame is the same centred face on the sample clip's gray
    assert (clip.frames == clip.frames[0]).all() and (clip.faces == clip.faces[0]).all()
    assert abs(int(clip.frames[0, 0, 0]) - 128) <= 1
    inner = _face()[4:43, 4:43]  # where a Haar box sits in a FER-style photo (HAAR_BOX)
    a = cv2.resize(inner, (24, 24), interpolation=cv2.INTER_AREA).astype(float)
    b = cv2.resize(clip.faces[0], (24, 24), interpolation=cv2.INTER_AREA).astype(float)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.8  # the crop shows the photo


def test_augmentation_is_light_seeded_and_varies_per_frame():
    spec = ClipSpec(frames=4)
    one = synthesize(_face(), None, spec, np.random.default_rng(1))
    two = synthesize(_face(), None, spec, np.random.default_rng(1))
    other = synthesize(_face(), None, spec, np.random.default_rng(2))
    np.testing.assert_array_equal(one.faces, two.faces)
    assert not np.array_equal(one.frames[0], one.frames[1])  # each frame jitters
    assert not np.array_equal(one.frames, other.frames)
    plain = synthesize(_face(), None, spec)
    diff = np.abs(one.faces.astype(float) - plain.faces.astype(float)).mean()
    assert diff < 60  # light: still the same face


def test_clip_from_frames_marks_frames_without_a_face():
    frames = [np.full((120, 160, 3), 90, np.uint8) for _ in range(3)]
    boxes = [Box(10, 10, 50, 50), None, Box(0, 0, 30, 40)]
    clip = clip_from_frames(frames, None, ClipSpec(), boxes=boxes)
    assert clip.face_valid.tolist() == [True, False, True]
    assert (clip.faces[1] == 0).all() and clip.wave is None and not clip.has_audio
    with pytest.raises(DataError, match="at least one frame"):
        clip_from_frames([], None, ClipSpec())


def test_sample_times_are_spread_and_bounded():
    assert sample_times(0.0, 4.0, ClipSpec(frames=4, fps=2.0)).tolist() == [0.5, 1.5, 2.5, 3.5]
    assert len(sample_times(0.0, 0.4, ClipSpec(frames=8, fps=4.0))) == 2  # at most fps
    assert len(sample_times(0.0, 100.0, ClipSpec(frames=8))) == 8


def test_load_clip_from_a_video_span_and_from_a_paired_row(tmp_path):
    write_tiny_video(tmp_path / "v.mp4", seconds=2.0)
    spec = ClipSpec(frames=3, fps=4.0)
    row = {"video": "v.mp4", "start": 0.5, "end": 1.5}
    clip = load_clip(row, lambda c: tmp_path / row[c], spec)
    assert clip.frames.shape == (3, 48, 64) and clip.faces.shape == (3, 48, 48)
    assert not clip.face_valid.any()  # a sliding square is no face
    assert abs(len(clip.wave) - 16000) < 800  # the span's sound

    cv2.imwrite(str(tmp_path / "f.png"), _face())
    write_tone_wav(tmp_path / "a.wav", 1.0, 16000, 300.0)
    paired = {"image": "f.png", "audio": "a.wav", "text": "hello"}
    clip = load_clip(paired, lambda c: tmp_path / paired[c], spec, np.random.default_rng(0))
    assert isinstance(clip, Clip) and clip.face_valid.all() and clip.text == "hello"
    assert len(clip.wave) == 16000
    with pytest.raises(DataError, match="neither a video nor an image"):
        load_clip({"text": "x"}, lambda c: None, spec)


def test_a_turn_wav_next_to_a_dialogue_video_is_not_cut_again(tmp_path):
    write_tiny_video(tmp_path / "dialogue.mp4", seconds=3.0)
    write_tone_wav(tmp_path / "turn.wav", 1.2, 16000, 300.0)
    row = {"video": "dialogue.mp4", "audio": "turn.wav", "start": 1.5, "end": 2.7}  # IEMOCAP
    clip = load_clip(row, lambda c: tmp_path / row[c], ClipSpec(frames=2))
    assert len(clip.wave) == round(1.2 * 16000)  # the turn's own wav, whole
    cv2.imwrite(str(tmp_path / "f.png"), _face())
    alone = {"audio": "turn.wav", "image": "f.png", "start": 0.2, "end": 0.7}  # a span
    clip = load_clip(alone, lambda c: tmp_path / alone[c], ClipSpec())
    assert abs(len(clip.wave) - 8000) < 200
