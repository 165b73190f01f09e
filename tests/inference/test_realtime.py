"""An audio-visual model as the Recognizer's fused row: files, RUN_DIRs and live sessions."""

from __future__ import annotations

import shutil
import struct

import cv2
import numpy as np
import pytest

from emofuse.inference.realtime import AVStream, find_av, load_av, segment_clips
from emofuse.inference.recognizer import Recognizer
from emofuse.labels import CANONICAL
from emofuse.media import decode
from emofuse.media.faces import FaceDetector
from emofuse.media.segments import Segment
from emofuse.models.bundled import DEFAULT_WEIGHTS
from tests.fixtures import write_tiny_video
from tests.models.test_realtime import save_tiny_av


@pytest.fixture(scope="module")
def av_dir(tiny_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("av") / "models"
    shutil.copytree(tiny_models, root)
    save_tiny_av(root / "av")
    return root


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_tiny_video(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=3.0, speech=True)


def test_the_fused_row_comes_from_the_av_model(av_dir, tiny_models, video):
    rec = Recognizer(av_dir, backend="torch")
    assert rec.av is not None and rec.av.labels == list(CANONICAL)
    result = rec.analyze(video, window=1.5, modalities=["face", "voice"])
    assert result.info["fusion"] == {"method": "av_model", "model": "tiny-av", "backend": "torch"}
    info = decode.probe(video)
    segments = [Segment(0.0, 1.5), Segment(1.5, 3.0)]  # cut with the training clips' detector
    clips = segment_clips(video, info, segments, rec.av.clip_spec, FaceDetector())
    want = rec.av.predict_proba(clips)
    for seg, p in zip(result.segments, want):
        got = [seg.fused.probabilities[lab] for lab in CANONICAL]
        np.testing.assert_allclose(got, p, atol=1e-3)  # rounded in the result
        assert seg.modalities["voice"].status == "ok"  # the per-modality rows stay
    plain = Recognizer(tiny_models).analyze(video, window=1.5, modalities=["face", "voice"])
    assert plain.info["fusion"]["method"] == "late"


def test_a_run_dir_with_only_an_av_model_uses_the_bundled_rows(tmp_path, video):
    save_tiny_av(tmp_path / "run" / "models" / "realtime__net")
    assert find_av(tmp_path / "run") == tmp_path / "run" / "models" / "realtime__net"
    rec = Recognizer(tmp_path / "run", backend="torch")
    assert rec.model("face").meta.name == Recognizer(DEFAULT_WEIGHTS).model("face").meta.name
    result = rec.analyze(video, window=3.0, modalities=["voice"])
    assert result.segments[0].fused is not None
    assert load_av(tmp_path) is None and find_av(tmp_path / "nothing") is None


def test_av_stream_keeps_the_last_frames(av_dir):
    model = load_av(av_dir, backend="torch")
    stream = AVStream(model)
    assert stream.probs(None) is None  # nothing to read yet
    rng = np.random.default_rng(0)
    wave = (0.2 * rng.normal(size=16000 * 5)).astype(np.float32)
    audio_only = stream.probs(wave)
    assert audio_only.shape == (7,) and np.isclose(audio_only.sum(), 1.0)
    for i in range(model.clip_spec.frames + 3):
        frame = np.full((120, 160, 3), 20 * i, np.uint8)
        stream.push(frame, None if i % 2 else decode_box())
    assert len(stream.frames) == model.clip_spec.frames  # a sliding window
    both = stream.probs(wave)
    assert not np.allclose(both, audio_only)


def decode_box():
    from emofuse.media.faces import Box

    return Box(40, 20, 60, 60)


def test_a_live_session_fuses_with_the_av_model(av_dir):
    pytest.importorskip("fastapi")
    from emofuse.serve.stream import StreamSession

    rec = Recognizer(av_dir, backend="torch")
    session = StreamSession(rec)
    _, buf = cv2.imencode(".jpg", np.full((240, 320, 3), 90, np.uint8))
    session.feed(b"F" + struct.pack("<d", 0.5) + buf.tobytes())
    update = session.step()
    assert update["face"]["box"] is None and update["fused"] is not None  # the frame stream
    expected = AVStream(rec.av)
    expected.push(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), None)
    p = expected.probs(None)
    got = [update["fused"]["probs"][lab] for lab in CANONICAL]
    np.testing.assert_allclose(got, p, atol=1e-3)
