"""Segments and face crops: what the encoder sees, and what the key includes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from emofuse.data.manifest import Manifest
from emofuse.encoders.base import EncoderConfig, build_encoder, register_encoder
from emofuse.errors import UsageError
from emofuse.features import FeatureStore, load_features, load_sequences
from emofuse.features.inputs import InputOptions, ItemRef, input_tag, load_input
from emofuse.features.keys import content_hash, encoder_prefix, item_key
from emofuse.media.decode import load_audio
from tests.features.test_store import run, write_wav
from tests.fixtures import require_sample, write_tiny_video


@dataclass
class SeenConfig(EncoderConfig):
    pass


class _Seen:
    """Describes what it was given: frames, height, width, channels (3 for gray)."""

    dim = 4

    def __init__(self, config):
        self.config = config

    def fingerprint(self) -> str:
        return "seen-v1"

    def encode(self, batch):
        rows = []
        for item in batch:
            frames = [item] if isinstance(item, np.ndarray) else list(item)
            h, w = frames[0].shape[:2]
            rows.append([len(frames), h, w, frames[0].ndim])
        return np.asarray(rows, np.float32).reshape(len(batch), 4)


@register_encoder("seen_face", SeenConfig)
class SeenFace(_Seen):
    modality = "face"


@register_encoder("seen_video", SeenConfig)
class SeenVideo(_Seen):
    modality = "video"


def segments_manifest(tmp_path) -> Manifest:
    write_wav(tmp_path / "a.wav", seed=0, seconds=1.0)
    rows = [
        {"id": "whole", "audio": "a.wav"},
        {"id": "first", "audio": "a.wav", "start": 0.0, "end": 0.5},
        {"id": "second", "audio": "a.wav", "start": 0.5, "end": 1.0},
        {"id": "second_again", "audio": "a.wav", "start": 0.5, "end": 1.0},
        {"id": "tail", "audio": "a.wav", "start": 0.75},
    ]
    return Manifest.from_records([{**r, "corpus": "toy"} for r in rows], root=tmp_path)


def test_segments_are_what_the_encoder_sees_and_are_keyed(tmp_path):
    m = segments_manifest(tmp_path)
    s = run(m, tmp_path / "s", encoder="toy_voice", kind="both")
    assert (s.computed, s.failed) == (5, 0)
    _, seqs = load_sequences(tmp_path / "s")
    assert [len(q) for q in seqs] == [20, 10, 10, 10, 5]  # one row per 800 samples
    _, x = load_features(tmp_path / "s")
    enc = build_encoder("toy_voice")
    wave = load_audio(tmp_path / "a.wav", 16000, start=0.5, end=1.0)
    np.testing.assert_array_equal(x[2], enc.encode([wave])[0])
    np.testing.assert_array_equal(x[2], x[3])  # the same segment, the same features
    assert len({tuple(r) for r in x}) == 4  # whole, first, second, tail all differ
    order = FeatureStore(tmp_path / "s").order()
    keys = dict(zip(order["ids"], order["keys"]))
    assert keys["second"] == keys["second_again"] and len(set(keys.values())) == 4
    # the same segment under another id is a cache hit; a new segment is computed
    again = Manifest.from_records(
        [
            {"id": "x", "corpus": "toy", "audio": "a.wav", "start": 0.5, "end": 1.0},
            {"id": "y", "corpus": "toy", "audio": "a.wav", "start": 0.25, "end": 0.5},
        ],
        root=tmp_path,
    )
    s2 = run(again, tmp_path / "s", encoder="toy_voice", kind="both")
    assert (s2.cached, s2.computed) == (1, 1)


def test_whole_file_keys_are_unchanged(tmp_path):
    """Stores written before segments existed stay valid: no tag, no change."""
    m = segments_manifest(tmp_path)
    run(m, tmp_path / "s", encoder="toy_voice")
    enc = build_encoder("toy_voice")
    old_style = item_key(encoder_prefix(enc), content_hash("voice", str(tmp_path / "a.wav")))
    assert FeatureStore(tmp_path / "s").order()["keys"][0] == old_style


def test_bad_segments_fail_their_row_only(tmp_path):
    m = segments_manifest(tmp_path)
    extra = [
        {"id": "negative", "audio": "a.wav", "start": -1.0, "end": 0.5},
        {"id": "backwards", "audio": "a.wav", "start": 0.6, "end": 0.2},
        {"id": "past_end", "audio": "a.wav", "start": 5.0, "end": 6.0},
        {"id": "words", "audio": "a.wav", "start": "soon"},
    ]
    m = Manifest.from_records(
        [*m.records(), *({**r, "corpus": "toy"} for r in extra)], root=tmp_path
    )
    s = run(m, tmp_path / "s", encoder="toy_voice")
    assert s.computed == 5 and set(s.errors) == {"negative", "backwards", "past_end", "words"}
    assert "start -1.0 < 0" in s.errors["negative"] and "end 0.2 <= start" in s.errors["backwards"]
    assert "no audio" in s.errors["past_end"] and "not a number" in s.errors["words"]


def test_text_ignores_segments():
    ref = ItemRef("hello", "text", None, None)
    assert input_tag("text", ref, InputOptions()) == ""
    assert load_input("text", ref) == "hello"


def _image_manifest(tmp_path) -> Manifest:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (64, 60, 3), dtype=np.uint8)  # FER-style: taken as a crop
    cv2.imwrite(str(tmp_path / "small.png"), small)
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((240, 320, 3), 128, np.uint8))
    rows = [{"id": "small", "image": "small.png"}, {"id": "blank", "image": "blank.png"}]
    return Manifest.from_records([{**r, "corpus": "toy"} for r in rows], root=tmp_path)


def test_crop_faces_of_images(tmp_path):
    m = _image_manifest(tmp_path)
    plain = run(m, tmp_path / "s", encoder="seen_face")
    assert plain.computed == 2
    _, x = load_features(tmp_path / "s")
    assert x.tolist() == [[1, 64, 60, 3], [1, 240, 320, 3]]
    cropped = run(m, tmp_path / "s", encoder="seen_face", crop_faces=True, face_size=32)
    assert (cropped.computed, cropped.cached) == (1, 0)  # the crop is keyed: recomputed
    assert "no face found" in cropped.errors["blank"]
    ids, x = load_features(tmp_path / "s")
    assert ids == ["small"] and x.tolist() == [[1, 32, 32, 2]]  # a gray 32x32 crop
    with pytest.raises(UsageError, match="crop_faces"):
        run(m, tmp_path / "t", encoder="toy_text", crop_faces=True)


def test_video_segments_and_fps(tmp_path):
    write_tiny_video(tmp_path / "v.mp4", seconds=2, fps=10, with_audio=False)
    rows = [
        {"id": "whole", "video": "v.mp4"},
        {"id": "part", "video": "v.mp4", "start": 0.5, "end": 1.5},
    ]
    m = Manifest.from_records([{**r, "corpus": "toy"} for r in rows], root=tmp_path)
    run(m, tmp_path / "s", encoder="seen_video")
    _, x = load_features(tmp_path / "s")
    assert x[:, 0].tolist() == [4, 2] and x[0, 1:].tolist() == [120, 160, 3]
    faster = run(m, tmp_path / "s", encoder="seen_video", fps=4.0)
    assert faster.computed == 2  # fps is keyed
    assert load_features(tmp_path / "s")[1][:, 0].tolist() == [8, 4]
    face = run(m, tmp_path / "f", encoder="seen_face", crop_faces=True)
    assert face.failed == 2 and "no face in any sampled frame" in face.errors["part"]
    with pytest.raises(UsageError, match="fps"):
        InputOptions(fps=math.nan)


def test_default_face_sequences_over_a_videos_face_crops(tmp_path, tiny_models):
    clip = require_sample()
    rows = [
        {"id": "a", "corpus": "x", "video": str(clip), "start": 0.0, "end": 3.0},
        {"id": "b", "corpus": "x", "video": str(clip), "start": 3.0, "end": 6.0},
    ]
    m = Manifest.from_records(rows)
    config = {"model_dir": str(tiny_models / "face")}
    s = run(m, tmp_path / "s", encoder="default_face", config=config, kind="both", crop_faces=True)
    assert (s.computed, s.failed) == (2, 0), s.errors
    _, seqs = load_sequences(tmp_path / "s")
    assert all(1 <= len(q) <= 6 and q.shape[1] == 8 for q in seqs)  # <= 3 s at 2 fps
    _, x = load_features(tmp_path / "s")
    np.testing.assert_allclose(x, np.stack([q.mean(0) for q in seqs]), atol=1e-5)
    assert not np.allclose(x[0], x[1])
