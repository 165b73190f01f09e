"""Tiny media generators for tests: tones, short videos, the shared sample clip.

Everything here is written on the fly with the stdlib or PyAV; nothing is downloaded.
Real data (`../shared`, the repository's sibling) is optional and tests skip without it.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
SAMPLE_CLIP = SHARED / "samples" / "four_emotions.mp4"
SAMPLE_SRT = SHARED / "samples" / "four_emotions.srt"

# extension -> audio codec; .ogg carries Opus, which only runs at 48 kHz.
AUDIO_CODECS = {
    ".wav": "pcm_s16le",
    ".flac": "flac",
    ".mp3": "libmp3lame",
    ".ogg": "libopus",
    ".m4a": "aac",
}
SAMPLE_FORMATS = {"pcm_s16le": "s16", "flac": "s16", "libmp3lame": "fltp", "libopus": "flt"}
# extension -> (video codec, audio codec, audio rate)
VIDEO_CODECS = {
    ".mp4": ("libx264", "aac", 44100),
    ".mov": ("libx264", "aac", 44100),
    ".mkv": ("libx264", "aac", 44100),
    ".webm": ("libvpx", "libopus", 48000),
    ".avi": ("mpeg4", "libmp3lame", 44100),
}


def require_encoder(name: str) -> None:
    """Skip the calling test when this PyAV build cannot encode with `name`."""
    try:
        av.codec.Codec(name, "w")
    except Exception as e:  # av raises its own UnknownCodecError
        pytest.skip(f"PyAV here has no {name!r} encoder: {e}")


def require_sample() -> Path:
    """The shared sample clip, or skip: it lives in ../shared, absent outside the workplace."""
    if not SAMPLE_CLIP.is_file():
        pytest.skip(f"real sample clip not found at {SAMPLE_CLIP} (../shared is absent)")
    return SAMPLE_CLIP


def tone(seconds: float, sr: int, freq: float, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    """(channels, n) float32 sine; the right channel is a little quieter."""
    t = np.arange(round(seconds * sr)) / sr
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x * (1.0 - 0.2 * c) for c in range(channels)])


def speechlike(seconds: float, sr: int = 16000, amp: float = 0.3, seed: int = 0) -> np.ndarray:
    """(1, n) float32 voiced "speech": a 120 Hz glottal buzz with vibrato, through vowel
    formants that change every 0.125 s, in 8 Hz syllables. Voice activity detection
    (Silero) takes any 1 s of it for speech (>= 12 frames of 32 ms); a pure tone it does not."""
    n = round(seconds * sr)
    t = np.arange(n) / sr
    phase = 2 * np.pi * np.cumsum(120.0 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))) / sr
    source = sum(np.sin(h * phase) / h for h in range(1, 40))
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480)]
    out, step = np.zeros(n), round(0.125 * sr)
    for k, s in enumerate(range(0, n, step)):
        x = source[s : s + step]
        freqs = np.fft.rfftfreq(x.size, 1 / sr)
        gain = sum(1 / (1 + ((freqs - f) / 80) ** 2) for f in vowels[(k + seed) % len(vowels)])
        out[s : s + step] = np.fft.irfft(np.fft.rfft(x) * gain, x.size)
    out *= 0.5 * (1 - np.cos(2 * np.pi * 8 * t))
    return (amp * out / max(np.abs(out).max(), 1e-9)).astype(np.float32)[None]


def write_speech_wav(path: str | Path, seconds: float = 1.0, sr: int = 16000, amp=0.3) -> Path:
    """16-bit PCM WAV of :func:`speechlike` audio."""
    pcm = (speechlike(seconds, sr, amp)[0] * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return Path(path)


def write_tone_wav(
    path: str | Path,
    seconds: float = 1.0,
    sr: int = 16000,
    freq: float = 440.0,
    channels: int = 1,
    amp: float = 0.5,
) -> Path:
    """16-bit PCM WAV with the stdlib `wave` module."""
    pcm = (tone(seconds, sr, freq, channels, amp).T * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return Path(path)


def _encode_audio(out: av.container.OutputContainer, stream, x: np.ndarray) -> None:
    fmt = stream.codec_context.format.name
    channels, n = x.shape
    layout = "mono" if channels == 1 else "stereo"
    size = stream.codec_context.frame_size or 1024
    for i in range(0, n, size):
        chunk = x[:, i : i + size]
        if fmt == "s16":
            chunk = (chunk * 32767).astype(np.int16)
        arr = chunk if fmt.endswith("p") else chunk.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format=fmt, layout=layout)
        frame.sample_rate = stream.codec_context.sample_rate
        frame.pts = i
        frame.time_base = Fraction(1, frame.sample_rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _add_audio(out: av.container.OutputContainer, codec: str, sr: int, channels: int):
    stream = out.add_stream(codec, rate=sr)
    stream.codec_context.layout = "mono" if channels == 1 else "stereo"
    stream.codec_context.format = SAMPLE_FORMATS.get(codec, "fltp")
    return stream


def write_tone(
    path: str | Path,
    seconds: float = 1.0,
    sr: int = 16000,
    freq: float = 440.0,
    channels: int = 1,
) -> Path:
    """A sine tone in any supported audio format, encoded with PyAV (.ogg forces 48 kHz)."""
    codec = AUDIO_CODECS[Path(path).suffix.lower()]
    require_encoder(codec)
    sr = 48000 if codec == "libopus" else sr
    with av.open(str(path), "w") as out:
        stream = _add_audio(out, codec, sr, channels)
        _encode_audio(out, stream, tone(seconds, sr, freq, channels))
    return Path(path)


def write_tiny_video(
    path: str | Path,
    seconds: float = 2,
    fps: int = 10,
    size: tuple[int, int] = (160, 120),
    with_audio: bool = True,
    speech: bool = False,
) -> Path:
    """A short video (a bright square sliding over a gradient) plus an optional 440 Hz tone
    (or, with ``speech``, :func:`speechlike` audio)."""
    vcodec, acodec, sr = VIDEO_CODECS[Path(path).suffix.lower()]
    require_encoder(vcodec)
    if with_audio:
        require_encoder(acodec)
    w, h = size
    with av.open(str(path), "w") as out:
        video = out.add_stream(vcodec, rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        audio = _add_audio(out, acodec, sr, 1) if with_audio else None
        ramp = np.linspace(0, 160, w, dtype=np.float32)
        for i in range(round(seconds * fps)):
            rgb = np.empty((h, w, 3), np.uint8)
            rgb[:] = ramp[None, :, None].astype(np.uint8)
            x = int(i * (w - h // 3) / max(1, seconds * fps - 1))
            rgb[h // 3 : 2 * h // 3, x : x + h // 3] = (255, 220, 40)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None:
            sound = speechlike(seconds, sr) if speech else tone(seconds, sr, 440.0, 1, amp=0.3)
            _encode_audio(out, audio, sound)
    return Path(path)


def write_gapped_audio(path: str | Path, starts: list[float], block: float = 0.5) -> Path:
    """Matroska PCM at 16 kHz: 440 Hz blocks of `block` s placed at `starts` (gaps between)."""
    sr = 16000
    with av.open(str(path), "w") as out:
        stream = _add_audio(out, "pcm_s16le", sr, 1)
        x = (tone(block, sr, 440.0)[0] * 32767).astype(np.int16)
        for at in starts:
            for i in range(0, x.size, 1024):
                frame = av.AudioFrame.from_ndarray(
                    x[None, i : i + 1024], format="s16", layout="mono"
                )
                frame.sample_rate, frame.time_base = sr, Fraction(1, sr)
                frame.pts = round(at * sr) + i
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return Path(path)


def make_face_image() -> np.ndarray:
    """An RGB frame with one real frontal face (the sample clip at t=1 s), or skip.

    Synthetic faces are unreliable for a Haar cascade, so this uses the shared sample.
    """
    from emofuse.media import iter_frames

    clip = require_sample()
    return next(iter_frames(clip, fps=1.0, start=1.0))[1]


def peak_hz(x: np.ndarray, sr: int) -> float:
    """Frequency of the largest FFT bin of a mono wave."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1.0 / sr)[int(np.argmax(spectrum))])


