"""openSMILE functionals (eGeMAPS, ComParE) behind the ``opensmile`` extra.

openSMILE is released under audEERING's research-only licence: free for private,
research and educational use, **not for commercial use** without a licence from
audEERING. That is why it is an optional extra (``pip install 'emofuse[opensmile]'``),
never a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError, MissingExtraError
from .base import EncoderConfig, as_float32, config_fingerprint, empty, register_encoder

SAMPLE_RATE = 16000


@dataclass
class OpenSmileConfig(EncoderConfig):
    """``feature_set``: an ``opensmile.FeatureSet`` member name (default per encoder)."""

    feature_set: str = ""


def _opensmile() -> Any:
    try:
        import opensmile
    except ImportError:
        raise MissingExtraError("opensmile", "opensmile") from None
    return opensmile


class _OpenSmile:
    modality = "voice"
    default_set = ""

    def __init__(self, config: OpenSmileConfig | None = None):
        self.config = config or OpenSmileConfig()

    def _smile(self) -> Any:
        smile = getattr(self, "smile_", None)
        if smile is None:
            lib = _opensmile()
            name = self.config.feature_set or self.default_set
            smile = self.smile_ = lib.Smile(
                feature_set=getattr(lib.FeatureSet, name),
                feature_level=lib.FeatureLevel.Functionals,
            )
        return smile

    @property
    def dim(self) -> int:
        return len(self._smile().feature_names)

    def encode(self, batch: list[np.ndarray]) -> np.ndarray:
        if len(batch) == 0:
            return empty(self.dim)
        rows = []
        for i, wave in enumerate(batch):
            wave = np.asarray(wave, dtype=np.float32)
            if wave.ndim != 1 or len(wave) == 0:
                raise DataError(f"wave {i}: expected non-empty mono 1-D samples")
            rows.append(self._smile().process_signal(wave, SAMPLE_RATE).to_numpy()[0])
        return as_float32(rows, len(batch), self.dim)

    def fingerprint(self) -> str:
        return config_fingerprint(
            self.config, self.name, self.default_set, _opensmile().__version__
        )


@register_encoder("egemaps", OpenSmileConfig)
class EGeMAPS(_OpenSmile):
    """eGeMAPSv02 functionals (88 features). Research-only licence (see module doc)."""

    default_set = "eGeMAPSv02"


@register_encoder("compare", OpenSmileConfig)
class ComParE(_OpenSmile):
    """ComParE 2016 functionals (6373 features). Research-only licence (see module doc)."""

    default_set = "ComParE_2016"
