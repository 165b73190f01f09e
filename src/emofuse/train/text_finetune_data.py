"""The fine-tuning recipe's rows: masks, targets, dialogue context, weights and batches.

One dict of arrays over the rows of :func:`emofuse.train.text_data.load_text_corpora`
(``fit``/``hold``/``dev`` masks, soft targets, each MELD row's previous utterance, its
domain); the epoch plans are deterministic in (seed, epoch), so a resumed run draws the
same batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..labels import CANONICAL
from .text_data import holdout_split, item_weights, previous_texts, soft_targets


def prepare_rows(df, settings: Any) -> dict[str, Any]:
    """Masks, targets, previous utterances and domains for every row of ``df``."""
    from ..models.text_finetuned_inputs import DOMAINS

    fit, hold = holdout_split(df, settings.holdout, settings.seed)
    single = df["labels"].map(len).eq(1).to_numpy()
    if settings.multilabel == "single":
        fit = fit & single
    meld = df["corpus"].eq("meld").to_numpy()
    return {
        "fit": fit,
        "hold": hold,
        "dev": df["split"].eq("dev").to_numpy(),
        "single": single,
        "meld": meld,
        "texts": df["text"].tolist(),
        "previous": [h[-1] if h else None for h in previous_texts(df)],
        "domain": np.where(meld, DOMAINS.index("dialogue"), DOMAINS.index("text")),
        "targets": soft_targets(df["labels"]),
        "label": np.array([CANONICAL.index(ls[0]) for ls in df["labels"]], dtype=np.int64),
    }


def eval_sets(rows: dict[str, Any], mask: np.ndarray) -> dict[str, np.ndarray]:
    """``meld``/``goemotions`` -> single-label row indices within ``mask``."""
    return {
        "meld": np.flatnonzero(mask & rows["single"] & rows["meld"]),
        "goemotions": np.flatnonzero(mask & rows["single"] & ~rows["meld"]),
    }


def class_weights(rows: dict[str, Any], power: float) -> np.ndarray:
    """Per-item weight ``sum_c y_c (n_c / n_max)^-power`` within each corpus, mean 1 there."""
    w = np.ones(len(rows["texts"]), dtype=np.float32)
    for corpus in (rows["meld"], ~rows["meld"]):
        m = rows["fit"] & corpus
        if m.any():
            w[m] = item_weights(np.zeros(int(m.sum())), rows["targets"][m], power, 0.0)
    return w


def epoch_batches(rows: dict[str, Any], settings: Any, epoch: int) -> list:
    """The batches (row-index arrays) of ``epoch`` (0-based); deterministic in (seed, epoch).

    Every MELD fitting row (or ``meld_per_epoch`` of them) and the next
    ``goemotions_per_epoch`` GoEmotions fitting rows of a seeded cycle; batches hold texts
    of similar length and come in random order.
    """
    s = settings

    def take(cycle: np.ndarray, k: int) -> np.ndarray:
        if k <= 0 or k >= len(cycle) or len(cycle) == 0:
            return cycle
        return np.take(cycle, np.arange(epoch * k, epoch * k + k) % len(cycle))

    fit_meld, fit_goemo = rows["fit"] & rows["meld"], rows["fit"] & ~rows["meld"]
    meld = np.random.default_rng([s.seed, 11]).permutation(np.flatnonzero(fit_meld))
    goemo = np.random.default_rng([s.seed, 7]).permutation(np.flatnonzero(fit_goemo))
    rng = np.random.default_rng([s.seed, 1000 + epoch])
    chosen = rng.permutation(
        np.concatenate([take(meld, s.meld_per_epoch), take(goemo, s.goemotions_per_epoch)])
    )
    previous = [len(rows["previous"][i] or "") if rows["meld"][i] else 0 for i in chosen]
    lengths = np.array([len(rows["texts"][i]) for i in chosen], dtype=int) + np.array(
        previous, dtype=int
    )
    pool, batches = s.batch_size * 50, []
    for p in range(0, len(chosen), pool):
        part = chosen[p : p + pool][np.argsort(lengths[p : p + pool], kind="stable")]
        batches += [part[b : b + s.batch_size] for b in range(0, len(part), s.batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def make_items(tokenizer, rows, idx, config, drop_context: np.ndarray | None = None) -> list:
    """The network items of rows ``idx`` (without the previous utterance where ``drop``)."""
    from ..models.text_finetuned_inputs import encode_inputs

    prev = [rows["previous"][i] for i in idx]
    if drop_context is not None:
        prev = [None if d else p for p, d in zip(prev, drop_context)]
    return encode_inputs(tokenizer, [rows["texts"][i] for i in idx], prev,
                         [int(rows["domain"][i]) for i in idx], config.max_tokens,
                         config.max_context_tokens)  # fmt: skip
