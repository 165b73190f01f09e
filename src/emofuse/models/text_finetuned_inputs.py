"""Inputs of the fine-tuned text network: texts (+ dialogue context) -> word-piece items.

An item is ``(input_ids, token_type_ids, domain)``: ``[CLS] utterance [SEP] previous
utterance [SEP]`` (the previous utterance as segment B, token type 1) in the ``dialogue``
domain, ``[CLS] text [SEP]`` in the ``text`` domain. The utterance keeps its first
``max_tokens`` word pieces, the previous utterance its last ``max_context_tokens``. Only
the tokenizer is needed to build them: the base's Hugging Face tokenizer, or its
``tokenizer.json`` read by ``tokenizers`` alone (the same word pieces, without torch or
transformers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import UsageError
from ..media.text import check_texts, normalize_text

#: ``text``: a stand-alone text (no context given); ``dialogue``: an utterance in a conversation
DOMAINS = ("text", "dialogue")

Item = tuple[list[int], list[int], int]


def read_context(
    texts: Sequence[str], context: Sequence[Sequence[str] | None] | None
) -> tuple[list[str], list[str | None], list[int]]:
    """Validate; the normalised texts, each one's previous utterance and its domain.

    ``context``: ``None`` (stand-alone texts: the ``text`` domain) or one entry per text:
    ``None`` (that text stands alone) or the list of the earlier utterances of its
    conversation, oldest first (may be empty: the ``dialogue`` domain), of which the last
    non-empty one is read.
    """
    check_texts(texts, context)
    norm = [normalize_text(t) for t in texts]
    if context is None:
        return norm, [None] * len(norm), [DOMAINS.index("text")] * len(norm)
    previous = [None if c is None else _last_utterance(c) for c in context]
    domains = [DOMAINS.index("text" if c is None else "dialogue") for c in context]
    return norm, previous, domains


def _last_utterance(ctx: Sequence[str] | None) -> str | None:
    """The normalised last non-empty string of ``ctx`` (scanned from the end), or ``None``."""
    if isinstance(ctx, str):
        raise UsageError("each context is a list of previous utterances")
    for c in reversed(list(ctx or [])):
        if isinstance(c, str) and (c := normalize_text(c)):
            return c
    return None


def encode_inputs(
    tokenizer: Any,
    texts: list[str],
    previous: list[str | None],
    domains: list[int],
    max_tokens: int,
    max_context_tokens: int,
) -> list[Item]:
    """``(input_ids, token_type_ids, domain)`` per text; unpadded (see the module doc)."""
    if not texts:
        return []
    cls, sep = _special_ids(tokenizer)
    own = _word_pieces(tokenizer, list(texts))
    ctx_rows = [i for i, p in enumerate(previous) if p]
    found = _word_pieces(tokenizer, [previous[i] for i in ctx_rows]) if ctx_rows else []
    ctx = dict(zip(ctx_rows, found))
    out = []
    for i, ids in enumerate(own):
        ids = [cls, *ids[:max_tokens], sep]
        types = [0] * len(ids)
        if domains[i] == DOMAINS.index("dialogue") and max_context_tokens > 0:
            c = ctx.get(i, [])[-max_context_tokens:]
            ids += [*c, sep]
            types += [1] * (len(c) + 1)
        out.append((ids, types, int(domains[i])))
    return out


def _word_pieces(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Word-piece ids of each text, no special tokens, not truncated."""
    if hasattr(tokenizer, "encode_batch"):  # a ``tokenizers.Tokenizer``
        return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _special_ids(tokenizer: Any) -> tuple[int, int]:
    if hasattr(tokenizer, "token_to_id"):
        return tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    return tokenizer.cls_token_id, tokenizer.sep_token_id


def pad_id(tokenizer: Any) -> int:
    """The id of ``[PAD]`` (0 in BERT vocabularies)."""
    if hasattr(tokenizer, "token_to_id"):  # a ``tokenizers.Tokenizer``
        return tokenizer.token_to_id("[PAD]") or 0
    return tokenizer.pad_token_id or 0


def pad_items(items: Sequence[Item], pad_id: int = 0) -> dict[str, np.ndarray]:
    """Pad items into int64 arrays ``input_ids, attention_mask, token_type_ids, domain``."""
    n, length = len(items), max(len(ids) for ids, _, _ in items)
    ids = np.full((n, length), pad_id, dtype=np.int64)
    types = np.zeros((n, length), dtype=np.int64)
    mask = np.zeros((n, length), dtype=np.int64)
    for j, (i, t, _) in enumerate(items):
        ids[j, : len(i)], types[j, : len(t)], mask[j, : len(i)] = i, t, 1
    domain = np.array([d for _, _, d in items], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "domain": domain}


def collate(items: Sequence[Item], pad_id: int = 0) -> dict[str, Any]:
    """:func:`pad_items` as torch tensors (the network's keyword arguments)."""
    import torch

    return {k: torch.from_numpy(v) for k, v in pad_items(items, pad_id).items()}


def batched_logits(net: Any, items: Sequence[Item], batch_size: int = 64, pad_id: int = 0):
    """``(N, n_classes)`` float32 network logits of ``items`` in their order (eval mode;
    batches of similar length)."""
    import torch

    out = np.zeros((len(items), net.config.n_classes), dtype=np.float32)
    order = np.argsort([len(ids) for ids, _, _ in items], kind="stable")
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            rows = order[s : s + batch_size]
            out[rows] = net(**collate([items[i] for i in rows], pad_id)).float().numpy()
    net.train(was_training)
    return out
