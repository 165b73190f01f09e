"""RAVDESS clips for the voice recipe: the manifest, waves, labels and the log-mel bank.

Clips come from the corpus manifest (:func:`emofuse.data.datasets.prepare`); the bank holds,
per clip, the clean log-mel and ``n_variants - 1`` augmented ones, computed once per run.

>>> waves, y = load_split("../shared/data/ravdess", [1, 2], native=True)  # doctest: +SKIP
>>> bank = feature_bank(waves, PREPROCESSING, n_variants=6)               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.datasets import prepare
from ..errors import DataError
from ..evaluate.robustness import add_noise
from ..labels import CANONICAL
from ..media.audio_features import log_mel, trim_silence
from ..media.channel import band_limit, codec_roundtrip, gain, reverberate, room_impulse
from ..media.decode import load_audio
from ..media.level import TARGET_DBFS, normalise_gain
from .augment import augment_wave, pitch_factor, warped_log_mel
from .voice_recipe import NATIVE, PREPROCESSING


def read_wave(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """Float32 mono wave at ``sample_rate``."""
    return np.asarray(load_audio(path, sample_rate=sample_rate), dtype=np.float32)


def ravdess_frame(data_root: Path, actors: Iterable[int]) -> pd.DataFrame:
    """The RAVDESS manifest rows of ``actors`` (manifest order), paths relative to the root."""
    df = prepare("ravdess", data_root).frame
    wanted = {f"Actor_{a:02d}" for a in actors}
    df = df[df["speaker"].isin(wanted)].reset_index(drop=True)
    if df.empty:
        raise DataError(f"no RAVDESS clips for actors {sorted(wanted)} under {data_root}")
    return df


def actor_of(df: pd.DataFrame) -> np.ndarray:
    """Actor number of each row (``Actor_07`` -> 7)."""
    return np.array([int(s.split("_")[-1]) for s in df["speaker"]])


def native_labels(df: pd.DataFrame) -> np.ndarray:
    return np.array([NATIVE.index(lab) for lab in df["label"]])


def load_split(
    data_root: Path,
    actors: Iterable[int],
    limit: int | None = None,
    seed: int = 0,
    trim: bool = False,
    native: bool = False,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Waves (silence-trimmed if ``trim``) and label indices of RAVDESS ``actors``.

    Labels index :data:`NATIVE` with ``native``, else :data:`~emofuse.labels.CANONICAL`.
    ``limit`` keeps a seeded random subset of that many clips.
    """
    df = ravdess_frame(Path(data_root), actors)
    if limit is not None and limit < len(df):
        df = df.iloc[np.sort(np.random.default_rng(seed).permutation(len(df))[:limit])]
    sr, top_db = PREPROCESSING["sample_rate"], PREPROCESSING["trim_top_db"]
    waves = [read_wave(Path(data_root) / a, sr) for a in df["audio"]]
    if trim:
        waves = [trim_silence(w, sr, top_db) for w in waves]
    if native:
        return waves, native_labels(df)
    return waves, np.array([CANONICAL.index(lab) for lab in df["label_canonical"]])


def feature_bank(
    waves: Sequence[np.ndarray],
    p: dict[str, Any],
    n_variants: int,
    seed: int = 0,
    augment: dict[str, Any] | None = None,
) -> list[list[torch.Tensor]]:
    """Per (trimmed) wave, ``n_variants`` float16 log-mels: the clean one, then augmented ones.

    ``augment`` (:meth:`Recipe.wave_augment`): the optional reverb/band/codec
    probabilities, the pitch warp and gain normalisation (applied to every variant, the
    clean one included, after the wave-level effects). Seeded by ``(seed, position)``:
    the same clip list always gives the same bank.
    """
    a = {**(augment or {})}
    gain_norm, semitones = bool(a.pop("gain_norm", False)), float(a.pop("pitch_semitones", 0))
    target = float(a.pop("gain_dbfs", TARGET_DBFS))
    sr, n_fft, hop, n_mels = p["sample_rate"], p["n_fft"], p["hop"], p["n_mels"]

    def spec(wave: np.ndarray, alpha: float = 1.0) -> torch.Tensor:
        wave = normalise_gain(wave, target) if gain_norm else np.asarray(wave, np.float32)
        if alpha == 1.0:
            return log_mel(wave, sr, n_fft, hop, n_mels)
        return warped_log_mel(wave, alpha, sr, n_fft, hop, n_mels)

    bank = []
    for i, w in enumerate(waves):
        rng = np.random.default_rng([seed, i])
        variants = [spec(w)]
        for _ in range(n_variants - 1):
            wave = augment_wave(w, rng, sample_rate=sr, **a)
            variants.append(spec(np.asarray(wave, np.float32), pitch_factor(rng, semitones)))
        bank.append([v.to(torch.float16) for v in variants])
    return bank


