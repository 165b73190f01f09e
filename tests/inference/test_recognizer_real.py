"""The bundled default models on the real sample clip (skips without ../shared or weights)."""

import json
import subprocess
import sys

import pytest

from emofuse.inference.recognizer import DEFAULT_WEIGHTS, Recognizer
from tests.fixtures import require_sample

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rec():
    if not all((DEFAULT_WEIGHTS / m / "model.json").is_file() for m in ("face", "voice", "text")):
        pytest.skip("bundled weights absent: run `emofuse train-default --data ../shared/data`")
    return Recognizer.default()


def test_sample_clip_gives_four_segments_with_every_modality(rec):
    clip = require_sample()
    result = rec.analyze(clip, clip.with_suffix(".srt"))
    assert len(result.segments) == 4
    assert result.segments[0].start == 0.0
    assert result.segments[-1].end == pytest.approx(result.info["duration"], abs=0.2)
    for seg in result.segments:
        assert {m: r.status for m, r in seg.modalities.items()} == {
            "face": "ok",
            "voice": "ok",
            "text": "ok",
        }
        assert seg.modalities["face"].details["box"]["w"] > 50
        assert seg.label in rec.labels and 0 < seg.confidence <= 1


def test_cli_json_on_sample_clip():
    clip = require_sample()
    if not (DEFAULT_WEIGHTS / "face" / "model.json").is_file():
        pytest.skip("bundled weights absent")
    cmd = [
        sys.executable,
        "-m",
        "emofuse",
        "analyze",
        str(clip),
        "--transcript",
        str(clip.with_suffix(".srt")),
        "--format",
        "json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    segments = json.loads(out)["segments"]
    assert len(segments) == 4
    assert all(s["label"] for s in segments)
