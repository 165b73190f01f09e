"""Compact VGG-style CNN for 48x48 grayscale face crops, and its inference wrapper.

``FaceCNN`` maps normalised crops ``(N, 1, 48, 48)`` to logits ``(N, 7)`` in
:data:`emofuse.labels.CANONICAL` order. ``FaceModel`` takes raw ``uint8`` crops and
applies the training normalisation, optional flip test-time augmentation and the
fitted temperature.

>>> import numpy as np
>>> model = FaceModel.load()                                    # doctest: +SKIP
>>> crops = np.zeros((2, 48, 48), dtype=np.uint8)
>>> model.predict_proba(crops).shape                            # doctest: +SKIP
(2, 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import DataError, UsageError
from .calibration import softmax
from .network import NetworkModel
from .registry import register_architecture

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "weights" / "face"


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
    x = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
    return ((x / 255.0 - mean) / std).unsqueeze(1)


class FaceModel(NetworkModel):
    """A trained face emotion model: gray crops in, probabilities in :attr:`labels` order out.

    >>> model = FaceModel.load()                                    # doctest: +SKIP
    >>> model.labels[:3]                                            # doctest: +SKIP
    ['neutral', 'happiness', 'sadness']
    """

    network_cls = FaceCNN
    default_dir = DEFAULT_DIR
    modality = "face"
    default_batch_size = 32

    @classmethod
    def prepare_module(cls, module: FaceCNN) -> FaceCNN:
        return fold_batchnorm(module).to(memory_format=torch.channels_last)

    @property
    def size(self) -> int:
        return int(self.meta.preprocessing.get("size", 48))

    def _check(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops)
        if crops.ndim == 2:
            crops = crops[None]
        if crops.ndim != 3 or crops.shape[1:] != (self.size, self.size):
            raise DataError(
                f"expected gray face crops (N, {self.size}, {self.size}), got {crops.shape}"
            )
        return crops

    @torch.inference_mode()
    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Raw logits ``(N, n_labels)`` (flip-averaged when ``tta_flip``), no temperature."""
        crops = self._check(crops)
        p = self.meta.preprocessing
        out = np.zeros((len(crops), len(self.labels)), dtype=np.float32)
        for s in range(0, len(crops), self.batch_size):
            x = normalise(crops[s : s + self.batch_size], p["mean"], p["std"])
            x = x.contiguous(memory_format=torch.channels_last)
            n = len(x)
            if p.get("tta_flip"):  # one forward pass over the crops and their mirror images
                z = self._network(torch.cat([x, x.flip(-1)]))
                z = (z[:n] + z[n:]) / 2
            else:
                z = self._network(x)
            out[s : s + n] = z.numpy()
        return out

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``(N, n_labels)`` for ``uint8`` crops ``(N, 48, 48)``."""
        z = self.logits(crops)
        return softmax(z, self.meta.temperature).astype(np.float32)
