"""Training-time augmentation of the bundled recipes: face crops and voice clips.

Faces: batched torch transforms on ``(B, 1, H, W)`` crops in ``[0, 1]`` (rotation, scale,
shift, flip, brightness/contrast, erasing; optionally small-face, blur and low-light
degradations, :func:`degrade_faces`). Voice: wave-level variants (speed, gain,
coloured noise; optionally room reverb, band limits and lossy codecs from
:mod:`emofuse.media.channel`) computed once per clip, an optional pitch/formant warp of
the log-mel (:func:`warped_log_mel`), then per-batch random crops, SpecAugment masks and
optional mixup (:func:`mixup`). Every function draws only from the generator it is given.

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

from ..media.audio_features import LOG_FLOOR, mel_filterbank
from ..media.channel import band_limit, codec_roundtrip, reverberate, room_impulse

FACE_AUGMENT: dict[str, Any] = {
    "rotate_deg": 10.0,
    "scale": 0.1,
    "shift": 0.12,
    "flip": True,
    "brightness": 0.1,
    "contrast": 0.2,
    "erase_p": 0.25,
}

#: the face recipe since issue 16: :data:`FACE_AUGMENT` plus capture degradations
ROBUST_FACE_AUGMENT: dict[str, Any] = {
    **FACE_AUGMENT,
    "lowres_p": 0.2,  # down to 30-70% of the side (area), back up (bilinear): small faces
    "blur_p": 0.15,  # Gaussian blur, sigma 0.5-1.5 px
    "dim_p": 0.15,  # intensities x0.3-0.7 plus sensor noise (sigma <= 0.03): low light
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
    return degrade_faces(x, g, a)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2.5 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def degrade_faces(
    x: torch.Tensor, g: torch.Generator, a: dict[str, Any] = FACE_AUGMENT
) -> torch.Tensor:
    """Capture degradations of ``(B, 1, H, W)`` crops in ``[0, 1]``, each on a random subset.

    ``lowres_p``: down-scaled (a side of 30-70%) and back up, as a small face is; ``blur_p``:
    Gaussian blur (sigma 0.5-1.5 px); ``dim_p``: low light (intensities x0.3-0.7 plus
    sensor noise). Keys absent or 0 are skipped, drawing nothing from ``g``.
    """
    b, h = x.shape[0], x.shape[-2]

    def chosen(key: str) -> torch.Tensor | None:
        p = a.get(key, 0.0)
        if p <= 0:
            return None
        mask = torch.rand(b, generator=g) < p
        return mask if bool(mask.any()) else None

    if (m := chosen("lowres_p")) is not None:
        side = max(4, round(h * float(torch.empty(1).uniform_(0.3, 0.7, generator=g))))
        small = F.interpolate(x[m], size=(side, side), mode="area")
        x = x.clone()
        x[m] = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
    if (m := chosen("blur_p")) is not None:
        x = x.clone()
        x[m] = _gaussian_blur(x[m], float(torch.empty(1).uniform_(0.5, 1.5, generator=g)))
    if (m := chosen("dim_p")) is not None:
        n = int(m.sum())
        scale = torch.empty(n, 1, 1, 1).uniform_(0.3, 0.7, generator=g)
        sigma = torch.empty(n, 1, 1, 1).uniform_(0.0, 0.03, generator=g)
        noise = torch.randn(x[m].shape, generator=g) * sigma
        x = x.clone()
        x[m] = (x[m] * scale + noise).clamp(0.0, 1.0)
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


def augment_wave(
    wave: np.ndarray,
    rng: np.random.Generator,
    *,
    reverb_p: float = 0.0,
    band_p: float = 0.0,
    codec_p: float = 0.0,
    sample_rate: int = 16000,
) -> np.ndarray:
    """Speed 0.88-1.12 (p=0.7), gain -10..+6 dB, coloured noise at 5-30 dB SNR (p=0.7).

    Optionally (each drawn only when its probability is above 0, so the default draws
    exactly as before): room reverb after the speed change (RT60 0.15-0.8 s, ``reverb_p``),
    and after the noise a band limit (``band_p``: low 150-500 Hz, high 2800-4500 Hz,
    through 8 kHz half the time) and a lossy codec (``codec_p``: Opus 6-24 kbit/s or 8 kHz
    mu-law; MP3 is left out for held-out tests).
    """
    if rng.random() < 0.7:
        factor = rng.uniform(0.88, 1.12)
        wave = np.interp(np.arange(0, len(wave) - 1, factor), np.arange(len(wave)), wave)
    if reverb_p > 0 and rng.random() < reverb_p:
        rir = room_impulse(rng.uniform(0.15, 0.8), rng, sample_rate, direct=rng.uniform(0.3, 2))
        wave = reverberate(wave, rir)
    wave = wave * 10 ** (rng.uniform(-10, 6) / 20)
    if rng.random() < 0.7:
        noise = coloured_noise(len(wave), rng)
        snr = rng.uniform(5, 30)
        scale = np.sqrt(np.mean(wave**2) / (np.mean(noise**2) + 1e-12) / 10 ** (snr / 10))
        wave = wave + scale * noise
    if band_p > 0 and rng.random() < band_p:
        low, high = rng.uniform(150, 500), rng.uniform(2800, 4500)
        to = 8000 if rng.random() < 0.5 and high < 3900 else None
        wave = band_limit(wave, sample_rate, low, high, resample_to=to)
    if codec_p > 0 and rng.random() < codec_p:
        if rng.random() < 0.7:
            wave = codec_roundtrip(wave, "opus", int(rng.uniform(6, 24)) * 1000, sample_rate)
        else:
            wave = codec_roundtrip(wave, "mulaw", sample_rate=sample_rate)
    return wave


def pitch_factor(rng: np.random.Generator, semitones: float, p: float = 0.5) -> float:
    """A frequency-warp factor: ``2**(u/12)``, ``u`` uniform in ``+-semitones``, with prob. ``p``.

    Draws nothing when ``semitones`` is 0 (pitch perturbation off).
    """
    if semitones <= 0 or rng.random() >= p:
        return 1.0
    return float(2 ** (rng.uniform(-semitones, semitones) / 12))


def warped_log_mel(
    wave: np.ndarray,
    alpha: float = 1.0,
    sample_rate: int = 16000,
    n_fft: int = 512,
    hop: int = 256,
    n_mels: int = 64,
) -> torch.Tensor:
    """Log-mel of ``wave`` with its spectrum scaled in frequency by ``alpha`` (pitch and formants).

    Each mel filter reads the power at its usual frequencies divided by ``alpha``, so content at
    ``f`` lands where ``f * alpha`` would; ``alpha=1`` equals
    :func:`emofuse.media.audio_features.log_mel`. Same duration, no phase artefacts.
    """
    fb = mel_filterbank(n_fft, n_mels, sample_rate)
    if alpha != 1.0:
        freqs = np.linspace(0, sample_rate // 2, n_fft // 2 + 1)
        fb = np.stack(
            [np.interp(freqs * alpha, freqs, fb[:, m], right=0.0) for m in range(n_mels)], 1
        ).astype(np.float32)
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32))
    spec = torch.stft(
        x,
        n_fft=n_fft,
        hop_length=hop,
        window=torch.hann_window(n_fft),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    power = spec.real.square() + spec.imag.square()
    return torch.log(torch.from_numpy(fb).T @ power + LOG_FLOOR)


def mixup(
    x: torch.Tensor, lengths: torch.Tensor, rng: np.random.Generator, alpha: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Mixup of a padded batch: ``lam * x + (1 - lam) * x[perm]``, ``lam ~ Beta(alpha, alpha)``.

    Returns the mixed batch, the longer of each pair's lengths, ``perm`` and ``lam``; the
    loss is ``lam * loss(y) + (1 - lam) * loss(y[perm])``.
    """
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(len(x)))
    return lam * x + (1 - lam) * x[perm], torch.maximum(lengths, lengths[perm]), perm, lam


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
