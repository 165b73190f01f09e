"""Training-time augmentation of the bundled recipes: face crops and voice clips.

Faces: batched torch transforms on ``(B, 1, H, W)`` crops in ``[0, 1]`` (rotation, scale,
shift, flip, brightness/contrast, erasing). Voice: wave-level variants (speed, gain,
coloured noise) computed once per clip, then per-batch random crops and SpecAugment masks
on log-mels. Every function draws only from the generator it is given.

>>> import torch
>>> x = torch.rand(2, 1, 48, 48)
>>> augment_faces(x, torch.Generator().manual_seed(0)).shape
torch.Size([2, 1, 48, 48])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

FACE_AUGMENT: dict[str, Any] = {
    "rotate_deg": 10.0,
    "scale": 0.1,
    "shift": 0.12,
    "flip": True,
    "brightness": 0.1,
    "contrast": 0.2,
    "erase_p": 0.25,
}

VOICE_AUGMENT = (
    "precomputed per clip: variant 0 clean, others speed 0.88-1.12 (p=0.7), gain -10..+6 dB, "
    "white/pink/brown noise at 5-30 dB SNR (p=0.7); per batch: random variant, random crop "
    "(<= crop_seconds, 60-100% of it half the time), SpecAugment 2 freq (<=8 bins) + "
    "2 time (<=T/8) masks"
)


def augment_faces(
    x: torch.Tensor, g: torch.Generator, a: dict[str, Any] = FACE_AUGMENT
) -> torch.Tensor:
    """Random rotation/scale/shift/flip, brightness/contrast jitter and erasing, batched.

    ``x`` is ``(B, 1, H, W)`` in ``[0, 1]``; returns the same shape, still in ``[0, 1]``.
    """
    b = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.empty(b).uniform_(lo, hi, generator=g)

    ang = u(-a["rotate_deg"], a["rotate_deg"]) * math.pi / 180
    scale = u(1 - a["scale"], 1 + a["scale"])
    flip = torch.ones(b)
    if a["flip"]:
        flip = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    tx, ty = u(-a["shift"], a["shift"]), u(-a["shift"], a["shift"])
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = u(1 - a["contrast"], 1 + a["contrast"]).view(b, 1, 1, 1)
    bright = u(-a["brightness"], a["brightness"]).view(b, 1, 1, 1)
    x = ((x - mean) * contrast + mean + bright).clamp_(0.0, 1.0)
    if a["erase_p"] > 0:
        h, w = x.shape[-2:]
        side = torch.randint(h // 6, h // 3 + 1, (b,), generator=g).view(b, 1, 1)
        cy = torch.randint(0, h, (b,), generator=g).view(b, 1, 1)
        cx = torch.randint(0, w, (b,), generator=g).view(b, 1, 1)
        rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
        box = ((rows - cy).abs() * 2 < side) & ((cols - cx).abs() * 2 < side)
        box &= (torch.rand(b, generator=g) < a["erase_p"]).view(b, 1, 1)
        x = x.masked_fill(box.unsqueeze(1), 0.5)
    return x


def coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink (1/f power) or brown (1/f^2) noise of ``n`` samples, picked at random."""
    white = rng.standard_normal(n)
    kind = rng.integers(0, 3)
    if kind == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= f ** (0.5 if kind == 1 else 1.0)
    return np.fft.irfft(spec, n)


def augment_wave(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Speed 0.88-1.12 (p=0.7), gain -10..+6 dB, coloured noise at 5-30 dB SNR (p=0.7)."""
    if rng.random() < 0.7:
        factor = rng.uniform(0.88, 1.12)
        wave = np.interp(np.arange(0, len(wave) - 1, factor), np.arange(len(wave)), wave)
    wave = wave * 10 ** (rng.uniform(-10, 6) / 20)
    if rng.random() < 0.7:
        noise = coloured_noise(len(wave), rng)
        snr = rng.uniform(5, 30)
        scale = np.sqrt(np.mean(wave**2) / (np.mean(noise**2) + 1e-12) / 10 ** (snr / 10))
        wave = wave + scale * noise
    return wave


def crop_spec_augment(spec: torch.Tensor, rng: np.random.Generator, frames: int) -> torch.Tensor:
    """Random crop (<= ``frames``) and SpecAugment masks, on a ``(n_mels, T)`` log-mel."""
    total = spec.shape[1]
    length = min(total, frames)
    if rng.random() < 0.5:
        length = max(1, int(length * rng.uniform(0.6, 1.0)))
    start = int(rng.integers(0, total - length + 1))
    spec = spec[:, start : start + length].float().clone()
    fill = spec.mean()
    for _ in range(2):  # SpecAugment: 2 frequency + 2 time masks
        w = int(rng.integers(0, 9))
        f0 = int(rng.integers(0, spec.shape[0] - w + 1))
        spec[f0 : f0 + w] = fill
        w = int(rng.integers(0, max(1, spec.shape[1] // 8) + 1))
        t0 = int(rng.integers(0, spec.shape[1] - w + 1))
        spec[:, t0 : t0 + w] = fill
    return spec