def noisy(waves: Sequence[np.ndarray], snr_db: float | None, seed: int) -> list[np.ndarray]:
    """``waves`` with white Gaussian noise at ``snr_db`` (per clip, seeded by its position)."""
    if snr_db is None:
        return list(waves)
    base = seed * 1_000_003 + round(snr_db * 10) * 10_007
    return [add_noise(w, snr_db, seed=base + i) for i, w in enumerate(waves)]


def statement_of(df: pd.DataFrame) -> np.ndarray:
    """RAVDESS statement of each row (file name field 5): 1 "Kids are talking by the door",
    2 "Dogs are sitting by the door"."""
    return np.array([int(Path(a).name.split("-")[4]) for a in df["audio"]])


#: held-out recording conditions for the unseen test actors (whole clips, before trimming);
#: the reverb seeds and the MP3 codec are never used by the training augmentation
CONDITIONS: dict[str, str] = {
    "telephone": "band-pass 300-3400 Hz through 8 kHz",
    "reverb": "synthetic room, RT60 0.6 s, direct/tail 0.5 (seeded per clip)",
    "mp3_16k": "MP3 at 16 kbit/s (a codec the augmentation never uses)",
    "gain_-26db": "-26 dB gain",
}


def conditioned(waves: Sequence[np.ndarray], name: str, seed: int = 0) -> list[np.ndarray]:
    """``waves`` through the recording condition ``name`` (:data:`CONDITIONS`)."""
    if name == "telephone":
        return [band_limit(w, 16000, 300.0, 3400.0, resample_to=8000) for w in waves]
    if name == "reverb":
        rngs = [np.random.default_rng([seed, 7_919, i]) for i in range(len(waves))]
        return [reverberate(w, room_impulse(0.6, r, direct=0.5)) for w, r in zip(waves, rngs)]
    if name == "mp3_16k":
        return [codec_roundtrip(w, "mp3", 16000) for w in waves]
    if name == "gain_-26db":
        return [gain(w, -26.0) for w in waves]
    raise DataError(f"unknown recording condition {name!r}; choose from {sorted(CONDITIONS)}")


_CORPUS: dict[Any, dict[str, Any]] = {}


def load_corpus(
    data_root: Path,
    actors: Sequence[int],
    p: dict[str, Any],
    n_variants: int,
    seed: int,
    augment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """RAVDESS ``actors``: frame, raw and trimmed waves, labels, actors, statements and bank.

    Kept for the last arguments seen, so the CV and the statement hold-out of one process
    compute the bank once.
    """
    key = (
        str(data_root),
        tuple(actors),
        repr(sorted(p.items())),
        n_variants,
        seed,
        repr(sorted((augment or {}).items())),
    )
    if key not in _CORPUS:
        _CORPUS.clear()
        df = ravdess_frame(Path(data_root), actors)
        sr = p["sample_rate"]
        raw = [read_wave(Path(data_root) / a, sr) for a in df["audio"]]
        trimmed = [trim_silence(w, sr, p["trim_top_db"]) for w in raw]
        _CORPUS[key] = {
            "frame": df,
            "raw": raw,
            "y": native_labels(df),
            "actor": actor_of(df),
            "statement": statement_of(df),
            "bank": feature_bank(trimmed, p, n_variants, seed, augment),
        }
    return _CORPUS[key]