def png_bytes(width: int, height: int, rows: int | None = None) -> bytes:
    """A black RGB PNG of `width` x `height`; only `rows` rows of pixel data when given.

    With few rows the file is tiny whatever its size says: a header-only "bomb" that is
    refused (or not) before any decoding. With all rows it is a real decompression bomb
    (20000 x 20000 is ~1.2 MB on disk and 1.2 GB decoded; it takes seconds to write).
    """
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = b"\0" + bytes(width * 3)  # filter byte + black pixels
    body = b"".join(packer.compress(row) for _ in range(height if rows is None else rows))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", body + packer.flush())
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(width: int = 64, height: int = 48, claim: tuple[int, int] | None = None) -> bytes:
    """A gray JPEG; with `claim` (w, h) its frame header announces that size instead.

    A small file that says 20000 x 20000 is what a hostile client sends to make a server
    allocate gigabytes before finding out the data is short.
    """
    import struct

    _, buf = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))
    data = bytearray(buf.tobytes())
    if claim is not None:
        sof = data.index(b"\xff\xc0")  # baseline frame header: len(2) precision(1) h(2) w(2)
        data[sof + 5 : sof + 9] = struct.pack(">HH", claim[1], claim[0])
    return bytes(data)


def truncate(path: str | Path, keep: float, dest: str | Path) -> Path:
    """A copy of `path` cut to the first `keep` fraction of its bytes (a broken download)."""
    data = Path(path).read_bytes()
    Path(dest).write_bytes(data[: int(len(data) * keep)])
    return Path(dest)


