"""Classification metrics as plain dicts (JSON-ready), built on scikit-learn.

>>> import numpy as np
>>> m = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), labels=["a", "b"])
>>> round(m["accuracy"], 3)
0.667
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, weighted/macro F1 and per-class precision/recall/F1/support.

    ``y_true``/``y_pred`` are integer indices into ``labels``.
    """
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=idx, zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=idx, average="weighted", zero_division=0)
        ),
        "macro_f1": float(f1_score(y_true, y_pred, labels=idx, average="macro", zero_division=0)),
        "per_class": {
            label: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },
    }
