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
from ..media.decode import load_audio
from .augment import augment_wave
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
    waves: Sequence[np.ndarray], p: dict[str, Any], n_variants: int, seed: int = 0
) -> list[list[torch.Tensor]]:
    """Per (trimmed) wave, ``n_variants`` float16 log-mels: the clean one, then augmented ones.

    Seeded by ``(seed, position)``: the same clip list always gives the same bank.
    """
    sr, n_fft, hop, n_mels = p["sample_rate"], p["n_fft"], p["hop"], p["n_mels"]
    bank = []
    for i, w in enumerate(waves):
        rng = np.random.default_rng([seed, i])
        variants = [log_mel(w, sr, n_fft, hop, n_mels)]
        for _ in range(n_variants - 1):
            wave = augment_wave(w, rng)
            variants.append(log_mel(np.asarray(wave, np.float32), sr, n_fft, hop, n_mels))
        bank.append([v.to(torch.float16) for v in variants])
    return bank


def noisy(waves: Sequence[np.ndarray], snr_db: float | None, seed: int) -> list[np.ndarray]:
    """``waves`` with white Gaussian noise at ``snr_db`` (per clip, seeded by its position)."""
    if snr_db is None:
        return list(waves)
    base = seed * 1_000_003 + round(snr_db * 10) * 10_007
    return [add_noise(w, snr_db, seed=base + i) for i, w in enumerate(waves)]
