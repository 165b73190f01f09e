"""Compact 2-D CNN over log-mel spectrograms for speech emotion (torch).

``VoiceCNN`` normalises each utterance, runs conv blocks over (mel, time), collapses
frequency and pools over time with attentive statistics (masked, so any length works).
The inference wrapper ``VoiceModel`` (waves in, probabilities out; numpy features, no
torch on the onnxruntime backend) lives in :mod:`.voice` and is re-exported here.

>>> net = VoiceCNN(VoiceCNNConfig(n_mels=16, channels=[4, 8], embed=8, attention=4))
>>> tuple(net(torch.zeros(2, 1, 16, 40), torch.tensor([40, 20])).shape)
(2, 7)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise

import torch
from torch import nn

from ..errors import DataError
from .registry import register_architecture
from .voice import DEFAULT_DIR, MIN_SECONDS, VoiceModel, chunk_wave, label_merge_matrix

__all__ = [
    "DEFAULT_DIR",
    "MIN_SECONDS",
    "VoiceCNN",
    "VoiceCNNConfig",
    "VoiceModel",
    "chunk_wave",
    "join_networks",
    "label_merge_matrix",
    "pad_batch",
]


@dataclass
class VoiceCNNConfig:
    """Hyper-parameters of :class:`VoiceCNN` (JSON-serialisable)."""

    n_mels: int = 64
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    embed: int = 128
    attention: int = 64
    dropout: float = 0.3
    n_classes: int = 7
    #: above 1: an ensemble of that many networks of this shape, averaged in probability
    members: int = 1


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
    """Log-mels ``(N, 1, n_mels, T)`` (+ optional valid ``lengths`` in frames) -> logits.

    Frames past an item's length are masked throughout, so padding does not change it.
    With ``config.members > 1`` it holds that many networks (``members``) and returns the
    log of their mean softmax, so a temperature and the label merge apply as to one network.
    """

    Config = VoiceCNNConfig

    def __init__(self, config: VoiceCNNConfig):
        super().__init__()
        self.config = config
        if config.members > 1:
            single = replace(config, members=1)
            self.members = nn.ModuleList(VoiceCNN(single) for _ in range(config.members))
            return
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
    def heads(self) -> list[nn.Module]:
        """The final dropout + linear layer: this network's, or each member's."""
        return [m.head for m in self.members] if self.config.members > 1 else [self.head]

    @property
    def reduction(self) -> int:
        """Factor by which the network shrinks (mel, time)."""
        return 2 ** len(self.config.channels)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.config.members > 1:
            logp = torch.stack([m(x, lengths).log_softmax(dim=-1) for m in self.members])
            return torch.logsumexp(logp, dim=0) - math.log(len(self.members))
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
        h = self._masked_blocks(x, lengths)  # (N, C, F', T')
        h = self.project(h.flatten(1, 2))  # (N, E, T')
        keep = _mask((lengths // self.reduction).clamp(min=1), h.shape[-1])[:, None, :]
        w = self.score(h).masked_fill(~keep, float("-inf")).softmax(dim=-1)
        mu = (w * h).sum(-1)
        sd = ((w * (h - mu[..., None]) ** 2).sum(-1) + 1e-5).sqrt()
        return self.head(torch.cat([mu, sd], dim=1))

    def _masked_blocks(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The conv blocks with padded frames zeroed after every ReLU and pooling.

        Each valid frame then sees exactly what it would see without padding (zeros past
        the end), so a padded batch gives each item the logits it gets alone.
        """
        cur = lengths
        for block in self.blocks:
            for layer in block:
                x = layer(x)
                if isinstance(layer, nn.MaxPool2d):
                    cur = torch.div(cur, 2, rounding_mode="floor").clamp(min=1)
                if isinstance(layer, (nn.ReLU, nn.MaxPool2d)):
                    x = x * _mask(cur, x.shape[-1])[:, None, None, :]
        return x


def join_networks(nets: Sequence[VoiceCNN]) -> VoiceCNN:
    """One :class:`VoiceCNN` holding ``nets`` (single networks of one shape) as its members.

    >>> cfg = VoiceCNNConfig(n_mels=16, channels=[4, 8], embed=8, attention=4)
    >>> join_networks([VoiceCNN(cfg), VoiceCNN(cfg)]).config.members
    2
    """
    shapes = {repr(n.config) for n in nets}
    if len(nets) < 2 or len(shapes) != 1 or nets[0].config.members != 1:
        raise DataError("an ensemble joins two or more single networks of the same config")
    joined = VoiceCNN(replace(nets[0].config, members=len(nets)))
    for slot, net in zip(joined.members, nets, strict=True):
        slot.load_state_dict(net.state_dict())
    return joined.eval()


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
        x[k, 0, :, : f.shape[-1]] = torch.as_tensor(f)
    return x, lengths
