"""Export the fine-tuned text network to ONNX with its adapters merged, checked against torch.

The LoRA adapters are folded into the base's linear layers first
(:meth:`~emofuse.models.text_finetuned_net.FineTunedTextNet.merged`), so the graph has the
base's shape and cost (~90 MB for MiniLM: it belongs in a user cache, not the package).
It takes ``input_ids, attention_mask, token_type_ids, domain`` (int64, as
:func:`~emofuse.models.text_finetuned_inputs.pad_items` builds them with a tokenizer
alone) and returns the network's logits; the TF-IDF branch, the per-domain bias and the
temperature stay numpy. The export is refused unless onnxruntime on the merged graph
matches the torch forward of the unmerged network (max |logit difference| below
:data:`~.export.TOLERANCE`) on padded batches of both domains::

    >>> data, diff = export_finetuned(FineTunedTextModel.load().net)     # doctest: +SKIP
    >>> diff < 1e-4                                                       # doctest: +SKIP
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...utils.io import write_atomic
from .export import _to_onnx, _verify
from .runtime import make_session

INPUTS = ["input_ids", "attention_mask", "token_type_ids", "domain"]
AXES = {
    "input_ids": {0: "batch", 1: "tokens"},
    "attention_mask": {0: "batch", 1: "tokens"},
    "token_type_ids": {0: "batch", 1: "tokens"},
    "domain": {0: "batch"},
    "logits": {0: "batch"},
}


def parity_cases(net: Any, seed: int = 0) -> list[tuple[torch.Tensor, ...]]:
    """Padded batches of random word pieces: one item; three of unequal lengths, with and
    without a context segment, in both domains; and one of 64 items."""
    g = torch.Generator().manual_seed(seed)
    vocab = int(net.encoder.config.vocab_size)
    cases = []
    for lengths, context in (([5], [0]), ([7, 4, 12], [0, 3, 5]), ([9] * 32 + [3] * 32, [2] * 64)):
        n, width = len(lengths), max(lengths)
        ids = torch.randint(1, vocab, (n, width), generator=g)
        mask = torch.zeros(n, width, dtype=torch.long)
        types = torch.zeros(n, width, dtype=torch.long)
        for i, (k, c) in enumerate(zip(lengths, context)):
            mask[i, :k] = 1
            types[i, k - c : k] = 1
        ids = ids * mask
        domain = (torch.tensor(context) > 0).long()
        cases.append((ids, mask, types, domain))
    return cases


def export_finetuned(net: Any, path: str | Path | None = None) -> tuple[bytes, float]:
    """The ONNX bytes of ``net`` with merged adapters and their max |logit difference| to
    ``net``'s torch forward on :func:`parity_cases`; written atomically to ``path`` if given.

    A difference of ``TOLERANCE`` or more is a :class:`~emofuse.errors.DataError` (nothing
    written). Needs the ``onnx`` extra.
    """
    net = net.eval()
    merged = net.merged()
    cases = parity_cases(net)
    data = _to_onnx(merged, cases[1], INPUTS, AXES)
    diff = _verify(net, make_session(data), cases, Path(path or "the fine-tuned text network"))
    if path is not None:
        write_atomic(path, data)
    return data, diff
