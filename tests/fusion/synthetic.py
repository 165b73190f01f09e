"""Synthetic multimodal data where two modalities carry complementary signal."""

from __future__ import annotations

import numpy as np

LABELS = np.array(["anger", "happiness", "neutral", "sadness"])


def complementary(n: int, seed: int, strength: float = 2.0) -> tuple[dict, np.ndarray]:
    """Four classes; modality ``a`` separates {0, 1} from {2, 3}, modality ``b`` separates
    {0, 2} from {1, 3}: each alone is right about half the time, together they can be
    right almost always. Each modality is Gaussian noise plus its signal along one direction."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, n)
    a = rng.normal(size=(n, 6))
    b = rng.normal(size=(n, 5))
    # the signal lies along the diagonal, so it is also the first principal component
    a += strength * np.where(codes < 2, 1, -1)[:, None] / np.sqrt(a.shape[1])
    b += strength * np.where(codes % 2 == 0, 1, -1)[:, None] / np.sqrt(b.shape[1])
    return {"a": a.astype(np.float32), "b": b.astype(np.float32)}, LABELS[codes]


def drop(X: dict, modality: str, rows) -> dict:
    """A copy of ``X`` with ``modality`` missing (all-NaN) in ``rows``."""
    out = {m: x.copy() for m, x in X.items()}
    out[modality][rows] = np.nan
    return out
