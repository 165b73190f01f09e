"""Bi-encoder: two encoder towers' pooled outputs, concatenated into a linear head.

Each tower (:mod:`.towers`: a Hugging Face backbone by local path, the face CNN, the voice
CNN) pools its modality to a vector; each vector is layer-normalised, the two are
concatenated and a linear layer gives the logits (or V/A/D values). With ``freeze`` the
towers stay fixed (eval mode, no gradients) and the artefact stores only the head: the
towers are rebuilt from their sources. Fine-tuned end to end, the towers' weights are
saved too, and :meth:`BiEncoder.param_groups` gives the encoders and the head their own
learning rates. A missing modality (a row without text, say) takes a learned vector;
training can drop one modality per item (``modality_dropout``) so either alone works.

>>> towers = [{"kind": "hf_text"}, {"kind": "face_cnn"}]     # MiniLM + the bundled face CNN
>>> net = BiEncoder(BiEncoderConfig(towers=towers))            # doctest: +SKIP
>>> batch = net.prepare({"text": ["so happy"], "face": [crop]})  # doctest: +SKIP
>>> net(*batch).shape                                          # doctest: +SKIP
torch.Size([1, 7])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import DataError, UsageError
from .crossmodal import TASKS
from .registry import register_architecture
from .towers import build_tower


@dataclass
class BiEncoderConfig:
    """Hyper-parameters of :class:`BiEncoder` (JSON-serialisable).

    ``towers``: two ``{"kind": ..., **options}`` dicts for :func:`~.towers.build_tower`.
    """

    towers: list[dict] = field(default_factory=lambda: [{"kind": "hf_text"}, {"kind": "face_cnn"}])
    n_outputs: int = 7
    task: str = "classification"
    dropout: float = 0.1
    freeze: bool = True
    modality_dropout: float = 0.2


@register_architecture("biencoder")
class BiEncoder(nn.Module):
    """``forward(inputs, present)``: per modality the prepared inputs of its present items.

    ``inputs[m]`` is what the tower's ``prepare`` returned, or ``{"pooled": (n, dim)}``
    (the frozen tower's output, cached by the caller).
    """

    Config = BiEncoderConfig

    def __init__(self, config: BiEncoderConfig):
        super().__init__()
        if len(config.towers) != 2:
            raise UsageError(f"a bi-encoder has two towers, got {len(config.towers)}")
        if config.task not in TASKS:
            raise UsageError(f"BiEncoderConfig.task must be one of {TASKS}, got {config.task!r}")
        self.config = config
        self.towers = nn.ModuleList(build_tower(**dict(t)) for t in config.towers)
        names = [t.modality for t in self.towers]
        if len(set(names)) != 2:
            raise UsageError(f"the two towers need different modalities, got {names}")
        dims = [int(t.dim) for t in self.towers]
        self.norms = nn.ModuleList(nn.LayerNorm(d) for d in dims)
        self.missing = nn.ParameterList(nn.Parameter(torch.zeros(d)) for d in dims)
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(sum(dims), config.n_outputs)
        )
        if config.freeze:
            self.towers.requires_grad_(False)

    @property
    def modalities(self) -> list[str]:
        return [t.modality for t in self.towers]

    def train(self, mode: bool = True) -> BiEncoder:
        super().train(mode)
        if self.config.freeze:
            self.towers.eval()  # frozen: no dropout, BatchNorm statistics stay
        return self

    def prepare(
        self, items: Mapping[str, Sequence[Any]]
    ) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
        """Raw items per modality (``None`` for a missing one) -> ``(inputs, present)``."""
        n = {len(v) for v in items.values()}
        if len(n) != 1:
            raise DataError(f"every modality needs one entry per item, got lengths {sorted(n)}")
        (count,) = n
        inputs, present = {}, {}
        for tower in self.towers:
            m = tower.modality
            values = list(items.get(m) or [None] * count)
            keep = [v is not None for v in values]
            present[m] = torch.tensor(keep, dtype=torch.bool)
            chosen = [v for v in values if v is not None]
            inputs[m] = tower.prepare(chosen) if chosen else {}
        return inputs, present

    def forward(
        self, inputs: Mapping[str, Mapping[str, torch.Tensor]], present: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        n = len(next(iter(present.values())))
        keep = {m: present[m].clone() for m in self.modalities}
        if self.training and self.config.modality_dropout > 0:
            both = keep[self.modalities[0]] & keep[self.modalities[1]]
            drop = both & (torch.rand(n) < self.config.modality_dropout)
            side = torch.rand(n) < 0.5
            keep[self.modalities[0]] &= ~(drop & side)
            keep[self.modalities[1]] &= ~(drop & ~side)
        parts = []
        for i, tower in enumerate(self.towers):
            m = tower.modality
            z = self.missing[i].expand(n, -1)
            if present[m].any():
                given = inputs[m]  # prepared inputs, or the tower's output ("pooled")
                pooled = self.norms[i](given["pooled"] if "pooled" in given else tower(**given))
                full = torch.zeros(n, pooled.shape[1], dtype=pooled.dtype)
                full[present[m]] = pooled
                z = torch.where(keep[m][:, None], full, z)
            parts.append(z)
        return self.head(torch.cat(parts, 1))

    @staticmethod
    def example_inputs(config: BiEncoderConfig) -> tuple[dict, dict]:
        """Two items prepared for ``config``'s towers."""
        import numpy as np

        net = BiEncoder(config)
        samples = {
            "text": ["so happy", "what a day"],
            "face": [np.full((48, 48), 120, np.uint8), np.zeros((48, 48), np.uint8)],
            "voice": [np.zeros(16000, np.float32), np.ones(16000, np.float32) * 0.1],
        }
        return net.prepare({m: samples[m] for m in net.modalities})

    def param_groups(self, lr_encoder: float, lr_head: float) -> list[dict[str, Any]]:
        """Optimizer groups: towers at ``lr_encoder`` (unless frozen), the rest at ``lr_head``."""
        towers = {id(p) for p in self.towers.parameters()}
        head = [p for p in self.parameters() if id(p) not in towers and p.requires_grad]
        groups = [{"params": head, "lr": lr_head, "name": "head"}]
        if not self.config.freeze:
            enc = [p for p in self.towers.parameters() if p.requires_grad]
            groups.append({"params": enc, "lr": lr_encoder, "name": "encoders"})
        return groups

    # a frozen model stores the head only: the towers come back from their sources
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        state = super().state_dict(*args, **kwargs)
        if self.config.freeze:
            state = type(state)((k, v) for k, v in state.items() if not k.startswith("towers."))
        return state

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ):
        if not self.config.freeze:
            return super().load_state_dict(state_dict, strict=strict, assign=assign)
        result = super().load_state_dict(state_dict, strict=False, assign=assign)
        missing = [k for k in result.missing_keys if not k.startswith("towers.")]
        if strict and (missing or result.unexpected_keys):
            raise DataError(
                f"bi-encoder weights do not match: missing {missing}, "
                f"unexpected {result.unexpected_keys}"
            )
        return result
