"""Audio decoding: one pass cut into spans, no resampler at 16 kHz mono, sample formats."""

from __future__ import annotations

import wave

import av
import numpy as np
import pytest

from emofuse.errors import UsageError
from emofuse.media import audio
from emofuse.media.audio import iter_spans, load_audio
from tests.fixtures import tone, write_tiny_video, write_tone, write_tone_wav


@pytest.fixture(scope="module")
def wav16k(tmp_path_factory):
    return write_tone_wav(tmp_path_factory.mktemp("a") / "t.wav", seconds=3.0, sr=16000)


def test_16k_mono_pcm_is_read_exactly_without_a_resampler(wav16k, monkeypatch):
    def no_resampler(*_a, **_k):
        raise AssertionError("16 kHz mono must not be resampled")

    monkeypatch.setattr(av, "AudioResampler", no_resampler)
    got = load_audio(wav16k, 16000)
    with wave.open(str(wav16k)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    np.testing.assert_array_equal(got, pcm.astype(np.float32) / 32768)


@pytest.mark.parametrize("ext", [".flac", ".mp3", ".ogg", ".m4a"])
def test_other_formats_and_rates_match_a_plain_decode(tmp_path, ext):
    path = write_tone(tmp_path / f"t{ext}", seconds=1.0, sr=16000, freq=440.0, channels=2)
    with av.open(str(path)) as c:  # what ffmpeg itself gives, as float, channels averaged
        rate = c.streams.audio[0].rate
        resampler = av.AudioResampler(format="fltp", rate=rate)
        ref = np.concatenate(
            [f.to_ndarray().mean(0) for fr in c.decode(audio=0) for f in resampler.resample(fr)]
        )
    got = load_audio(path, sample_rate=rate)
    # the same samples; codecs with encoder delay may be laid on the timeline a little shifted
    lag = min(range(-2048, 2049), key=lambda k: _misfit(got, ref, k))
    assert _misfit(got, ref, lag) < 1e-6


def _misfit(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    a, b = (a[lag:], b) if lag >= 0 else (a, b[-lag:])
    n = min(a.size, b.size)
    return float(np.abs(a[:n] - np.clip(b[:n], -1, 1)).max()) if n > 8000 else np.inf


def test_spans_equal_separate_loads_in_one_pass(wav16k, monkeypatch):
    spans = [(0.0, 1.0), (2.5, 3.5), (0.5, 2.0), (1.0, 1.0), (2.0, 2.6)]  # unsorted, overlap,
    opened = []  # empty, past the end
    original = audio.opened

    def counting(path):
        opened.append(path)
        return original(path)

    monkeypatch.setattr(audio, "opened", counting)
    got = dict(iter_spans(wav16k, spans))
    assert len(opened) == 1  # the file was decoded once
    assert sorted(got) == list(range(len(spans)))
    full = load_audio(wav16k)
    for i, (s, e) in enumerate(spans):
        np.testing.assert_array_equal(got[i], full[round(s * 16000) : round(e * 16000)])
    assert got[1].size == 8000 and got[3].size == 0


def test_spans_come_in_start_order_and_stop_decoding_early(tmp_path):
    path = write_tone_wav(tmp_path / "long.wav", seconds=20.0, sr=16000)
    blocks = []
    original = audio._audio_blocks

    def counting(*args):
        for b in original(*args):
            blocks.append(b.size)
            yield b

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audio, "_audio_blocks", counting)
        order = [i for i, _ in iter_spans(path, [(2.0, 3.0), (0.0, 1.0)])]
    assert order == [1, 0]
    assert sum(blocks) < 5 * 16000  # stopped soon after 3 s, not at 20 s


def test_spans_from_a_video_at_44k(tmp_path):
    clip = write_tiny_video(tmp_path / "c.mp4", seconds=2)
    ((i, w),) = list(iter_spans(clip, [(0.5, 1.5)]))
    ref = load_audio(clip, 16000, start=0.5, end=1.5)
    assert i == 0 and abs(w.size - 16000) <= 1
    corr = np.corrcoef(w[: ref.size - 200], ref[: ref.size - 200])[0, 1]
    assert corr > 0.99


def test_bad_spans(wav16k):
    for bad in ([(-1.0, 1.0)], [(2.0, 1.0)], [(0.0, float("nan"))]):
        with pytest.raises(UsageError):
            list(iter_spans(wav16k, bad))
    assert list(iter_spans(wav16k, [])) == []


def test_u8_and_s32_samples_scale_like_ffmpeg(tmp_path):
    x = tone(0.5, 16000, 300.0)[0]
    for fmt, dtype, scale, offset in (("u8", np.uint8, 128, 128), ("s32", np.int32, 2**31, 0)):
        frame = av.AudioFrame.from_ndarray(
            (np.round(x * (scale - 1)) + offset).astype(dtype)[None], format=fmt, layout="mono"
        )
        frame.sample_rate = 16000
        np.testing.assert_allclose(audio._mono(frame), x, atol=2.0 / scale)
