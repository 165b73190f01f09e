"""Mild, seeded corruptions for robustness figures: face crops and speech waves.

Face perturbations act on ``uint8`` gray crops ``(N, H, W)`` and keep shape and dtype;
:func:`add_noise` mixes white Gaussian noise into a wave at a given signal-to-noise ratio.

>>> import numpy as np
>>> crops = np.full((2, 48, 48), 100, dtype=np.uint8)
>>> perturb_faces(crops, "brighter")[0, 0, 0]
np.uint8(130)
>>> wave = np.sin(np.arange(16000) / 5).astype(np.float32)
>>> noisy = add_noise(wave, 20.0, seed=0)
>>> round(float(10 * np.log10((wave**2).mean() / ((noisy - wave) ** 2).mean())), 1)
20.0
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import UsageError


def _blur(crops: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return np.stack([cv2.GaussianBlur(c, (0, 0), sigmaX=sigma) for c in crops])


def _shift_brightness(crops: np.ndarray, delta: int) -> np.ndarray:
    return np.clip(crops.astype(np.int16) + delta, 0, 255).astype(np.uint8)


def _warp(crops: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Each crop through the 2x3 affine ``m`` (bilinear, edges replicated)."""
    import cv2

    h, w = crops.shape[1:]
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
    return np.stack([cv2.warpAffine(c, m, (w, h), flags=flags, borderMode=border) for c in crops])


def _rotate(crops: np.ndarray, degrees: float) -> np.ndarray:
    import cv2

    h, w = crops.shape[1:]
    return _warp(crops, cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), degrees, 1.0))


def _zoom(crops: np.ndarray, scale: float) -> np.ndarray:
    """A looser (``scale`` < 1) or tighter (> 1) box around the same face centre."""
    h, w = crops.shape[1:]
    m = np.array([[scale, 0, (1 - scale) * w / 2], [0, scale, (1 - scale) * h / 2]], np.float32)
    return _warp(crops, m)


def _low_light(crops: np.ndarray, gain: float, noise: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    dim = crops.astype(np.float32) * gain + rng.normal(0.0, noise, crops.shape)
    return np.clip(np.rint(dim), 0, 255).astype(np.uint8)


def _small(crops: np.ndarray, side: int) -> np.ndarray:
    """As if the face were ``side`` pixels tall in the frame: area down, bilinear back up."""
    import cv2

    h, w = crops.shape[1:]
    return np.stack(
        [
            cv2.resize(
                cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA),
                (w, h),
                interpolation=cv2.INTER_LINEAR,
            )
            for c in crops
        ]
    )


#: name -> (description, function of uint8 crops)
FACE_PERTURBATIONS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "blur": ("Gaussian blur, sigma 1 px", lambda c: _blur(c, 1.0)),
    "blur2": ("Gaussian blur, sigma 2 px", lambda c: _blur(c, 2.0)),
    "brighter": ("brightness +30 (of 255)", lambda c: _shift_brightness(c, 30)),
    "darker": ("brightness -30 (of 255)", lambda c: _shift_brightness(c, -30)),
    "low_light": (
        "low light: intensities x0.3 + sensor noise sigma 4 (of 255)",
        lambda c: _low_light(c, 0.3, 4.0),
    ),
    "small24": ("small face: 24 px tall, scaled up", lambda c: _small(c, 24)),
    "small16": ("small face: 16 px tall, scaled up", lambda c: _small(c, 16)),
    "zoom_out": ("looser box: face at 80% of the crop", lambda c: _zoom(c, 0.8)),
    "zoom_in": ("tighter box: face at 120% of the crop", lambda c: _zoom(c, 1.2)),
    "rotate+10": ("rotation +10 degrees", lambda c: _rotate(c, 10.0)),
    "rotate-10": ("rotation -10 degrees", lambda c: _rotate(c, -10.0)),
}


def perturb_faces(crops: np.ndarray, name: str) -> np.ndarray:
    """Apply the named perturbation from :data:`FACE_PERTURBATIONS` to ``uint8`` crops."""
    if name not in FACE_PERTURBATIONS:
        raise UsageError(
            f"unknown face perturbation {name!r}; choose from {list(FACE_PERTURBATIONS)}"
        )
    crops = np.asarray(crops, dtype=np.uint8)
    return FACE_PERTURBATIONS[name][1](crops).astype(np.uint8)


def add_noise(wave: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``wave`` plus white Gaussian noise scaled to ``snr_db`` dB below the wave's power."""
    wave = np.asarray(wave, dtype=np.float32)
    noise = np.random.default_rng(seed).standard_normal(len(wave)).astype(np.float32)
    power = float(np.mean(wave.astype(np.float64) ** 2))
    if power == 0.0:
        return wave.copy()
    scale = np.sqrt(power / 10 ** (snr_db / 10) / float(np.mean(noise.astype(np.float64) ** 2)))
    return (wave + scale * noise).astype(np.float32)


__all__ = ["FACE_PERTURBATIONS", "add_noise", "perturb_faces"]
