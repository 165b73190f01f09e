"""What recognition returns: predictions, per-segment results and a timeline.

>>> p = Prediction.from_probs([0.1, 0.7, 0.2], ["neutral", "happiness", "sadness"])
>>> p.label, round(p.confidence, 2)
('happiness', 0.7)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

MODALITIES: tuple[str, ...] = ("face", "voice", "text")


@dataclass
class Prediction:
    """A label, its probability, and the whole distribution."""

    label: str
    confidence: float
    probabilities: dict[str, float]

    @classmethod
    def from_probs(cls, probs: Sequence[float] | np.ndarray, labels: Sequence[str]) -> Prediction:
        probs = np.asarray(probs, dtype=np.float64)
        i = int(probs.argmax())
        return cls(
            label=labels[i],
            confidence=float(probs[i]),
            probabilities={lab: round(float(p), 6) for lab, p in zip(labels, probs)},
        )


@dataclass
class ModalityResult:
    """One modality's outcome for a segment. ``status`` is ``ok`` or why it was skipped."""

    status: str
    prediction: Prediction | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.prediction is not None


@dataclass
class SegmentResult:
    start: float
    end: float
    text: str | None
    modalities: dict[str, ModalityResult]
    fused: Prediction | None

    @property
    def label(self) -> str | None:
        return self.fused.label if self.fused else None

    @property
    def confidence(self) -> float | None:
        return self.fused.confidence if self.fused else None


@dataclass
class Result:
    """An emotion timeline for one input. Converts to JSON, CSV and a DataFrame."""

    source: str
    labels: list[str]
    segments: list[SegmentResult]
    info: dict[str, Any] = field(default_factory=dict)

    def require_prediction(self) -> Result:
        """``self`` when some segment has a fused label; else :class:`DataError` saying why.

        What the CLI and the server call: silence, no face and no text are bad input there.
        """
        if any(s.fused for s in self.segments):
            return self
        why: dict[str, dict[str, int]] = {}
        for s in self.segments:
            for m, r in s.modalities.items():
                counts = why.setdefault(m, {})
                counts[r.status] = counts.get(r.status, 0) + 1
        reasons = "; ".join(f"{m}: {', '.join(c)}" for m, c in why.items())
        raise DataError(f"nothing to recognise in {self.source}: {reasons or 'no segments'}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "labels": self.labels,
            "info": self.info,
            "segments": [
                {
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "text": s.text,
                    "label": s.label,
                    "confidence": None if s.confidence is None else round(s.confidence, 4),
                    "fused": asdict(s.fused) if s.fused else None,
                    "modalities": {m: asdict(r) for m, r in s.modalities.items()},
                }
                for s in self.segments
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_dataframe(self):
        """One row per segment: times, text, fused label, and per-modality label/status/probs."""
        import pandas as pd

        rows = []
        for s in self.segments:
            row: dict[str, Any] = {
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "label": s.label,
                "confidence": s.confidence,
            }
            for m, r in s.modalities.items():
                row[f"{m}_status"] = r.status
                row[f"{m}_label"] = r.prediction.label if r.prediction else None
            probs = s.fused.probabilities if s.fused else {}
            row.update({f"p_{lab}": probs.get(lab) for lab in self.labels})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_csv(self, path: str | Path | None = None) -> str:
        text = self.to_dataframe().to_csv(index=False, float_format="%.4f")
        if path is not None:
            from ..utils.io import write_atomic

            write_atomic(Path(path), text.encode())
        return text
