"""Recognizer on generated media with tiny random models (see conftest.tiny_models)."""

import numpy as np
import pytest

from emofuse.errors import DataError, UsageError
from emofuse.inference.recognizer import Recognizer
from emofuse.media.faces import FaceDetector
from tests.fixtures import speechlike, write_speech_wav, write_tiny_video, write_tone_wav


@pytest.fixture(scope="module")
def rec(tiny_models):
    return Recognizer(tiny_models)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "clip.mp4"
    return write_tiny_video(path, seconds=3, with_audio=True, speech=True)


def test_transcript_segments_carry_text_and_statuses(rec, video, tmp_path):
    srt = tmp_path / "t.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:01,500\nWhat a day!\n\n2\n00:00:01,500 --> 00:00:03,000\n\n"
    )
    result = rec.analyze(video, srt)
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 1.5), (1.5, 3.0)]
    first, second = result.segments
    assert first.text == "What a day!"
    assert first.modalities["text"].status == "ok"
    assert second.modalities["text"].status == "no text"
    assert first.modalities["face"].status == "no face"  # a sliding square is not a face
    assert first.modalities["voice"].status == "ok"  # the clip carries speech-like sound
    for s in result.segments:
        assert s.label in rec.labels
        assert sum(s.fused.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_transcript_segments_get_the_earlier_ones_as_context(tiny_models, video, tmp_path):
    rec = Recognizer(tiny_models)
    seen = {}
    text_model = rec.model("text")
    original = text_model.predict_proba

    def spy(texts, context=None):
        seen["texts"], seen["context"] = texts, context
        return original(texts, context=context)

    text_model.predict_proba = spy
    srt = tmp_path / "t.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:01,000\nHi.\n\n2\n00:00:01,000 --> 00:00:02,000\n\n\n"
        "3\n00:00:02,000 --> 00:00:03,000\nGo away!\n\n"
    )
    rec.analyze(video, srt, modalities=["text"])
    assert seen == {"texts": ["Hi.", "Go away!"], "context": [[], ["Hi."]]}


def test_single_texts_stand_alone_and_cues_are_dialogue(rec):
    """Without context a text is read in the stand-alone domain (its own bias and
    temperature); ``None`` in a context list means the same for that text."""
    texts = ["so happy", "go away", "hm"]
    alone = [p.probabilities for p in rec.predict_text(texts)]
    mixed = [p.probabilities for p in rec.predict_text(texts, [None, [], ["so happy"]])]
    dialogue = [p.probabilities for p in rec.predict_text(texts, [[], [], []])]
    assert mixed[0] == pytest.approx(alone[0], abs=1e-6)
    assert mixed[1] == pytest.approx(dialogue[1], abs=1e-6)
    assert mixed[1] != pytest.approx(alone[1], abs=1e-3)


def test_fixed_windows_without_transcript(rec, video):
    result = rec.analyze(video, window=1.0, modalities=["voice"])
    assert len(result.segments) == 3
    assert set(result.segments[0].modalities) == {"voice"}
    assert result.info["modalities"] == ["voice"]


def test_audio_file_has_no_face_and_silence_is_reported(rec, tmp_path):
    wav = write_speech_wav(tmp_path / "a.wav", seconds=2.0)
    result = rec.analyze(wav, window=1.0, modalities=["face", "voice"])
    assert {s.modalities["face"].status for s in result.segments} == {"no video"}
    assert all(s.modalities["voice"].ok for s in result.segments)

    silent = tmp_path / "silent.wav"
    write_tone_wav(silent, seconds=1.0, sr=16000, freq=220.0, amp=0.0)
    seg = rec.analyze(silent, modalities=["voice"]).segments[0]
    assert seg.modalities["voice"].status == "silent" and seg.fused is None
    # a loud tone is no speech (the old level check took it for a voice)
    tone_wav = write_tone_wav(tmp_path / "tone.wav", seconds=1.0, freq=440.0, amp=0.5)
    assert (
        rec.analyze(tone_wav, modalities=["voice"]).segments[0].modalities["voice"].status
        == "silent"
    )


def test_quiet_speech_is_still_speech(rec):
    """Voice activity is judged after level normalisation: -40 dB speech counts."""
    quiet = speechlike(1.5, 16000, amp=0.003)[0]  # peak -50 dBFS
    assert rec.voice_status(quiet) == "ok"
    assert rec.predict_voice(quiet).label in rec.labels


def test_small_image_is_taken_as_a_face_crop(rec, tmp_path):
    import cv2

    img = tmp_path / "face.png"
    cv2.imwrite(str(img), np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8))
    result = rec.analyze(img)
    assert len(result.segments) == 1 and result.segments[0].modalities["face"].status == "ok"
    assert rec.predict_face(img).label in rec.labels


def test_predict_helpers(rec):
    preds = rec.predict_text(["I love it", "I hate it"])
    assert len(preds) == 2 and all(p.label in rec.labels for p in preds)
    mono = speechlike(1.0, 44100)[0]
    stereo_44k = np.stack([mono, 0.8 * mono], axis=1)  # (samples, channels)
    assert rec.predict_voice(stereo_44k, sample_rate=44100).label in rec.labels


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda r: r.predict_text(["  "]), DataError, "empty text"),
        (lambda r: r.predict_voice(np.zeros(16000, np.float32)), DataError, "silent"),
        (lambda r: r.predict_voice(np.ones(100, np.float32)), DataError, "too short"),
        (lambda r: r.predict_face(np.zeros((240, 320, 3), np.uint8)), DataError, "no face"),
        (lambda r: r.analyze("missing.mp4"), DataError, "not found"),
        (lambda r: r.analyze(__file__), UsageError, ".py"),
    ],
)
def test_bad_input_is_a_clear_error(rec, call, error, match):
    with pytest.raises(error, match=match):
        call(rec)


