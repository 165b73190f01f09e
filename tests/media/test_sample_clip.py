"""The media layer end to end on the real sample clip in ../shared (skipped without it)."""

from __future__ import annotations

import itertools

import pytest

from emofuse.media import FaceDetector, iter_frames, load_audio, probe, read_transcript
from tests.fixtures import SAMPLE_SRT, require_sample

pytestmark = pytest.mark.integration


def test_probe_sample():
    info = probe(require_sample())
    assert info.kind == "video" and info.has_video and info.has_audio
    assert info.duration == pytest.approx(15.3, abs=0.1)
    assert (info.width, info.height) == (640, 480)


def test_sample_audio_follows_timestamps():
    # the clip's AAC frames overlap at its cuts: placing them by timestamp keeps the audio
    # as long as the stream (15.32 s), where plain concatenation would give 15.49 s
    wave = load_audio(require_sample())
    assert wave.size / 16000 == pytest.approx(15.32, abs=0.02)


def test_sample_transcript_faces_per_segment():
    clip = require_sample()
    segments = read_transcript(SAMPLE_SRT)
    assert len(segments) == 4
    assert segments[0].start == 0.0
    assert segments[-1].end == pytest.approx(probe(clip).duration, abs=0.1)
    assert all(a.end == b.start for a, b in itertools.pairwise(segments))
    det = FaceDetector()
    for seg in segments:
        t, rgb = next(iter_frames(clip, fps=1.0, start=seg.start + seg.duration / 2))
        assert seg.start <= t < seg.end
        assert len(det.detect(rgb)) == 1, f"no single face at {t:.2f} s"
