"""The frozen bottom blocks' output, computed once: what makes fine-tuning MiniLM fit a CPU.

With ``frozen_layers > 0`` the bottom blocks never change during training, so their
hidden states for every training and holdout item are computed once (inference mode),
kept as one unpadded float16 slice per item and saved in the run folder, keyed by the
base weights, the frozen depth and every item's word pieces (:class:`HiddenCache`); each
step then runs only the adapted top blocks (:class:`Feeder`). Arrays are written
atomically (:func:`save_arrays`), so a ``kill -9`` leaves the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..labels import CANONICAL
from ..utils.io import atomic_writer
from .text_finetune_data import make_items

log = logging.getLogger(__name__)


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``arrays`` as an uncompressed ``.npz`` at ``path``, written atomically."""
    with atomic_writer(path) as f:
        np.savez(f, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


class HiddenCache:
    """Hidden states after the frozen bottom blocks, one unpadded float16 slice per item."""

    def __init__(self, hidden, types, offsets, domain):
        self.hidden, self.types, self.offsets, self.domain = hidden, types, offsets, domain

    def __len__(self) -> int:
        return len(self.domain)

    def batch(self, slots: np.ndarray) -> dict[str, Any]:
        """:meth:`FineTunedTextNet.top`'s keyword arguments for the items in ``slots``."""
        import torch

        lens = self.offsets[slots + 1] - self.offsets[slots]
        n, length, d = len(slots), int(lens.max()), self.hidden.shape[1]
        hidden = np.zeros((n, length, d), dtype=np.float32)
        types = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.int64)
        for j, (slot, k) in enumerate(zip(slots, lens)):
            a = self.offsets[slot]
            hidden[j, :k] = self.hidden[a : a + k]
            types[j, :k] = self.types[a : a + k]
            mask[j, :k] = 1
        return {"hidden": torch.from_numpy(hidden), "attention_mask": torch.from_numpy(mask),
                "token_type_ids": torch.from_numpy(types),
                "domain": torch.from_numpy(self.domain[slots].astype(np.int64))}  # fmt: skip

    @classmethod
    def build(cls, net, items: list, path: Path, batch_size: int = 64, progress: bool = True):
        """Read ``path``, or compute the bottom blocks' output of ``items`` and save it there."""
        import torch

        from ..models.text_finetuned_inputs import collate
        from ..utils.progress import training_progress

        if path.is_file():
            arrays = load_arrays(path)
            log.info("read %d cached hidden states from %s", len(arrays["domain"]), path)
            return cls(arrays["hidden"], arrays["types"], arrays["offsets"], arrays["domain"])
        lens = np.array([len(ids) for ids, _, _ in items], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lens)])
        hidden = np.zeros((offsets[-1], net.encoder.config.hidden_size), dtype=np.float16)
        types = np.zeros(offsets[-1], dtype=np.int8)
        domain = np.array([d for _, _, d in items], dtype=np.int8)
        order = np.argsort(lens, kind="stable")
        net.eval()
        with torch.inference_mode(), training_progress(progress, "texts") as bar:
            task = bar.add_task("frozen blocks (once)", total=len(items))
            for s in range(0, len(order), batch_size):
                rows = order[s : s + batch_size]
                b = collate([items[i] for i in rows])
                h = net.bottom(b["input_ids"], b["attention_mask"], b["token_type_ids"]).numpy()
                for j, i in enumerate(rows):
                    hidden[offsets[i] : offsets[i + 1]] = h[j, : lens[i]]
                    types[offsets[i] : offsets[i + 1]] = items[i][1]
                bar.update(task, advance=len(rows))
        save_arrays(path, {"hidden": hidden, "types": types, "offsets": offsets, "domain": domain})
        return cls(hidden, types, offsets, domain)


def items_key(items: list, *parts: Any) -> str:
    """sha256 over ``parts`` (JSON) and every item's word pieces, token types and domain."""
    h = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for ids, types, d in items:
        h.update(np.asarray(ids, dtype=np.int32).tobytes() + bytes(types) + bytes([d, 255]))
    return h.hexdigest()


class Feeder:
    """Logits of training rows and of the holdout: through the hidden-state cache when the
    bottom blocks are frozen, else through the whole network."""

    def __init__(self, net, tokenizer, rows, hold: dict[str, np.ndarray], s, run_dir: Path,
                 progress: bool = True):  # fmt: skip
        self.net, self.tokenizer, self.rows, self.s = net, tokenizer, rows, s
        self.pad = tokenizer.pad_token_id or 0
        self.hold, self.cache = hold, None
        c = net.config
        if c.frozen_layers == 0:
            self.hold_items = {k: make_items(tokenizer, rows, v, c) for k, v in hold.items()}
            return
        fit = np.flatnonzero(rows["fit"])
        meld_fit = np.flatnonzero(rows["fit"] & rows["meld"]) if s.context_dropout > 0 else []
        held = np.concatenate([hold["meld"], hold["goemotions"]])
        items = (make_items(tokenizer, rows, fit, c)
                 + make_items(tokenizer, rows, meld_fit, c, np.ones(len(meld_fit), dtype=bool))
                 + make_items(tokenizer, rows, held, c))  # fmt: skip
        n = len(rows["texts"])
        self.slot, self.slot_noctx = np.full(n, -1), np.full(n, -1)
        self.slot[fit] = np.arange(len(fit))
        self.slot_noctx[meld_fit] = len(fit) + np.arange(len(meld_fit))
        self.slot[held] = len(fit) + len(meld_fit) + np.arange(len(held))
        key = items_key(items, c.base_sha256, c.frozen_layers)
        path = Path(run_dir) / f"hidden-{key[:20]}.npz"
        self.cache = HiddenCache.build(net, items, path, s.eval_batch_size, progress)

    def train_logits(self, idx: np.ndarray, drop: np.ndarray):
        """Logits (with gradient) of rows ``idx``, without the previous utterance where
        ``drop``."""
        if self.cache is None:
            from ..models.text_finetuned_inputs import collate

            items = make_items(self.tokenizer, self.rows, idx, self.net.config, drop)
            return self.net(**collate(items, self.pad))
        slots = np.where(drop, self.slot_noctx[idx], self.slot[idx])
        return self.net.top(**self.cache.batch(slots))

    def holdout_logits(self) -> dict[str, np.ndarray]:
        """``meld``/``goemotions`` -> the holdout's logits in eval mode (mode restored)."""
        import torch

        from ..models.text_finetuned_inputs import batched_logits

        if self.cache is None:
            return {k: batched_logits(self.net, v, self.s.eval_batch_size, self.pad)
                    for k, v in self.hold_items.items()}  # fmt: skip
        out, was = {}, self.net.training
        self.net.eval()
        with torch.inference_mode():
            for k, rows in self.hold.items():
                slots = self.slot[rows]
                z = np.zeros((len(slots), len(CANONICAL)), dtype=np.float32)
                order = np.argsort(self.cache.offsets[slots + 1] - self.cache.offsets[slots])
                for a in range(0, len(order), self.s.eval_batch_size):
                    part = order[a : a + self.s.eval_batch_size]
                    z[part] = self.net.top(**self.cache.batch(slots[part])).numpy()
                out[k] = z
        self.net.train(was)
        return out
