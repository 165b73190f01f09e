"""Recipe for the bundled voice model: VoiceCNN on RAVDESS speech, actor-disjoint.

Trains on actors 1-16, picks the epoch and fits the temperature on actors 17-20, and
saves a ``voice_cnn`` artefact (safetensors + model.json with metrics)::

    >>> from pathlib import Path
    >>> from emofuse.train.voice import train_voice
    >>> root = Path("../shared/data/ravdess")
    >>> summary = train_voice(root, Path("out/voice"), epochs=22)     # doctest: +SKIP
    >>> round(summary["validation"]["accuracy"], 2)                 # doctest: +SKIP
    0.65
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..audio_features import log_mel, trim_silence
from ..calibration import expected_calibration_error, fit_temperature, softmax
from ..data.datasets.ravdess import prepare_ravdess
from ..display import training_progress
from ..errors import DataError, UsageError
from ..labels import CANONICAL
from ..media.decode import load_audio
from ..metrics import classification_metrics
from ..models.artifact import ModelMeta, save_model
from ..models.voice_cnn import VoiceCNN, VoiceCNNConfig, VoiceModel, pad_batch

log = logging.getLogger(__name__)

PREPROCESSING: dict[str, Any] = {
    "sample_rate": 16000,
    "n_fft": 512,
    "hop": 256,
    "n_mels": 64,
    "log_floor": 1e-6,
    "normalisation": "per-utterance mean/std (inside the network)",
    "trim_top_db": 40.0,
    "max_seconds": 4.0,
}


def read_wave(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """Float32 mono wave at ``sample_rate``."""
    return np.asarray(load_audio(path, sample_rate=sample_rate), dtype=np.float32)


def load_split(
    data_root: Path,
    actors: Iterable[int],
    limit: int | None = None,
    seed: int = 0,
    trim: bool = False,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Waves (silence-trimmed if ``trim``) and canonical label indices of RAVDESS ``actors``."""
    df = prepare_ravdess(data_root).frame
    wanted = {f"Actor_{a:02d}" for a in actors}
    df = df[df["speaker"].isin(wanted)].reset_index(drop=True)
    if df.empty:
        raise DataError(f"no RAVDESS clips for actors {sorted(wanted)} under {data_root}")
    if limit is not None and limit < len(df):
        df = df.iloc[np.sort(np.random.default_rng(seed).permutation(len(df))[:limit])]
    sr, top_db = PREPROCESSING["sample_rate"], PREPROCESSING["trim_top_db"]
    waves = [read_wave(Path(data_root) / a, sr) for a in df["audio"]]
    if trim:
        waves = [trim_silence(w, sr, top_db) for w in waves]
    y = np.array([CANONICAL.index(lab) for lab in df["label_canonical"]])
    return waves, y