def write_word_bert(
    folder: str | Path, words: list[str], layers: int = 1, positions: int = 32, seed: int = 0
) -> Path:
    """A random 16-wide BERT whose word-piece vocabulary is ``words`` (special tokens
    first), saved like a Hugging Face model folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=positions,
    )
    BertModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_tiny_bert(folder: str | Path, seed: int = 0) -> Path:
    """A random 16-wide, 2-block BERT with a character-level word-piece tokenizer, saved
    like a Hugging Face model folder (``config.json``, ``model.safetensors``, tokenizer)."""
    import string

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)  # fmt: skip
    BertTokenizerFast(
        vocab={v: i for i, v in enumerate(vocab)}, do_lower_case=True
    ).save_pretrained(folder)
    return folder


def save_tiny_finetuned(base: str | Path, out: str | Path, lexical: bool = False, seed: int = 0):
    """A fine-tuned text model over the tiny BERT ``base`` (random, non-zero delta, per-domain
    bias and temperature; optionally a TF-IDF branch), saved to ``out``; the model."""
    import numpy as np
    import torch

    from emofuse.labels import CANONICAL
    from emofuse.models.artifact import ModelMeta
    from emofuse.models.text_base import base_identity, load_tokenizer, weights_sha256
    from emofuse.models.text_finetuned import FineTunedTextModel
    from emofuse.models.text_finetuned_net import FineTunedConfig, FineTunedTextNet
    from emofuse.models.text_lexical import LexicalModel

    config = FineTunedConfig(lora_r=4, lora_alpha=8.0, max_tokens=12, max_context_tokens=6,
                             base=str(base), base_sha256=weights_sha256(base))  # fmt: skip
    net = FineTunedTextNet(config)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    prep = {"base": base_identity(base, "tiny"),
            "logit_bias": {"dialogue": [0.5] + [0.0] * 6},
            "temperature": {"text": 1.5, "dialogue": 2.0}}  # fmt: skip
    lex = None
    if lexical:
        texts = ["I love it!", "Leave me alone.", "ok"] * 3
        lex = LexicalModel.fit(texts, np.arange(len(texts)) % 7, np.ones(len(texts)), min_df=1)
        prep["lexical"] = {"weight": {"dialogue": 0.0, "text": 2.0}}
    meta = ModelMeta(name="tiny-ft", modality="text", architecture="text_finetuned", config={},
                     labels=list(CANONICAL), preprocessing=prep, temperature=1.7)  # fmt: skip
    model = FineTunedTextModel(net.eval(), load_tokenizer(base), meta, lex)
    model.save(out)
    return model
