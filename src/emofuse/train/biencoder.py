"""The bi-encoder as a scikit-learn style method over raw items (text, faces, voices).

``X = {"items": rows}`` (:mod:`.items`): each tower reads its modality from a row (text:
``text``; face: ``image``, or the first face found in ``video``; voice: ``audio`` or the
video's track). With ``freeze`` (the default) the towers' pooled outputs are computed
once per item and cached, so an epoch costs only the head; fine-tuned (``freeze=False``)
the towers train at ``lr_encoder`` and the head at ``lr``.

>>> est = BiEncoderFusion(towers=[{"kind": "hf_text"}, {"kind": "face_cnn"}])  # doctest: +SKIP
>>> est.fit({"items": rows}, y).predict_proba({"items": rows[:2]}).shape     # doctest: +SKIP
(2, 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ..data.clips import ClipSpec
from ..errors import EmofuseError
from ..models.biencoder import BiEncoder, BiEncoderConfig
from ..models.towers import MODALITY
from .items import Items, as_items
from .neural import NeuralMethod


class TowerData:
    """Items plus, per (modality, row), the raw input and (frozen towers) its pooled output."""

    def __init__(self, items: Items):
        self.items = items
        self.raw: dict[tuple[str, int], Any] = {}
        self.pooled: dict[tuple[str, int], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.items)

    def get(self, modality: str, i: int) -> Any:
        key = (modality, i)
        if key not in self.raw:
            self.raw[key] = self._read(modality, i)
        return self.raw[key]

    def _read(self, modality: str, i: int) -> Any:
        items = self.items
        try:
            if modality == "text":
                return items.text(i)
            if modality == "voice":
                return items.wave(i)
            image = items.image(i)
            if image is None and items.value(i, "video") is not None:
                clip = items.clip(i, ClipSpec(frames=3))
                found = np.flatnonzero(clip.face_valid)
                image = clip.faces[found[0]] if len(found) else None
            return image
        except EmofuseError:
            return None  # unreadable media: the modality is missing for this item


@dataclass(eq=False)
class BiEncoderFusion(NeuralMethod):
    """Two towers' pooled outputs, concatenated into a linear head; see the module docstring."""

    towers: list[dict] = field(default_factory=lambda: [{"kind": "hf_text"}, {"kind": "face_cnn"}])
    freeze: bool = True
    lr_encoder: float = 2e-5
    dropout: float = 0.1
    modality_dropout: float = 0.2
    epochs: int = 40
    patience: int = 8

    architecture: ClassVar[str] = "biencoder"
    name: ClassVar[str] = "biencoder"
    input_kind: ClassVar[str] = "items"

    def _dataset(self, X: Any) -> TowerData:
        if isinstance(X, TowerData):
            return X
        return self._cached(X, lambda: TowerData(as_items(X)))

    def _network(self, data: TowerData, n_outputs: int, task: str) -> BiEncoder:
        config = BiEncoderConfig(
            towers=[dict(t) for t in self.towers],
            n_outputs=n_outputs,
            task=task,
            dropout=self.dropout,
            freeze=self.freeze,
            modality_dropout=self.modality_dropout,
        )
        net = BiEncoder(config)
        self.modalities_ = net.modalities
        return net

    def _param_groups(self, net: torch.nn.Module) -> list[dict[str, Any]]:
        return net.param_groups(self.lr_encoder, self.lr)

    def _collate(self, data: TowerData, rows: np.ndarray, rng: np.random.Generator | None):
        net = self.network_  # set by fit before the first batch
        inputs, present = {}, {}
        for tower in net.towers:
            m = tower.modality
            values = [data.get(m, int(r)) for r in rows]
            keep = [v is not None for v in values]
            present[m] = torch.tensor(keep, dtype=torch.bool)
            chosen = [int(r) for r, k in zip(rows, keep) if k]
            if not chosen:
                inputs[m] = {}
            elif self.freeze:
                todo = [r for r in chosen if (m, r) not in data.pooled]
                if todo:
                    with torch.inference_mode():
                        z = tower(**tower.prepare([data.get(m, r) for r in todo]))
                    data.pooled.update({(m, r): z[k].clone() for k, r in enumerate(todo)})
                inputs[m] = {"pooled": torch.stack([data.pooled[(m, r)] for r in chosen])}
            else:
                inputs[m] = tower.prepare([data.get(m, r) for r in chosen])
        return inputs, present

    def used_modalities(self, X: Any) -> list[list[str]]:
        data = self._dataset(X)
        mods = getattr(self, "modalities_", None) or [MODALITY[t["kind"]] for t in self.towers]
        return [[m for m in mods if data.get(m, i) is not None] for i in range(len(data))]

    def _preprocessing(self) -> dict[str, Any]:
        return {"modalities": self.modalities_, "towers": [dict(t) for t in self.towers]}

    def _restore(self, meta: Any) -> None:
        self.modalities_ = list(meta.preprocessing["modalities"])
