"""The face emotion model at inference: ``uint8`` gray crops in, probabilities out.

Preprocessing (normalisation, flip test-time augmentation, temperature) is numpy; the
network (:class:`~emofuse.models.face_cnn.FaceCNN`) runs on onnxruntime or torch.

>>> import numpy as np
>>> model = FaceModel.load()                                    # doctest: +SKIP
>>> model.predict_proba(np.zeros((2, 48, 48), np.uint8)).shape  # doctest: +SKIP
(2, 7)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .calibration import softmax
from .network import NetworkModel

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "weights" / "face"


def normalise_crops(crops: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``uint8`` crops ``(N, H, W)`` -> float32 ``(N, 1, H, W)``, as in training."""
    x = np.asarray(crops, dtype=np.float32) / np.float32(255.0)
    return ((x - np.float32(mean)) / np.float32(std))[:, None]


class FaceModel(NetworkModel):
    """A trained face emotion model: gray crops in, probabilities in :attr:`labels` order out.

    >>> model = FaceModel.load()                                    # doctest: +SKIP
    >>> model.labels[:3]                                            # doctest: +SKIP
    ['neutral', 'happiness', 'sadness']
    """

    architecture = "face_cnn"
    default_dir = DEFAULT_DIR
    modality = "face"
    default_batch_size = 32

    @classmethod
    def prepare_module(cls, module: Any) -> Any:
        return module.for_inference()  # BatchNorm folded, channels-last

    def _torch_call(self, x: Any) -> np.ndarray:
        import torch

        return self.module(x.contiguous(memory_format=torch.channels_last)).numpy()

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

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Raw logits ``(N, n_labels)`` (flip-averaged when ``tta_flip``), no temperature."""
        crops = self._check(crops)
        p = self.meta.preprocessing
        out = np.zeros((len(crops), len(self.labels)), dtype=np.float32)
        for s in range(0, len(crops), self.batch_size):
            x = normalise_crops(crops[s : s + self.batch_size], p["mean"], p["std"])
            n = len(x)
            if p.get("tta_flip"):  # one forward pass over the crops and their mirror images
                z = self._network(np.concatenate([x, x[..., ::-1]]))
                z = (z[:n] + z[n:]) / 2
            else:
                z = self._network(x)
            out[s : s + n] = z
        return out

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``(N, n_labels)`` for ``uint8`` crops ``(N, 48, 48)``."""
        z = self.logits(crops)
        return softmax(z, self.meta.temperature).astype(np.float32)