def test_bad_options(rec, video):
    with pytest.raises(UsageError, match="modalities"):
        rec.analyze(video, modalities=["smell"])
    with pytest.raises(UsageError, match="fps"):
        rec.analyze(video, fps=0)


def test_corrupt_video(rec, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(DataError, match=r"bad\.mp4"):
        rec.analyze(bad)


def test_segment_shorter_than_the_frame_step_says_no_frame_sampled(rec, video, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("start,end,text\n0.1,0.2,hi\n0.5,2.5,there\n")
    first, second = rec.analyze(video, csv, fps=1.0, modalities=["face"]).segments
    assert first.modalities["face"].status == "no frame sampled"
    assert second.modalities["face"].status == "no face"


def test_models_load_once_under_concurrency(tiny_models, monkeypatch):
    import threading
    import time

    from emofuse.inference import recognizer as module

    loads = []
    real = module.load_modality_model

    def slow_load(*args):
        loads.append(args[0])
        time.sleep(0.2)  # a slow load: the other threads arrive meanwhile
        return real(*args)

    monkeypatch.setattr(module, "load_modality_model", slow_load)
    rec = Recognizer(tiny_models)
    got = []
    threads = [
        threading.Thread(target=lambda m=m: got.append(rec.model(m))) for m in ["face", "voice"] * 8
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(loads) == ["face", "voice"]
    assert len({id(m) for m in got}) == 2


def test_lists_are_batched_and_bad_items_reported(rec, tmp_path, monkeypatch):
    calls = []
    model = rec.model("voice")
    real = model.predict_proba
    monkeypatch.setattr(model, "predict_proba", lambda w: calls.append(len(w)) or real(w))
    waves = [speechlike(1.0 + 0.1 * k, seed=k)[0] for k in range(20)]
    preds = rec.predict_voice([*waves[:10], np.zeros(16000, np.float32), *waves[10:]],
                              on_error="return")  # fmt: skip
    assert calls == [16, 4]  # batches of 16, not one call per wave
    assert isinstance(preds[10], DataError) and "silent" in str(preds[10])
    assert all(p.label in rec.labels for k, p in enumerate(preds) if k != 10)
    one = rec.predict_voice(waves[3])
    assert one.probabilities == pytest.approx(preds[3].probabilities, abs=1e-5)
    with pytest.raises(DataError, match="silent"):
        rec.predict_voice([waves[0], np.zeros(16000, np.float32)])
    with pytest.raises(UsageError):
        rec.predict_voice(waves[:1], on_error="ignore")


def test_face_crops_skip_the_detector(tiny_models, tmp_path):
    class Counting(FaceDetector):
        n = 0

        def detect(self, image):
            Counting.n += 1
            return super().detect(image)

    rec = Recognizer(tiny_models, detector=Counting())
    crops = list(np.random.default_rng(0).integers(0, 255, (5, 48, 48), dtype=np.uint8))
    preds = rec.predict_face(crops)  # 48x48: already crops
    assert len(preds) == 5 and Counting.n == 0
    big = np.zeros((240, 320, 3), np.uint8)
    assert isinstance(rec.predict_face([big], on_error="return")[0], DataError)
    assert Counting.n == 1
    forced = rec.predict_face([big], crops=True)[0]  # the caller says it is a crop
    assert forced.label in rec.labels and Counting.n == 1
    with pytest.raises(DataError, match="no face"):
        rec.predict_face(crops[0], crops=False)  # always detect


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": 0.001}, "window"),
        ({"window": float("nan")}, "window"),
        ({"fps": float("inf")}, "fps"),
        ({"fps": 0.0}, "fps"),
    ],
)
def test_unbounded_settings_are_refused(rec, video, kwargs, match):
    with pytest.raises(UsageError, match=match):
        rec.analyze(video, **kwargs)


def test_segment_count_is_capped(rec, video, tmp_path, monkeypatch):
    from emofuse.inference import plan

    monkeypatch.setattr(plan, "MAX_SEGMENTS", 4)
    with pytest.raises(UsageError, match="segments"):
        rec.analyze(video, window=0.5)
    srt = tmp_path / "many.srt"
    srt.write_text("".join(f"{i + 1}\n00:00:00,000 --> 00:00:01,000\nhi\n\n" for i in range(5)))
    with pytest.raises(UsageError, match="segments"):
        rec.analyze(video, srt)


def test_long_transcript_context_is_bounded(tiny_models, video, tmp_path):
    from emofuse.inference.passes import CONTEXT_UTTERANCES

    rec = Recognizer(tiny_models)
    sizes = []
    text_model = rec.model("text")
    original = text_model.predict_proba

    def spy(texts, context=None):
        sizes.extend(len(c) for c in context)
        return original(texts, context=context)

    text_model.predict_proba = spy
    cues = "".join(
        f"{i + 1}\n00:00:0{i % 3},000 --> 00:00:0{i % 3},500\nline {i}\n\n" for i in range(600)
    )
    (tmp_path / "long.srt").write_text(cues)
    result = rec.analyze(video, tmp_path / "long.srt", modalities=["text"])
    assert len(result.segments) == 600 and all(s.fused for s in result.segments)
    assert max(sizes) == CONTEXT_UTTERANCES and len(sizes) == 600


def test_analyze_decodes_the_audio_once(rec, video, monkeypatch):
    from emofuse.media import audio

    opened = []
    real = audio.opened
    monkeypatch.setattr(audio, "opened", lambda p: opened.append(p) or real(p))
    result = rec.analyze(video, window=0.5, modalities=["voice"])
    assert len(result.segments) == 6 and len(opened) == 1
