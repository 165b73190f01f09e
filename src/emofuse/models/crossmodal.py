"""Cross-modal attention over per-modality sequences (the MulT pattern), any subset present.

Each modality's sequence ``(N, T_m, d_m)`` (audio frames, tokens, face-crop frames) is
projected to a common ``width`` with a temporal convolution plus sinusoidal positions.
For every ordered pair (target ``m``, source ``s``) a cross-attention block lets ``m``'s
positions attend to ``s``'s (two modalities: co-attention, both directions; three: the six
pairwise blocks of MulT). A target's blocks are concatenated, mixed by a self-attention
layer and mean-pooled over its valid positions; the pooled targets are concatenated into a
classification (logits) or V/A/D regression head.

Missing modalities are masks, not special cases: a source with no valid position is
attended through a learned null key/value (``add_bias_kv``), and a target with none is
replaced by a learned "missing" vector. Training drops whole modalities per item
(``modality_dropout``), so any subset works at prediction time.

>>> net = CrossModalAttention(CrossModalConfig(modalities=["voice", "text"], input_dims=[8, 6],
...                                            width=16, heads=2))
>>> x = {"voice": torch.randn(3, 20, 8), "text": torch.randn(3, 5, 6)}
>>> valid = {"voice": torch.ones(3, 20) > 0, "text": torch.zeros(3, 5) > 0}  # no text at all
>>> net(x, valid).shape
torch.Size([3, 7])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import DataError, UsageError
from .registry import register_architecture

TASKS = ("classification", "regression")


@dataclass
class CrossModalConfig:
    """Hyper-parameters of :class:`CrossModalAttention` (JSON-serialisable)."""

    modalities: list[str] = field(default_factory=lambda: ["voice", "face", "text"])
    input_dims: list[int] = field(default_factory=lambda: [64, 256, 384])
    width: int = 64
    heads: int = 4
    layers: int = 1  # cross-attention blocks per ordered pair
    dropout: float = 0.1
    modality_dropout: float = 0.25  # per item and modality, in training (one always stays)
    n_outputs: int = 7
    task: str = "classification"  # or "regression" (e.g. valence, arousal, dominance)


class Block(nn.Module):
    """Pre-norm attention of ``q`` over ``kv`` (with a learned null key) + feed-forward."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.norm_q, self.norm_kv, self.norm_ff = (nn.LayerNorm(width) for _ in range(3))
        self.attn = nn.MultiheadAttention(
            width, heads, dropout=dropout, add_bias_kv=True, batch_first=True
        )
        self.ff = nn.Sequential(
            nn.Linear(width, 2 * width), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * width, width)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, q: torch.Tensor, kv: torch.Tensor, kv_valid: torch.Tensor) -> torch.Tensor:
        k = self.norm_kv(kv)
        a, _ = self.attn(self.norm_q(q), k, k, key_padding_mask=~kv_valid, need_weights=False)
        q = q + self.drop(a)
        return q + self.drop(self.ff(self.norm_ff(q)))


