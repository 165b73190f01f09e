"""The real-time audio-visual model as a scikit-learn style method over raw items.

``X = {"items": rows}`` (:mod:`.items`): a row with ``video`` is decoded into a clip
(face crops, downscaled frames, its sound); a paired row (``image`` + ``audio``) is
rendered into a video-like clip the way the sample clip was made
(:func:`emofuse.data.clips.synthesize`), re-rendered with fresh light augmentation every
epoch. Spectrograms get SpecAugment-style time and frequency masks in training. The
network is :class:`~emofuse.models.realtime.RealtimeAV`; a saved method folder is also a
``RealtimeModel`` folder (``modality: "av"``), which ``Recognizer`` and ``emofuse serve``
use when it sits at ``MODEL_DIR/av/`` (see :mod:`emofuse.inference.realtime`).

>>> est = RealtimeFusion(labels=list(CANONICAL)).fit({"items": rows}, y)  # doctest: +SKIP
>>> est.save("runs/av/av")                                               # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ..data.clips import Clip, ClipSpec
from ..errors import EmofuseError
from ..models.realtime import RealtimeAV, RealtimeConfig, batch_clips, clip_mel
from .items import Items, as_items
from .neural import NeuralMethod, torch_threads

PREP = {"sample_rate": 16000, "n_fft": 400, "hop": 160}


class ClipData:
    """Items with their clips (decoded videos) and spectrograms computed once."""

    def __init__(self, items: Items, spec: ClipSpec, config: RealtimeConfig):
        self.items, self.spec, self.config = items, spec, config
        self.fixed: dict[int, Clip | None] = {}  # decoded (not synthesised) clips
        self.mels: dict[int, torch.Tensor | None] = {}
        self.faces: dict[int, np.ndarray | None] = {}

    def __len__(self) -> int:
        return len(self.items)

    def synthetic(self, i: int) -> bool:
        return self.items.value(i, "video") is None

    def clip(self, i: int, rng: np.random.Generator | None) -> Clip:
        """The clip of item ``i``: rendered anew (augmented with ``rng``) or decoded once."""
        from ..data.clips import synthesize

        s = self.spec
        empty = Clip(
            np.zeros((0, s.face_size, s.face_size), np.uint8),
            np.zeros(0, bool),
            np.zeros((0, *s.frame_shape), np.uint8),
            None,
        )
        if not self.synthetic(i):
            if i not in self.fixed:
                try:
                    self.fixed[i] = self.items.clip(i, s)
                except EmofuseError:
                    self.fixed[i] = None
            return self.fixed[i] or empty
        if i not in self.faces:
            try:
                self.faces[i] = self.items.image(i)
            except EmofuseError:
                self.faces[i] = None
        face = self.faces[i]
        return empty if face is None else synthesize(face, None, s, rng)

    def mel(self, i: int, clip: Clip) -> torch.Tensor | None:
        if i not in self.mels:
            if clip.wave is None and self.synthetic(i):
                try:
                    wave = self.items.wave(i)
                except EmofuseError:
                    wave = None
                clip = Clip(clip.faces, clip.face_valid, clip.frames, wave)
            if clip.wave is not None:
                clip.wave = clip.wave[: int(self.spec.max_seconds * PREP["sample_rate"])]
            mel = clip_mel(clip, self.config, PREP, 2 ** len(self.config.channels))
            self.mels[i] = None if mel is None else mel.to(torch.float16)
            if self.fixed.get(i) is not None:
                self.fixed[i].wave = None  # kept as its spectrogram only
        mel = self.mels[i]
        return None if mel is None else mel.float()


def spec_augment(mel: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """One random frequency band (up to 8 bins) and time span (up to 10%) set to the mean."""
    mel = mel.clone()
    m, t = mel.shape
    f = int(rng.integers(0, 9))
    f0 = int(rng.integers(0, m - f + 1))
    w = int(rng.integers(0, max(1, t // 10) + 1))
    t0 = int(rng.integers(0, t - w + 1))
    mean = mel.mean()
    mel[f0 : f0 + f] = mean
    mel[:, t0 : t0 + w] = mean
    return mel


@dataclass(eq=False)
class RealtimeFusion(NeuralMethod):
    """Shallow CNN + LSTM per stream (face, frame, log-mel), concatenated; see the module doc."""

    channels: list[int] = field(default_factory=lambda: [16, 32, 64])
    hidden: int = 64
    fc: int = 64
    dropout: float = 0.2
    stream_dropout: float = 0.2
    frames: int = 8
    fps: float = 4.0
    max_seconds: float = 4.0
    n_mels: int = 64
    lr: float = 2e-3
    epochs: int = 40
    patience: int = 8

    architecture: ClassVar[str] = "realtime_av"
    modality: ClassVar[str] = "av"
    name: ClassVar[str] = "realtime"
    input_kind: ClassVar[str] = "items"

    @property
    def spec(self) -> ClipSpec:
        return ClipSpec(frames=self.frames, fps=self.fps, max_seconds=self.max_seconds)

    @property
    def config(self) -> RealtimeConfig:
        return RealtimeConfig(
            n_mels=self.n_mels,
            channels=list(self.channels),
            hidden=self.hidden,
            fc=self.fc,
            dropout=self.dropout,
            stream_dropout=self.stream_dropout,
        )

    def _dataset(self, X: Any) -> ClipData:
        if isinstance(X, ClipData):
            return X
        return self._cached(X, lambda: ClipData(as_items(X), self.spec, self.config))

    def _network(self, data: ClipData, n_outputs: int, task: str) -> RealtimeAV:
        config = self.config
        config.n_outputs = n_outputs
        return RealtimeAV(config)

    def _collate(self, data: ClipData, rows: np.ndarray, rng: np.random.Generator | None):
        clips = [data.clip(int(r), rng) for r in rows]
        mels = [data.mel(int(r), c) for r, c in zip(rows, clips)]
        if rng is not None:
            mels = [None if m is None else spec_augment(m, rng) for m in mels]
        net = self.network_
        return batch_clips(clips, net.config, PREP, net.min_mel_frames, mels)

    def used_modalities(self, X: Any) -> list[list[str]]:
        data = self._dataset(X)
        out = []
        with torch_threads(self.threads):
            for i in range(len(data)):
                clip = data.clip(i, None)
                used = ["face"] if clip.face_valid.any() else []
                used += ["video"] if len(clip.frames) else []
                out.append(used + (["voice"] if data.mel(i, clip) is not None else []))
        return out

    def _preprocessing(self) -> dict[str, Any]:
        return {**PREP, "clip": self.spec.to_dict()}