def _augment(wave: np.ndarray, rng: np.random.Generator, p: dict[str, Any]) -> torch.Tensor:
    """Speed perturbation, random crop, gain, coloured noise at random SNR; then log-mel."""
    sr = p["sample_rate"]
    if rng.random() < 0.6:
        factor = rng.uniform(0.88, 1.12)
        wave = np.interp(np.arange(0, len(wave) - 1, factor), np.arange(len(wave)), wave)
    max_len = min(len(wave), int(p["max_seconds"] * sr))
    length = max_len if rng.random() < 0.5 else int(max_len * rng.uniform(0.6, 1.0))
    start = int(rng.integers(0, len(wave) - length + 1))
    wave = wave[start : start + length] * 10 ** (rng.uniform(-10, 6) / 20)
    if rng.random() < 0.5:
        noise = rng.standard_normal(len(wave))
        if rng.random() < 0.5:  # brown-ish noise
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(64) / 64, mode="same")
        snr = rng.uniform(5, 35)
        scale = np.sqrt(np.mean(wave**2) / (np.mean(noise**2) + 1e-12) / 10 ** (snr / 10))
        wave = wave + scale * noise
    spec = log_mel(wave.astype(np.float32), sr, p["n_fft"], p["hop"], p["n_mels"])
    fill = spec.mean()
    for _ in range(2):  # SpecAugment: 2 frequency + 2 time masks
        w = int(rng.integers(0, 9))
        f0 = int(rng.integers(0, spec.shape[0] - w + 1))
        spec[f0 : f0 + w] = fill
        w = int(rng.integers(0, max(1, spec.shape[1] // 8) + 1))
        t0 = int(rng.integers(0, spec.shape[1] - w + 1))
        spec[:, t0 : t0 + w] = fill
    return spec


def _meta(config: VoiceCNNConfig, prep: dict[str, Any], temperature: float = 1.0) -> ModelMeta:
    return ModelMeta(
        name="voice-ravdess-cnn",
        modality="voice",
        architecture="voice_cnn",
        config=asdict(config),
        labels=list(CANONICAL),
        preprocessing=dict(prep),
        temperature=temperature,
    )


def _logits(model: VoiceModel, waves: list[np.ndarray]) -> np.ndarray:
    model.module.eval()
    return np.stack([lg.mean(axis=0) for lg in model.chunk_logits(waves)])


def _nll(logits: np.ndarray, y: np.ndarray, t: float = 1.0) -> float:
    return float(-np.log(softmax(logits, t)[np.arange(len(y)), y] + 1e-12).mean())


def _report(logits: np.ndarray, y: np.ndarray, t: float) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    m = classification_metrics(y, logits.argmax(axis=1), CANONICAL)
    m["ece_before"] = expected_calibration_error(softmax(logits), y)
    m["ece_after"] = expected_calibration_error(softmax(logits, t), y)
    m["nll_before"], m["nll_after"] = _nll(logits, y), _nll(logits, y, t)
    cm = confusion_matrix(y, logits.argmax(axis=1), labels=range(len(CANONICAL)))
    m["confusion_matrix"] = cm.tolist()
    return m


def train_voice(
    data_root: Path,
    out_dir: Path,
    *,
    train_actors: Iterable[int] = range(1, 17),
    val_actors: Iterable[int] = range(17, 21),
    epochs: int = 40,
    seed: int = 0,
    progress: bool = True,
    limit: int | None = None,
    config: VoiceCNNConfig | None = None,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 0.05,
    label_smoothing: float = 0.05,
    num_threads: int | None = None,
    preprocessing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train, select the best epoch on ``val_actors``, calibrate, save to ``out_dir``.

    ``limit`` keeps a seeded random subset of that many clips per split (smoke tests);
    ``preprocessing`` overrides entries of :data:`PREPROCESSING` (``n_fft``, ``hop``, ...).
    Returns ``{"out_dir", "best_epoch", "temperature", "validation", "seconds"}``.
    """
    if num_threads:
        torch.set_num_threads(num_threads)
    train_actors, val_actors = sorted(train_actors), sorted(val_actors)
    if set(train_actors) & set(val_actors):
        raise DataError(
            f"train and validation actors overlap: {set(train_actors) & set(val_actors)}"
        )
    t_start = time.time()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    prep = {**PREPROCESSING, **(preprocessing or {})}
    if prep["sample_rate"] != PREPROCESSING["sample_rate"] or "trim_top_db" in (
        preprocessing or {}
    ):
        raise UsageError("the voice recipe trains at 16 kHz with trim_top_db=40 only")
    xs, ys = load_split(Path(data_root), train_actors, limit, seed, trim=True)
    xv, yv = load_split(Path(data_root), val_actors, limit, seed)  # VoiceModel trims
    config = config or VoiceCNNConfig(n_mels=prep["n_mels"], n_classes=len(CANONICAL))
    if config.n_mels != prep["n_mels"]:
        raise UsageError(f"config.n_mels={config.n_mels} but preprocessing n_mels={prep['n_mels']}")
    net = VoiceCNN(config)
    model = VoiceModel(net, _meta(config, prep))
    counts = np.bincount(ys, minlength=len(CANONICAL)).astype(np.float64)
    weights = np.where(counts > 0, len(ys) / (len(CANONICAL) * np.maximum(counts, 1)), 0.0)
    loss_fn = nn.CrossEntropyLoss(
        weight=torch.tensor(weights, dtype=torch.float32), label_smoothing=label_smoothing
    )
    steps = max(1, int(np.ceil(len(xs) / batch_size)))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps, pct_start=0.15
    )
    best: tuple[float, float] = (-1.0, 0.0)
    best_state, best_epoch = copy.deepcopy(net.state_dict()), 0
    with training_progress(progress, "clips") as bar:
        task = bar.add_task("voice", total=epochs * len(xs))
        for epoch in range(1, epochs + 1):
            net.train()
            order, total, t0 = rng.permutation(len(xs)), 0.0, time.time()
            for s in range(steps):
                idx = order[s * batch_size : (s + 1) * batch_size]
                x, lengths = pad_batch([_augment(xs[i], rng, prep) for i in idx], net.reduction)
                loss = loss_fn(net(x, lengths), torch.from_numpy(ys[idx]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
                done = (epoch - 1) * len(xs) + s * batch_size + len(idx)
                bar.update(task, completed=done, description=f"epoch {epoch}/{epochs}")
            logits = _logits(model, xv)
            acc = float((logits.argmax(axis=1) == yv).mean())
            nll = _nll(logits, yv)
            if (acc, -nll) > best:
                best, best_state, best_epoch = (acc, -nll), copy.deepcopy(net.state_dict()), epoch
            line = (
                f"epoch {epoch:3d}  loss {total / len(xs):.3f}  val acc {acc:.3f}  "
                f"val nll {nll:.3f}  best {best[0]:.3f}@{best_epoch}  {time.time() - t0:.0f}s"
            )
            if progress:
                bar.console.print(line)
            else:
                log.info(line)
    net.load_state_dict(best_state)
    logits = _logits(model, xv)
    temperature = fit_temperature(logits, yv)
    validation = _report(logits, yv, temperature)
    meta = _meta(config, prep, temperature)
    seconds = time.time() - t_start
    meta.training = {
        "data": f"RAVDESS speech actors {_span(train_actors)} ({len(xs)} clips)",
        "selection": f"RAVDESS actors {_span(val_actors)} ({len(xv)} clips, actor-disjoint)",
        "label_mapping": "calm -> neutral",
        "epochs": epochs,
        "best_epoch": best_epoch,
        "recipe": "emofuse.train.voice",
        "seed": seed,
        "batch_size": batch_size,
        "optimizer": f"AdamW(lr={lr}, weight_decay={weight_decay}) + OneCycleLR",
        "loss": f"class-weighted cross-entropy, label_smoothing={label_smoothing}",
        "class_weights": [round(float(w), 4) for w in weights],
        "augmentation": "speed 0.88-1.12, random crop 60-100%, gain -10..+6 dB, "
        "white/brown noise at 5-35 dB SNR, SpecAugment 2 freq (<=8) + 2 time (<=T/8) masks",
        "seconds": round(seconds, 1),
    }
    meta.metrics = {"validation": validation}
    save_model(net, meta, out_dir)
    return {
        "out_dir": str(out_dir),
        "best_epoch": best_epoch,
        "temperature": temperature,
        "validation": validation,
        "seconds": seconds,
    }


def _span(actors: list[int]) -> str:
    if actors == list(range(actors[0], actors[-1] + 1)):
        return f"{actors[0]}-{actors[-1]}"
    return ",".join(map(str, actors))


def evaluate_voice(
    model_dir: Path, data_root: Path, actors: Iterable[int] = range(17, 21)
) -> dict[str, Any]:
    """Metrics of a saved voice artefact on RAVDESS ``actors`` (canonical labels).

    Uses :meth:`VoiceModel.predict_proba` (the inference path, temperature applied).
    """
    model = VoiceModel.load(model_dir)
    waves, y = load_split(Path(data_root), actors)
    if model.labels != list(CANONICAL):
        raise DataError(f"model labels {model.labels} are not the canonical set")
    probs = model.predict_proba(waves)
    m = classification_metrics(y, probs.argmax(axis=1), CANONICAL)
    m["ece"] = expected_calibration_error(probs, y)
    m["nll"] = float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())
    return m
