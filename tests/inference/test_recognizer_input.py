"""Careless and hostile input through the Recognizer: one clear error or a warning, no crash."""

from __future__ import annotations

import wave

import pytest

from emofuse.errors import DataError, UsageError
from emofuse.inference.recognizer import Recognizer
from tests.fixtures import truncate, write_speech_wav, write_tiny_video


@pytest.fixture(scope="module")
def rec(tiny_models):
    return Recognizer(tiny_models)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "clip.mp4"
    return write_tiny_video(path, seconds=2, with_audio=True, speech=True)


@pytest.mark.parametrize("option", ["fps", "window"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -2.0])
def test_non_finite_or_non_positive_options(rec, video, option, bad):
    with pytest.raises(UsageError, match=f"{option} must be a finite number > 0"):
        rec.analyze(video, **{option: bad})


def test_lone_surrogates_in_text_are_cleaned(rec):
    pred = rec.predict_text(["so happy \ud800 today"])[0]
    assert pred.label in rec.labels
    result = rec.analyze_text("caf\udce9 is great")  # what argv holds for non-UTF-8 bytes
    assert result.segments[0].text == "caf\ufffd is great"
    result.to_json().encode("utf-8")
    context = rec.predict_text(["and you?"], context=[["I won \udcff"]])
    assert len(context) == 1


def test_cues_past_the_end_are_warned(rec, video, tmp_path):
    srt = tmp_path / "t.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:01,000\nhello\n\n"
        "2\n00:00:01,000 --> 00:00:01,100\nshort\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\nlong gone\n"
    )
    result = rec.analyze(video, srt)
    warnings = result.info["warnings"]
    assert any(
        "1 of 3 segments start at or after the end of the media (2 s)" in w for w in warnings
    )
    assert any("shorter than 0.3 s" in w for w in warnings)
    assert result.segments[2].modalities["voice"].status != "ok"


def test_windows_under_the_minimum_are_refused(rec, video):
    with pytest.raises(UsageError, match=r"window must be at least 0\.5 s"):
        rec.analyze(video, window=0.25, modalities=["voice"])


def test_no_warnings_for_a_clean_file(rec, video):
    assert rec.analyze(video, window=1.0).info["warnings"] == []


def test_truncated_wav_is_warned(rec, tmp_path):
    full = write_speech_wav(tmp_path / "full.wav", seconds=2.0)
    result = rec.analyze(truncate(full, 0.6, tmp_path / "cut.wav"), window=1.0)
    assert any("truncated" in w for w in result.info["warnings"])


def test_silent_audio_has_no_prediction(rec, tmp_path):
    path = tmp_path / "silent.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(bytes(2 * 16000 * 2))
    result = rec.analyze(path, window=1.0)
    with pytest.raises(DataError, match=r"nothing to recognise in .*silent\.wav: face: no video; "
                       r"voice: silent; text: no text"):  # fmt: skip
        result.require_prediction()
