"""Batching ragged sequences for sequence models (attention fusion): pad and mask.

>>> import numpy as np
>>> x, mask = pad_sequences([np.ones((2, 3)), np.ones((4, 3))])
>>> x.shape, mask.sum(1).tolist()
((2, 4, 3), [2, 4])
>>> pad_sequences([np.ones((5, 3))], max_len=2)[0].shape   # longer ones are cut
(1, 2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError


def pad_sequences(
    sequences: Sequence[np.ndarray], max_len: int | None = None, value: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, mask)``: float32 ``(N, T, d)`` padded with ``value`` after each sequence, and
    bool ``(N, T)`` true on real rows; ``T`` is the longest length, capped at ``max_len``
    (longer sequences keep their first ``max_len`` rows)."""
    seqs = [np.asarray(s, dtype=np.float32) for s in sequences]
    if any(s.ndim != 2 for s in seqs) or len({s.shape[1] for s in seqs}) > 1:
        raise DataError(f"expected (T, d) arrays of one d, got {[s.shape for s in seqs]}")
    if max_len is not None and max_len < 1:
        raise DataError(f"max_len must be >= 1, got {max_len}")
    d = seqs[0].shape[1] if seqs else 0
    t = max((len(s) for s in seqs), default=0)
    t = t if max_len is None else min(t, max_len)
    x = np.full((len(seqs), t, d), value, dtype=np.float32)
    mask = np.zeros((len(seqs), t), dtype=bool)
    for i, s in enumerate(seqs):
        n = min(len(s), t)
        x[i, :n], mask[i, :n] = s[:n], True
    return x, mask
