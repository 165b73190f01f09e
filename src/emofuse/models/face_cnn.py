"""Compact VGG-style CNN for 48x48 grayscale face crops (torch).

``FaceCNN`` maps normalised crops ``(N, 1, 48, 48)`` to logits ``(N, 7)`` in
:data:`emofuse.labels.CANONICAL` order. The inference wrapper ``FaceModel`` (raw ``uint8``
crops in, calibrated probabilities out) lives in :mod:`.face` and needs no torch on the
onnxruntime backend; it is re-exported here.

>>> net = FaceCNN(FaceCNNConfig(widths=[4, 8], depths=[1, 1]))
>>> tuple(net(torch.zeros(1, 1, 48, 48)).shape)
(1, 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..errors import UsageError
from .face import DEFAULT_DIR, FaceModel, normalise_crops
from .registry import register_architecture

__all__ = ["DEFAULT_DIR", "FaceCNN", "FaceCNNConfig", "FaceModel", "fold_batchnorm", "normalise"]


@dataclass
class FaceCNNConfig:
    """Hyper-parameters of :class:`FaceCNN` (JSON-serialisable).

    Stage ``i`` runs ``depths[i]`` conv-BN-ReLU layers of ``widths[i]`` channels at
    ``input_size / 2**i`` pixels, then halves the resolution (except the last stage).
    """

    widths: list[int] = field(default_factory=lambda: [32, 64, 128, 256, 512])
    depths: list[int] = field(default_factory=lambda: [1, 1, 1, 1, 1])
    dropout: float = 0.3
    n_classes: int = 7
    input_size: int = 48


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


@register_architecture("face_cnn")
class FaceCNN(nn.Module):
    """Conv stages with max-pooling, global average pooling, dropout and a linear head.

    >>> net = FaceCNN(FaceCNNConfig(widths=[4, 8], depths=[1, 1]))
    >>> net(torch.zeros(2, 1, 48, 48)).shape
    torch.Size([2, 7])
    """

    Config = FaceCNNConfig

    def __init__(self, config: FaceCNNConfig):
        super().__init__()
        if len(config.widths) != len(config.depths) or not config.widths:
            raise UsageError("FaceCNNConfig: widths and depths need the same, non-zero length")
        self.config = config
        layers: list[nn.Module] = []
        cin = 1
        for i, (width, depth) in enumerate(zip(config.widths, config.depths)):
            for _ in range(depth):
                layers += _conv(cin, width)
                cin = width
            if i < len(config.widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(cin, config.n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def for_inference(self) -> FaceCNN:
        """An eval copy with BatchNorm folded into the convs, in channels-last layout."""
        return fold_batchnorm(self).to(memory_format=torch.channels_last)


def fold_batchnorm(net: FaceCNN) -> FaceCNN:
    """An inference copy of ``net`` with each BatchNorm folded into its conv (same outputs)."""
    from copy import deepcopy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net = deepcopy(net).eval()
    layers, folded = list(net.features), []
    for layer in layers:
        if isinstance(layer, nn.BatchNorm2d) and folded and isinstance(folded[-1], nn.Conv2d):
            folded[-1] = fuse_conv_bn_eval(folded[-1], layer)
        else:
            folded.append(layer)
    net.features = nn.Sequential(*folded)
    return net


def normalise(crops: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """``uint8`` crops ``(N, H, W)`` -> float tensor ``(N, 1, H, W)``, as in training."""
    return torch.from_numpy(normalise_crops(crops, mean, std))