def positions(t: int, width: int, device: torch.device) -> torch.Tensor:
    """Sinusoidal position encodings ``(t, width)``."""
    pos = torch.arange(t, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / width)
    )
    pe = torch.zeros(t, width, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : width // 2]
    return pe


def masked_mean(h: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of ``h (N, T, W)`` over valid positions (zeros where there is none)."""
    w = valid.to(h.dtype).unsqueeze(-1)
    return (h * w).sum(1) / w.sum(1).clamp(min=1.0)


def drop_modalities(valid: dict[str, torch.Tensor], p: float, g=None) -> dict[str, torch.Tensor]:
    """Training-time modality dropout: each present modality of each item goes with prob ``p``.

    An item never loses its last present modality.
    """
    names = list(valid)
    present = torch.stack([valid[m].any(1) for m in names], 1)  # (N, M)
    drop = (torch.rand(present.shape, generator=g, device=present.device) < p) & present
    emptied = ~(present & ~drop).any(1)
    drop[emptied] = False  # keep everything for items that would lose all
    return {m: valid[m] & ~drop[:, i : i + 1] for i, m in enumerate(names)}


@register_architecture("crossmodal_attention")
class CrossModalAttention(nn.Module):
    """``forward(x, valid)``: dicts modality -> ``(N, T_m, d_m)`` and ``(N, T_m)`` bool masks.

    A modality missing from the dicts, or with no valid position in a row, is missing for
    that item. Returns ``(N, n_outputs)`` logits (classification) or values (regression).
    """

    Config = CrossModalConfig

    def __init__(self, config: CrossModalConfig):
        super().__init__()
        if len(config.modalities) != len(config.input_dims) or not config.modalities:
            raise UsageError("CrossModalConfig: modalities and input_dims need the same length")
        if config.task not in TASKS:
            raise UsageError(f"CrossModalConfig.task must be one of {TASKS}, got {config.task!r}")
        if config.width % config.heads:
            raise UsageError("CrossModalConfig: width must be a multiple of heads")
        self.config = config
        w, names = config.width, list(config.modalities)
        self.project = nn.ModuleDict(
            {m: nn.Conv1d(d, w, 3, padding=1) for m, d in zip(names, config.input_dims)}
        )
        # target <- source blocks; a single modality attends to itself
        pairs = [(t, s) for t in names for s in names if s != t] or [(names[0], names[0])]
        self.cross = nn.ModuleDict(
            {
                f"{t}<{s}": nn.ModuleList(
                    Block(w, config.heads, config.dropout) for _ in range(config.layers)
                )
                for t, s in pairs
            }
        )
        self.sources = {t: [s for tt, s in pairs if tt == t] for t in names}
        self.mix = nn.ModuleDict({m: nn.Linear(w * len(self.sources[m]), w) for m in names})
        self.self_attn = nn.ModuleDict({m: Block(w, config.heads, config.dropout) for m in names})
        self.missing = nn.Parameter(torch.zeros(len(names), w))
        self.head = nn.Sequential(
            nn.LayerNorm(w * len(names)),
            nn.Dropout(config.dropout),
            nn.Linear(w * len(names), w),
            nn.GELU(),
            nn.Linear(w, config.n_outputs),
        )

    @property
    def modalities(self) -> list[str]:
        return list(self.config.modalities)

    def _inputs(self, x, valid) -> tuple[dict, dict, int]:
        unknown = set(x) - set(self.modalities)
        if unknown:
            raise DataError(f"unknown modalities {sorted(unknown)}; model has {self.modalities}")
        given = [m for m in self.modalities if m in x]
        if not given:
            raise DataError("no modality given")
        n = x[given[0]].shape[0]
        dev = x[given[0]].device
        xs, vs = {}, {}
        for m, d in zip(self.modalities, self.config.input_dims):
            if m in x:
                xm = x[m]
                if xm.dim() != 3 or xm.shape[0] != n or xm.shape[2] != d:
                    raise DataError(f"{m}: expected ({n}, T, {d}), got {tuple(xm.shape)}")
                vm = valid[m] if m in valid else torch.ones(xm.shape[:2], dtype=torch.bool)
                vs[m] = vm.to(dev, torch.bool) & ~torch.isnan(xm).any(-1)
                xs[m] = torch.nan_to_num(xm) * vs[m].unsqueeze(-1)
            else:  # absent: one invalid position
                xs[m] = torch.zeros(n, 1, d, device=dev)
                vs[m] = torch.zeros(n, 1, dtype=torch.bool, device=dev)
        return xs, vs, n

    def forward(
        self, x: dict[str, torch.Tensor], valid: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        xs, vs, _ = self._inputs(x, valid or {})
        if self.training and self.config.modality_dropout > 0:
            vs = drop_modalities(vs, self.config.modality_dropout)
        h = {}
        for m in self.modalities:
            z = self.project[m](xs[m].transpose(1, 2)).transpose(1, 2)
            h[m] = z + positions(z.shape[1], z.shape[2], z.device)
        pooled = []
        for i, t in enumerate(self.modalities):
            outs = []
            for s in self.sources[t]:
                q = h[t]
                for block in self.cross[f"{t}<{s}"]:
                    q = block(q, h[s], vs[s])
                outs.append(q)
            z = self.mix[t](torch.cat(outs, -1))
            z = self.self_attn[t](z, z, vs[t])
            present = vs[t].any(1, keepdim=True)
            pooled.append(torch.where(present, masked_mean(z, vs[t]), self.missing[i]))
        return self.head(torch.cat(pooled, -1))

    @staticmethod
    def example_inputs(config: CrossModalConfig, batch: int = 2) -> tuple[dict, dict]:
        """Random ``(x, valid)`` for ``config`` (the last modality missing in the last item)."""
        g = torch.Generator().manual_seed(0)
        x, valid = {}, {}
        for k, (m, d) in enumerate(zip(config.modalities, config.input_dims)):
            x[m] = torch.randn(batch, 3 + 2 * k, d, generator=g)
            valid[m] = torch.ones(batch, 3 + 2 * k, dtype=torch.bool)
        valid[config.modalities[-1]][-1] = False
        return x, valid

    @staticmethod
    def used(valid: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per modality, which items had it (``(N,)`` bool): what a prediction used."""
        return {m: v.any(1) for m, v in valid.items()}
