"""Fusion of per-modality outputs: late (decision-level) fusion for inference."""

from .late import LateFusion

__all__ = ["LateFusion"]
