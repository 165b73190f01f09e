"""Late (decision-level) fusion: a weighted average of per-modality probabilities.

Weights are learned, not guessed: :meth:`LateFusion.fit` searches the weight simplex
for the best validation accuracy (ties broken by log-likelihood). Missing modalities
are skipped and the remaining weights renormalised.

>>> import numpy as np
>>> fusion = LateFusion(weights={"face": 0.25, "voice": 0.75})
>>> fusion.predict_proba({"face": np.array([[1.0, 0.0]]), "voice": np.array([[0.0, 1.0]])})
array([[0.25, 0.75]])
>>> fusion.predict_proba({"face": np.array([[1.0, 0.0]])})    # voice missing
array([[1., 0.]])
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError


class LateFusion:
    """Weighted average of probabilities, scikit-learn style (``fit`` sets ``weights_``)."""

    def __init__(self, weights: Mapping[str, float] | None = None, step: float = 0.05):
        self.weights = weights
        self.step = step

    @property
    def weights_(self) -> dict[str, float]:
        if self.weights is None:
            raise DataError("LateFusion has no weights: call fit() or pass weights=")
        return dict(self.weights)

    def fit(self, probs: Mapping[str, np.ndarray], y: np.ndarray) -> LateFusion:
        """Grid-search weights on the simplex (resolution ``step``) for accuracy on ``y``."""
        names = sorted(probs)
        n = round(1 / self.step)
        y = np.asarray(y)
        best: tuple[float, float] | None = None
        for combo in itertools.product(range(n + 1), repeat=len(names)):
            if sum(combo) != n:
                continue
            w = {m: c / n for m, c in zip(names, combo)}
            p = self._combine(probs, w)
            acc = float((p.argmax(1) == y).mean())
            ll = float(np.log(p[np.arange(len(y)), y] + 1e-12).mean())
            if best is None or (acc, ll) > best:
                best, self.weights = (acc, ll), w
        return self

    def predict_proba(self, probs: Mapping[str, np.ndarray | None]) -> np.ndarray:
        """Fuse the modalities present in ``probs`` (``None`` values are skipped)."""
        present = {m: p for m, p in probs.items() if p is not None and m in self.weights_}
        if not present:
            raise DataError("no modality available to fuse")
        return self._combine(present, self.weights_)

    @staticmethod
    def _combine(probs: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
        total = sum(weights[m] for m in probs)
        if total <= 0:  # every present modality has weight 0: fall back to a plain mean
            weights, total = {m: 1.0 for m in probs}, float(len(probs))
        return sum(weights[m] / total * np.asarray(p, dtype=np.float64) for m, p in probs.items())

    def to_dict(self) -> dict[str, Any]:
        return {"method": "late", "weights": self.weights_}

    def save(self, path: str | Path, **info: Any) -> None:
        from ..utils.io import write_atomic

        write_atomic(Path(path), json.dumps({**self.to_dict(), **info}, indent=2).encode())

    @classmethod
    def load(cls, path: str | Path) -> LateFusion:
        data = json.loads(Path(path).read_text())
        return cls(weights=data["weights"])
