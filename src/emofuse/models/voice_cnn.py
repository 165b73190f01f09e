"""Compact 2-D CNN over log-mel spectrograms for speech emotion, and its inference wrapper.

``VoiceCNN`` normalises each utterance, runs conv blocks over (mel, time), collapses
frequency and pools over time with attentive statistics (masked, so any length works).
``VoiceModel`` turns raw 16 kHz waves into probabilities exactly as training did.

A network trained on a corpus' native labels (RAVDESS: 8, with calm) records them in
``meta.preprocessing["native_labels"]`` and the merge onto :attr:`VoiceModel.labels` in
``meta.preprocessing["label_merge"]``; :meth:`VoiceModel.predict_proba` then sums the
temperature-softmax of the native logits into the canonical labels (calm -> neutral), and
:meth:`VoiceModel.predict_native_proba` returns the native columns. Older artefacts
without native labels behave as before (the network's outputs are the labels).

>>> import numpy as np
>>> model = VoiceModel.load()                                   # doctest: +SKIP
>>> wave = np.zeros(16000 * 3, dtype="float32")                 # 3 s at 16 kHz
>>> model.predict_proba([wave]).shape                           # doctest: +SKIP
(1, 7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import DataError, UsageError
from ..media.audio_features import log_mel, trim_silence
from .calibration import softmax
from .network import NetworkModel
from .registry import register_architecture

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "weights" / "voice"
MIN_SECONDS = 0.3


@dataclass
class VoiceCNNConfig:
    """Hyper-parameters of :class:`VoiceCNN` (JSON-serialisable)."""

    n_mels: int = 64
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    embed: int = 128
    attention: int = 64
    dropout: float = 0.3
    n_classes: int = 7


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def _mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


@register_architecture("voice_cnn")
class VoiceCNN(nn.Module):
    """Log-mels ``(N, 1, n_mels, T)`` (+ optional valid ``lengths`` in frames) -> logits."""

    Config = VoiceCNNConfig

    def __init__(self, config: VoiceCNNConfig):
        super().__init__()
        self.config = config
        chans = [1, *config.channels]
        stem = nn.Sequential(
            nn.Conv2d(1, chans[1], 3, padding=1, bias=False),
            nn.BatchNorm2d(chans[1]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        # the stem and every block halve (mel, time): see `reduction`
        self.blocks = nn.Sequential(stem, *(_block(a, b) for a, b in pairwise(chans[1:])))
        freq = config.n_mels // self.reduction
        self.project = nn.Sequential(
            nn.Conv1d(chans[-1] * freq, config.embed, 1, bias=False),
            nn.BatchNorm1d(config.embed),
            nn.ReLU(inplace=True),
        )
        self.score = nn.Sequential(
            nn.Conv1d(config.embed, config.attention, 1),
            nn.Tanh(),
            nn.Conv1d(config.attention, 1, 1),
        )
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(2 * config.embed, config.n_classes)
        )

    @property
    def reduction(self) -> int:
        """Factor by which the network shrinks (mel, time)."""
        return 2 ** len(self.config.channels)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        n, _, _, t = x.shape
        if t < self.reduction:
            raise DataError(f"input has {t} frames; VoiceCNN needs at least {self.reduction}")
        lengths = torch.full((n,), t) if lengths is None else lengths.clamp(1, t)
        valid = _mask(lengths, t)[:, None, None, :]  # (N,1,1,T)
        count = valid.sum(dim=(1, 2, 3), keepdim=True) * x.shape[2]
        mean = (x * valid).sum(dim=(1, 2, 3), keepdim=True) / count
        var = (((x - mean) * valid) ** 2).sum(dim=(1, 2, 3), keepdim=True) / count
        x = ((x - mean) / (var + 1e-5).sqrt()) * valid  # per-utterance normalisation
        h = self.blocks(x)  # (N, C, F', T')
        h = self.project(h.flatten(1, 2))  # (N, E, T')
        keep = _mask((lengths // self.reduction).clamp(min=1), h.shape[-1])[:, None, :]
        w = self.score(h).masked_fill(~keep, float("-inf")).softmax(dim=-1)
        mu = (w * h).sum(-1)
        sd = ((w * (h - mu[..., None]) ** 2).sum(-1) + 1e-5).sqrt()
        return self.head(torch.cat([mu, sd], dim=1))


def chunk_wave(wave: np.ndarray, max_samples: int) -> list[np.ndarray]:
    """Split ``wave`` into windows of ``max_samples`` overlapping by half; the last is end-aligned.

    >>> [len(c) for c in chunk_wave(np.zeros(10), 4)]
    [4, 4, 4, 4]
    """
    if len(wave) <= max_samples:
        return [wave]
    step = max_samples // 2
    starts = [*range(0, len(wave) - max_samples, step), len(wave) - max_samples]
    return [wave[s : s + max_samples] for s in starts]


def label_merge_matrix(
    outputs: Sequence[str], labels: Sequence[str], merge: dict[str, str]
) -> np.ndarray:
    """``(len(outputs), len(labels))`` 0/1 matrix: output ``o`` -> ``labels[merge.get(o, o)]``.

    >>> label_merge_matrix(["neutral", "calm", "happy"], ["neutral", "happy"], {"calm": "neutral"})
    array([[1., 0.],
           [1., 0.],
           [0., 1.]])
    """
    labels = list(labels)
    m = np.zeros((len(outputs), len(labels)))
    for i, output in enumerate(outputs):
        target = merge.get(output, output)
        if target not in labels:
            raise DataError(f"native label {output!r} maps to {target!r}, not in {labels}")
        m[i, labels.index(target)] = 1.0
    return m


class VoiceModel(NetworkModel):
    """A trained voice emotion model: waves in, probabilities in :attr:`labels` order out.

    >>> model = VoiceModel.load()                                  # doctest: +SKIP
    >>> model.labels[:3]                                           # doctest: +SKIP
    ['neutral', 'happiness', 'sadness']
    """

    network_cls = VoiceCNN
    default_dir = DEFAULT_DIR
    modality = "voice"
    default_batch_size = 16

    @property
    def labels(self) -> list[str]:
        """The labels :meth:`predict_proba` returns (the canonical set for RAVDESS models)."""
        return list(self.meta.labels)

    @property
    def native_labels(self) -> list[str] | None:
        """The network's own output labels when they differ from :attr:`labels`, else ``None``."""
        native = self.meta.preprocessing.get("native_labels")
        return list(native) if native else None

    @property
    def output_labels(self) -> list[str]:
        """What the network's logits are over: :attr:`native_labels` or :attr:`labels`."""
        return self.native_labels or self.labels

    def merge_matrix(self) -> np.ndarray:
        """``(n_outputs, n_labels)`` 0/1 matrix summing output probabilities into labels."""
        if self.native_labels is None:
            return np.eye(len(self.labels))
        merge = self.meta.preprocessing.get("label_merge") or {}
        return label_merge_matrix(self.output_labels, self.labels, merge)

    @property
    def sample_rate(self) -> int:
        return int(self.meta.preprocessing.get("sample_rate", 16000))

    def features(self, wave: np.ndarray) -> torch.Tensor:
        """Log-mel ``(n_mels, frames)`` of one (already trimmed/chunked) wave, as in training."""
        p = self.meta.preprocessing
        return log_mel(wave, self.sample_rate, p["n_fft"], p["hop"], p["n_mels"])

    def _prepare(self, wave: np.ndarray, i: int) -> list[np.ndarray]:
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1:
            raise DataError(f"wave {i}: expected mono 1-D samples, got shape {wave.shape}")
        if len(wave) < MIN_SECONDS * self.sample_rate:
            raise DataError(
                f"audio too short (wave {i}: {len(wave) / self.sample_rate:.2f} s; "
                f"need at least {MIN_SECONDS} s)"
            )
        if not np.isfinite(wave).all():
            raise DataError(f"wave {i} contains NaN or infinite samples")
        top_db = self.meta.preprocessing.get("trim_top_db")
        if top_db is not None:
            trimmed = trim_silence(wave, self.sample_rate, float(top_db))
            if len(trimmed) >= MIN_SECONDS * self.sample_rate:
                wave = trimmed
        max_samples = int(self.meta.preprocessing["max_seconds"] * self.sample_rate)
        return chunk_wave(wave, max_samples)

    @torch.inference_mode()
    def chunk_logits(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw network logits per wave, one row per window: ``[(n_windows_i, n_outputs), ...]``.

        ``n_outputs`` is ``len(output_labels)`` (8 for a native RAVDESS network).
        """
        if isinstance(waves, np.ndarray) and waves.ndim == 1:
            raise UsageError("pass a list of waves (or a 2-D array), not a single 1-D wave")
        chunks = [(i, c) for i, w in enumerate(waves) for c in self._prepare(w, i)]
        feats = [self.features(c) for _, c in chunks]
        out = np.zeros((len(feats), len(self.output_labels)), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for k, f in enumerate(feats):  # batch equal lengths only: no padding at inference
            by_length.setdefault(f.shape[-1], []).append(k)
        for same in by_length.values():
            for s in range(0, len(same), self.batch_size):
                idx = same[s : s + self.batch_size]
                x, lengths = pad_batch([feats[k] for k in idx], self.module.reduction)
                out[idx] = self._network(x, lengths).numpy()
        owners = np.array([i for i, _ in chunks], dtype=int)
        return [out[owners == i] for i in range(len(waves))]

    def _output_proba(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        if len(waves) == 0:
            return np.zeros((0, len(self.output_labels)))
        t = float(self.meta.temperature)
        return np.stack([softmax(lg, t).mean(axis=0) for lg in self.chunk_logits(waves)])

    def predict_proba(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Calibrated probabilities ``(N, n_labels)``; long waves average their windows.

        A native-label network's probabilities are summed into :attr:`labels` (calm into
        neutral) after the temperature softmax.
        """
        probs = self._output_proba(waves)
        if self.native_labels is not None:
            probs = probs @ self.merge_matrix()
        return probs.astype(np.float32)

    def predict_native_proba(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Calibrated probabilities over :attr:`native_labels` ``(N, n_native)``, unmerged."""
        if self.native_labels is None:
            raise UsageError("this voice model has no native labels; use predict_proba")
        return self._output_proba(waves).astype(np.float32)

    def predict(self, waves: Sequence[np.ndarray]) -> list[str]:
        """Most likely label per wave."""
        return [self.labels[k] for k in self.predict_proba(waves).argmax(axis=1)]


def pad_batch(
    feats: Sequence[torch.Tensor], min_frames: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(n_mels, T_i)`` log-mels into ``(N, 1, n_mels, max T)`` plus their lengths.

    The batch is at least ``min_frames`` long (the network's time reduction).
    """
    lengths = torch.tensor([f.shape[-1] for f in feats])
    frames = max(int(lengths.max()), min_frames)
    x = torch.zeros(len(feats), 1, feats[0].shape[0], frames)
    for k, f in enumerate(feats):
        x[k, 0, :, : f.shape[-1]] = f
    return x, lengths
