"""A small audio-visual network for real time: three CNN + LSTM streams, concatenated.

``RealtimeAV`` reads a clip as three streams: the face crops ``(N, T, 1, 48, 48)``, the
whole frames downscaled ``(N, T, 1, 48, 64)`` and the log-mel spectrogram
``(N, 1, n_mels, F)``, each with a validity mask (frames without a face, padding, a
missing stream). Each stream is a shallow CNN (per frame, or over the spectrogram with
time kept) and an LSTM over time, mean-pooled over valid steps; a stream with no valid
step takes a learned vector. The three are concatenated into two fully connected layers.
All inputs are positional tensors so the network exports to ONNX with dynamic batch,
frames and spectrogram length. Training drops whole streams per item
(``stream_dropout``), so a clip without a face or without sound still gets a prediction.

``RealtimeModel`` wraps a trained network: :class:`~emofuse.data.clips.Clip` in,
probabilities out, on torch or onnxruntime (``emofuse export-onnx``).

>>> net = RealtimeAV(RealtimeConfig())
>>> x = example_inputs(net.config, batch=2, frames=4, mel_frames=120)
>>> net(*x).shape
torch.Size([2, 7])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.clips import Clip, ClipSpec
from ..errors import DataError, UsageError
from ..media.audio_features import log_mel
from .calibration import softmax
from .network import NetworkModel
from .registry import register_architecture

STREAMS = ("face", "frame", "audio")
INPUT_NAMES = ["faces", "face_valid", "frames", "frame_valid", "mel", "mel_valid"]


@dataclass
class RealtimeConfig:
    """Hyper-parameters of :class:`RealtimeAV` (JSON-serialisable)."""

    face_size: int = 48
    frame_shape: list[int] = field(default_factory=lambda: [48, 64])
    n_mels: int = 64
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])
    hidden: int = 64
    fc: int = 64
    dropout: float = 0.2
    stream_dropout: float = 0.2
    n_outputs: int = 7


def _convs(channels: Sequence[int]) -> nn.Sequential:
    """A stride-2 stem, then conv + pooling stages: each halves the size (floor), ``2^(n+1)``
    in all, so a length ``L`` comes out as ``L // 2^(n+1)`` whatever ``L`` is."""
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(zip([1, *channels[:-1]], channels)):
        conv = (
            nn.Conv2d(cin, cout, 4, 2, 1, bias=False)
            if i == 0
            else nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        )
        layers += [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
    return nn.Sequential(*layers)


def _pool(h: torch.Tensor, valid: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """Masked mean of ``h (N, T, H)`` over ``valid (N, T)``; ``missing`` where none is valid."""
    count = valid.sum(1, keepdim=True)
    mean = (h * valid.unsqueeze(-1)).sum(1) / count.clamp(min=1.0)
    return torch.where(count > 0, mean, missing.unsqueeze(0))


class ImageStream(nn.Module):
    """Per-frame standardisation, a shallow CNN, global average pooling, an LSTM."""

    def __init__(self, channels: Sequence[int], hidden: int):
        super().__init__()
        self.cnn = _convs(channels)
        self.lstm = nn.LSTM(channels[-1], hidden, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[0], x.shape[1]
        x = x.flatten(0, 1)  # (N*T, 1, H, W)
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = x.std(dim=(2, 3), keepdim=True)
        z = self.cnn((x - mean) / (std + 0.05)).mean(dim=(2, 3))
        return self.lstm(z.reshape(n, t, -1))[0]


class AudioStream(nn.Module):
    """Per-utterance normalisation, a CNN over (mel, time), a projection, an LSTM over time."""

    def __init__(self, channels: Sequence[int], n_mels: int, hidden: int):
        super().__init__()
        self.reduction = 2 ** (len(channels) + 1)
        if n_mels % self.reduction:
            raise UsageError(f"n_mels ({n_mels}) must be a multiple of {self.reduction}")
        self.cnn = _convs(channels)
        self.project = nn.Linear(channels[-1] * (n_mels // self.reduction), hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)

    def forward(self, mel: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = valid[:, None, None, :]
        count = v.sum(dim=(1, 2, 3), keepdim=True) * mel.shape[2]
        mean = (mel * v).sum(dim=(1, 2, 3), keepdim=True) / count.clamp(min=1.0)
        var = (((mel - mean) * v) ** 2).sum(dim=(1, 2, 3), keepdim=True) / count.clamp(min=1.0)
        h = (mel - mean) / (var + 1e-5).sqrt() * v
        steps = valid
        for i in range(0, len(self.cnn), 4):  # conv, BN, ReLU, pool: padding re-zeroed after each
            h = self.cnn[i : i + 4](h)
            k = 4 if i == 0 else 2  # the stem also strides
            steps = -nn.functional.max_pool1d(-steps[:, None, :], k, k)[:, 0, :]  # all valid
            h = h * steps[:, None, None, :]
        h = torch.relu(self.project(h.flatten(1, 2).transpose(1, 2)))  # (N, F', hidden)
        return self.lstm(h)[0], steps


@register_architecture("realtime_av")
class RealtimeAV(nn.Module):
    """``forward(faces, face_valid, frames, frame_valid, mel, mel_valid)`` -> logits."""

    Config = RealtimeConfig

    def __init__(self, config: RealtimeConfig):
        super().__init__()
        self.config = config
        c, h = list(config.channels), config.hidden
        self.face = ImageStream(c, h)
        self.frame = ImageStream(c, h)
        self.audio = AudioStream(c, config.n_mels, h)
        self.missing = nn.Parameter(torch.zeros(len(STREAMS), h))
        self.head = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(len(STREAMS) * h, config.fc),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.fc, config.n_outputs),
        )

    @property
    def min_mel_frames(self) -> int:
        return self.audio.reduction

    @staticmethod
    def example_inputs(config: RealtimeConfig) -> tuple[torch.Tensor, ...]:
        return example_inputs(config, batch=2, frames=4, mel_frames=64)

    def forward(
        self,
        faces: torch.Tensor,
        face_valid: torch.Tensor,
        frames: torch.Tensor,
        frame_valid: torch.Tensor,
        mel: torch.Tensor,
        mel_valid: torch.Tensor,
    ) -> torch.Tensor:
        if self.training and self.config.stream_dropout > 0:
            face_valid, frame_valid, mel_valid = drop_streams(
                [face_valid, frame_valid, mel_valid], self.config.stream_dropout
            )
        a, steps = self.audio(mel, mel_valid)
        pooled = [
            _pool(self.face(faces), face_valid, self.missing[0]),
            _pool(self.frame(frames), frame_valid, self.missing[1]),
            _pool(a, steps, self.missing[2]),
        ]
        return self.head(torch.cat(pooled, 1))


def drop_streams(valid: list[torch.Tensor], p: float) -> list[torch.Tensor]:
    """Zero each present stream's mask per item with probability ``p``, keeping one."""
    present = torch.stack([v.sum(1) > 0 for v in valid], 1)
    drop = (torch.rand(present.shape) < p) & present
    drop[~(present & ~drop).any(1)] = False
    return [v * (~drop[:, i : i + 1]).to(v.dtype) for i, v in enumerate(valid)]


def example_inputs(
    config: RealtimeConfig, batch: int = 2, frames: int = 8, mel_frames: int = 300, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right shapes (for export checks and tests)."""
    g = torch.Generator().manual_seed(seed)
    s, (fh, fw) = config.face_size, config.frame_shape
    return (
        torch.rand(batch, frames, 1, s, s, generator=g),
        torch.ones(batch, frames),
        torch.rand(batch, frames, 1, fh, fw, generator=g),
        torch.ones(batch, frames),
        torch.randn(batch, 1, config.n_mels, mel_frames, generator=g),
        torch.ones(batch, mel_frames),
    )


def clip_mel(clip: Clip, config: RealtimeConfig, prep: dict, min_frames: int = 8):
    """The clip's log-mel ``(n_mels, F)``, or ``None`` without (enough) sound."""
    if not clip.has_audio or clip.wave.size < prep["hop"] * min_frames:
        return None
    return log_mel(clip.wave, prep["sample_rate"], prep["n_fft"], prep["hop"], config.n_mels)


def batch_clips(
    clips: Sequence[Clip],
    config: RealtimeConfig,
    prep: dict,
    min_mel_frames: int = 8,
    mels: Sequence[torch.Tensor | None] | None = None,
) -> tuple[torch.Tensor, ...]:
    """Clips -> the six padded input tensors (frames and spectrograms padded per batch).

    ``mels``: the clips' log-mels when already computed (:func:`clip_mel`).
    """
    if not clips:
        raise DataError("no clips")
    n, t = len(clips), max([max(len(c.faces), len(c.frames)) for c in clips] + [1])
    s, (fh, fw) = config.face_size, config.frame_shape
    faces, face_valid = torch.zeros(n, t, 1, s, s), torch.zeros(n, t)
    frames, frame_valid = torch.zeros(n, t, 1, fh, fw), torch.zeros(n, t)
    computed = mels is None
    mels = [None] * n if mels is None else list(mels)
    for i, c in enumerate(clips):
        if tuple(c.faces.shape[1:]) != (s, s) or tuple(c.frames.shape[1:]) != (fh, fw):
            raise DataError(
                f"clip {i}: faces {c.faces.shape} / frames {c.frames.shape} do not match the "
                f"model's ({s}, {s}) / ({fh}, {fw})"
            )
        k = len(c.faces)
        faces[i, :k, 0] = torch.from_numpy(c.faces.astype(np.float32) / 255.0)
        face_valid[i, :k] = torch.from_numpy(c.face_valid.astype(np.float32))
        k = len(c.frames)
        frames[i, :k, 0] = torch.from_numpy(c.frames.astype(np.float32) / 255.0)
        frame_valid[i, :k] = 1.0
        if computed:
            mels[i] = clip_mel(c, config, prep, min_mel_frames)
    length = max([m.shape[-1] for m in mels if m is not None] + [min_mel_frames])
    mel, mel_valid = torch.zeros(n, 1, config.n_mels, length), torch.zeros(n, length)
    for i, m in enumerate(mels):
        if m is not None:
            mel[i, 0, :, : m.shape[-1]] = m
            mel_valid[i, : m.shape[-1]] = 1.0
    return faces, face_valid, frames, frame_valid, mel, mel_valid


class RealtimeModel(NetworkModel):
    """A trained :class:`RealtimeAV`: clips in, probabilities in :attr:`labels` order out."""

    architecture = "realtime_av"
    default_dir = Path(__file__).resolve().parents[1] / "weights" / "av"
    modality = "av"
    default_batch_size = 16

    @property
    def clip_spec(self) -> ClipSpec:
        """How clips must be cut for this model (frames, fps, sizes, seconds)."""
        return ClipSpec.from_dict(self.meta.preprocessing.get("clip") or {})

    def inputs(self, clips: Sequence[Clip]) -> tuple[torch.Tensor, ...]:
        net = self.module
        return batch_clips(clips, net.config, self.meta.preprocessing, net.min_mel_frames)

    @torch.inference_mode()
    def logits(self, clips: Sequence[Clip]) -> np.ndarray:
        out = np.zeros((len(clips), len(self.labels)), np.float32)
        for s in range(0, len(clips), self.batch_size):
            part = clips[s : s + self.batch_size]
            out[s : s + len(part)] = self._network(*self.inputs(part))
        return out

    def predict_proba(self, clips: Sequence[Clip]) -> np.ndarray:
        """Calibrated probabilities ``(N, n_labels)``."""
        if len(clips) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        return softmax(self.logits(clips), self.meta.temperature).astype(np.float32)

    @staticmethod
    def streams_used(clip: Clip) -> list[str]:
        """Which streams a clip gives the network (what its prediction used)."""
        used = ["face"] if clip.face_valid.any() else []
        used += ["frame"] if len(clip.frames) else []
        return used + (["audio"] if clip.has_audio else [])
