"""Cross-modal attention fusion as a scikit-learn style method over feature sequences.

``X`` maps each modality (feature set) to its items' sequences: a list of ``(T_i, d)``
arrays with ``None`` for a missing item, a ``(N, T, d)`` array, or pooled ``(N, d)``
features (each a one-step sequence); an all-NaN row is missing. Sequences longer than
``max_len`` are average-pooled in time down to it, then standardised per dimension (mean and
standard deviation of the training steps, ``scale_``). The network is
:class:`~emofuse.models.crossmodal.CrossModalAttention`; training, early stopping,
checkpoints and saving are :class:`~.neural.NeuralMethod`'s.

>>> est = AttentionFusion(epochs=5).fit({"voice": v_seqs, "text": t_seqs}, y)  # doctest: +SKIP
>>> est.predict_proba({"voice": v_seqs, "text": [None] * len(y)})            # doctest: +SKIP
>>> est.used_modalities({"voice": v_seqs[:1], "text": [None]})                # doctest: +SKIP
[['voice']]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import DataError
from ..models.crossmodal import CrossModalAttention, CrossModalConfig
from .neural import NeuralMethod


@dataclass
class Sequences:
    """Per modality, one ``(T_i, d)`` float32 array or ``None`` per item."""

    items: dict[str, list[np.ndarray | None]]
    dims: dict[str, int]

    def __len__(self) -> int:
        return len(next(iter(self.items.values())))


def _rows(name: str, value: Any) -> tuple[list[np.ndarray | None], int | None]:
    """One modality's items as sequences (``None`` = missing) and their width."""
    if isinstance(value, np.ndarray) and value.dtype != object and value.ndim in (2, 3):
        seqs = list(value[:, None, :] if value.ndim == 2 else value)
    else:
        seqs = list(value)
    out: list[np.ndarray | None] = []
    dim = None
    for i, s in enumerate(seqs):
        if s is None:
            out.append(None)
            continue
        s = np.asarray(s, dtype=np.float32)
        if s.ndim == 1:
            s = s[None]
        if s.ndim != 2:
            raise DataError(f"{name} item {i}: expected a (T, d) sequence, got shape {s.shape}")
        s = s[~np.isnan(s).all(1)]  # all-NaN steps (padding) go
        if len(s) == 0:
            out.append(None)
            continue
        if dim is not None and s.shape[1] != dim:
            raise DataError(f"{name}: items of widths {dim} and {s.shape[1]}")
        dim = s.shape[1]
        out.append(np.nan_to_num(s))
    return out, dim


def to_sequences(X: Mapping[str, Any], dims: Mapping[str, int] | None = None) -> Sequences:
    """Read ``X`` (see the module docstring) into :class:`Sequences`."""
    if not X:
        raise DataError("no modality given")
    items, widths = {}, {}
    for name, value in X.items():
        items[name], dim = _rows(name, value)
        known = (dims or {}).get(name)
        if dim is not None and known is not None and dim != known:
            raise DataError(f"{name}: width {dim}, the model was fitted on {known}")
        widths[name] = dim or known or 0
    lengths = {len(v) for v in items.values()}
    if len(lengths) != 1:
        raise DataError(f"every modality needs one entry per item, got {sorted(lengths)}")
    return Sequences(items, widths)


def _shorten(s: np.ndarray, max_len: int) -> np.ndarray:
    """Average-pool ``s`` in time to at most ``max_len`` steps."""
    if len(s) <= max_len:
        return s
    edges = np.linspace(0, len(s), max_len + 1).round().astype(int)
    return np.add.reduceat(s, edges[:-1], axis=0) / np.diff(edges)[:, None]


@dataclass(eq=False)
class AttentionFusion(NeuralMethod):
    """Cross-modal attention (MulT pattern) with modality dropout; see the module docstring."""

    width: int = 64
    heads: int = 4
    layers: int = 1
    dropout: float = 0.1
    modality_dropout: float = 0.25
    max_len: int = 64

    architecture: ClassVar[str] = "crossmodal_attention"
    name: ClassVar[str] = "attention"
    input_kind: ClassVar[str] = "sequences"

    def _dataset(self, X: Any) -> Sequences:
        dims = getattr(self, "dims_", None)
        data = to_sequences(X, dims)
        if dims is not None:
            missing = [m for m in self.modalities_ if m not in data.items]
            for m in missing:  # a modality the model knows but X lacks: missing everywhere
                data.items[m], data.dims[m] = [None] * len(data), dims[m]
            extra = [m for m in data.items if m not in self.modalities_]
            if extra:
                raise DataError(f"the model was fitted on {self.modalities_}, not on {extra}")
        return data

    def _network(self, data: Sequences, n_outputs: int, task: str) -> CrossModalAttention:
        self.modalities_ = sorted(data.items)
        empty = [m for m in self.modalities_ if not data.dims[m]]
        if empty:
            raise DataError(f"no item has a {empty[0]} sequence")
        self.dims_ = {m: data.dims[m] for m in self.modalities_}
        self.scale_ = {m: self._moments(data.items[m]) for m in self.modalities_}
        config = CrossModalConfig(
            modalities=list(self.modalities_),
            input_dims=[self.dims_[m] for m in self.modalities_],
            width=self.width,
            heads=self.heads,
            layers=self.layers,
            dropout=self.dropout,
            modality_dropout=self.modality_dropout,
            n_outputs=n_outputs,
            task=task,
        )
        return CrossModalAttention(config)

    def _moments(self, seqs: list[np.ndarray | None]) -> list[list[float]]:
        """Per-dimension mean and std over the training steps (as the network sees them)."""
        steps = np.concatenate([_shorten(s, self.max_len) for s in seqs if s is not None])
        return [steps.mean(0).tolist(), (steps.std(0) + 1e-6).tolist()]

    def _collate(self, data: Sequences, rows: np.ndarray, rng: np.random.Generator | None):
        x, valid = {}, {}
        for m in self.modalities_:
            mean, std = (np.asarray(v, np.float32) for v in self.scale_[m])
            seqs = [data.items[m][r] for r in rows]
            seqs = [None if s is None else (_shorten(s, self.max_len) - mean) / std for s in seqs]
            t = max([len(s) for s in seqs if s is not None] + [1])
            xm = np.zeros((len(rows), t, self.dims_[m]), np.float32)
            vm = np.zeros((len(rows), t), bool)
            for i, s in enumerate(seqs):
                if s is not None:
                    xm[i, : len(s)], vm[i, : len(s)] = s, True
            x[m], valid[m] = torch.from_numpy(xm), torch.from_numpy(vm)
        return x, valid

    def _forward(self, net: torch.nn.Module, inputs: Any) -> torch.Tensor:
        return net(*inputs)

    def used_modalities(self, X: Any) -> list[list[str]]:
        data = self._dataset(X)
        return [
            [m for m in self.modalities_ if data.items[m][i] is not None] for i in range(len(data))
        ]

    def _preprocessing(self) -> dict[str, Any]:
        return {
            "modalities": self.modalities_,
            "dims": self.dims_,
            "max_len": self.max_len,
            "scale": self.scale_,
        }

    def _restore(self, meta: Any) -> None:
        self.modalities_ = list(meta.preprocessing["modalities"])
        self.dims_ = {m: int(d) for m, d in meta.preprocessing["dims"].items()}
        self.scale_ = dict(meta.preprocessing["scale"])
