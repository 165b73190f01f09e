"""Recipe for the bundled voice model: VoiceCNN on RAVDESS speech, actor-independent.

The network is trained on the 8 native RAVDESS labels (calm kept apart); the artefact's
:attr:`~emofuse.models.voice_cnn.VoiceModel.labels` are the canonical 7 and
``predict_proba`` sums calm into neutral. Augmentation is precomputed once per process
(several log-mel variants per clip: speed, gain, coloured noise at 5-30 dB SNR); each
batch then only crops (at most ``crop_seconds``) and applies SpecAugment on tensors.

:func:`cross_validate_voice` measures the recipe with actor-independent k-fold
cross-validation (RAVDESS actors 1-20, 4 per fold, a fixed epoch count, nothing selected
on a test fold), clean and with white noise at 20 / 10 dB SNR, with cross-fitted
temperature scaling; :func:`train_voice` then trains the shipped model on all 20 actors
with the mean CV temperature::

    >>> from pathlib import Path
    >>> from emofuse.train.voice import cross_validate_voice, train_voice
    >>> root = Path("../shared/data/ravdess")
    >>> cv = cross_validate_voice(root, Path("runs/voice_cv/cv.json"))      # doctest: +SKIP
    >>> cv_json = Path("runs/voice_cv/cv.json")
    >>> train_voice(root, Path("out/voice"), cv_json=cv_json)             # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.datasets.ravdess import EMOTIONS, prepare_ravdess
from ..errors import DataError, UsageError
from ..evaluate.metrics import classification_metrics
from ..evaluate.robustness import add_noise
from ..labels import CANONICAL, MAPPINGS
from ..media.audio_features import log_mel, trim_silence
from ..media.decode import load_audio
from ..models.artifact import ModelMeta, save_model
from ..models.calibration import expected_calibration_error, fit_temperature, softmax
from ..models.voice_cnn import (
    VoiceCNN,
    VoiceCNNConfig,
    VoiceModel,
    label_merge_matrix,
    pad_batch,
)
from ..utils.io import write_atomic
from ..utils.progress import training_progress

log = logging.getLogger(__name__)

NATIVE: tuple[str, ...] = tuple(EMOTIONS.values())  # neutral, calm, happy, ..., surprised
MERGE: dict[str, str] = {k: str(v) for k, v in MAPPINGS["ravdess"].items()}

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
DEFAULT_CONFIG: dict[str, Any] = {"channels": [12, 24, 48, 96], "embed": 128, "attention": 64}
DEFAULT_EPOCHS = 30
CV_ACTORS = range(1, 21)
NOISE_SNRS: tuple[float, ...] = (20.0, 10.0)


@dataclass
class Recipe:
    """Training hyper-parameters shared by the CV folds and the shipped model."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.05
    n_variants: int = 6
    crop_seconds: float = 3.0
    seed: int = 0


AUGMENTATION = (
    "precomputed per clip: variant 0 clean, others speed 0.88-1.12 (p=0.7), gain -10..+6 dB, "
    "white/pink/brown noise at 5-30 dB SNR (p=0.7); per batch: random variant, random crop "
    "(<= crop_seconds, 60-100% of it half the time), SpecAugment 2 freq (<=8 bins) + "
    "2 time (<=T/8) masks"
)


def read_wave(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """Float32 mono wave at ``sample_rate``."""
    return np.asarray(load_audio(path, sample_rate=sample_rate), dtype=np.float32)


def _frame(data_root: Path, actors: Iterable[int]):
    df = prepare_ravdess(data_root).frame
    wanted = {f"Actor_{a:02d}" for a in actors}
    df = df[df["speaker"].isin(wanted)].reset_index(drop=True)
    if df.empty:
        raise DataError(f"no RAVDESS clips for actors {sorted(wanted)} under {data_root}")
    return df


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
    """
    df = _frame(Path(data_root), actors)
    if limit is not None and limit < len(df):
        df = df.iloc[np.sort(np.random.default_rng(seed).permutation(len(df))[:limit])]
    sr, top_db = PREPROCESSING["sample_rate"], PREPROCESSING["trim_top_db"]
    waves = [read_wave(Path(data_root) / a, sr) for a in df["audio"]]
    if trim:
        waves = [trim_silence(w, sr, top_db) for w in waves]
    if native:
        return waves, np.array([NATIVE.index(lab) for lab in df["label"]])
    return waves, np.array([CANONICAL.index(lab) for lab in df["label_canonical"]])


def merge_matrix() -> np.ndarray:
    """``(8, 7)`` 0/1 matrix: native RAVDESS probabilities -> canonical (calm into neutral)."""
    return label_merge_matrix(NATIVE, CANONICAL, MERGE)


def to_canonical_index(y_native: np.ndarray) -> np.ndarray:
    return merge_matrix().argmax(axis=1)[np.asarray(y_native)]


# ----------------------------------------------------------------------------- features


def _coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    kind = rng.integers(0, 3)
    if kind == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= f ** (0.5 if kind == 1 else 1.0)  # pink (1/f power) or brown (1/f^2)
    return np.fft.irfft(spec, n)


def _variant(wave: np.ndarray, rng: np.random.Generator, p: dict[str, Any]) -> torch.Tensor:
    if rng.random() < 0.7:
        factor = rng.uniform(0.88, 1.12)
        wave = np.interp(np.arange(0, len(wave) - 1, factor), np.arange(len(wave)), wave)
    wave = wave * 10 ** (rng.uniform(-10, 6) / 20)
    if rng.random() < 0.7:
        noise = _coloured_noise(len(wave), rng)
        snr = rng.uniform(5, 30)
        scale = np.sqrt(np.mean(wave**2) / (np.mean(noise**2) + 1e-12) / 10 ** (snr / 10))
        wave = wave + scale * noise
    return log_mel(
        np.asarray(wave, np.float32), p["sample_rate"], p["n_fft"], p["hop"], p["n_mels"]
    )


def feature_bank(
    waves: Sequence[np.ndarray], p: dict[str, Any], n_variants: int, seed: int = 0
) -> list[list[torch.Tensor]]:
    """Per (trimmed) wave, ``n_variants`` log-mels: the clean one, then augmented ones.

    Seeded by ``(seed, position)``: the same clip list always gives the same bank.
    """
    bank = []
    for i, w in enumerate(waves):
        rng = np.random.default_rng([seed, i])
        clean = log_mel(w, p["sample_rate"], p["n_fft"], p["hop"], p["n_mels"])
        variants = [clean] + [_variant(w, rng, p) for _ in range(n_variants - 1)]
        bank.append([v.to(torch.float16) for v in variants])
    return bank


def _crop_augment(spec: torch.Tensor, rng: np.random.Generator, frames: int) -> torch.Tensor:
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


# ----------------------------------------------------------------------------- training


def _config(config: VoiceCNNConfig | None, prep: dict[str, Any]) -> VoiceCNNConfig:
    config = config or VoiceCNNConfig(
        n_mels=prep["n_mels"], n_classes=len(NATIVE), **DEFAULT_CONFIG
    )
    if config.n_mels != prep["n_mels"]:
        raise UsageError(f"config.n_mels={config.n_mels} but preprocessing n_mels={prep['n_mels']}")
    if config.n_classes != len(NATIVE):
        config = VoiceCNNConfig(**{**asdict(config), "n_classes": len(NATIVE)})
    return config


def _meta(config: VoiceCNNConfig, prep: dict[str, Any], temperature: float = 1.0) -> ModelMeta:
    return ModelMeta(
        name="voice-ravdess-cnn",
        modality="voice",
        architecture="voice_cnn",
        config=asdict(config),
        labels=list(CANONICAL),
        preprocessing={**prep, "native_labels": list(NATIVE), "label_merge": dict(MERGE)},
        temperature=temperature,
    )


def _class_weights(y: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n).astype(np.float64)
    return np.where(counts > 0, len(y) / (n * np.maximum(counts, 1)), 0.0)


def _fit(
    bank: list[list[torch.Tensor]],
    y: np.ndarray,
    config: VoiceCNNConfig,
    recipe: Recipe,
    prep: dict[str, Any],
    seed: int,
    bar=None,
    name: str = "voice",
    on_epoch=None,
) -> tuple[VoiceCNN, np.ndarray]:
    """Train a fresh VoiceCNN on ``bank``/``y`` (native indices) for ``recipe.epochs``.

    ``on_epoch(epoch, net, loss)`` runs after each epoch (epoch selection, logging).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = VoiceCNN(config)
    weights = _class_weights(y, len(NATIVE))
    loss_fn = nn.CrossEntropyLoss(
        weight=torch.tensor(weights, dtype=torch.float32), label_smoothing=recipe.label_smoothing
    )
    n, bs = len(bank), recipe.batch_size
    steps = max(1, int(np.ceil(n / bs)))
    frames = int(recipe.crop_seconds * prep["sample_rate"] / prep["hop"]) + 1
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe.lr, total_steps=recipe.epochs * steps, pct_start=0.15
    )
    task = bar.add_task(name, total=recipe.epochs * n) if bar is not None else None
    for epoch in range(1, recipe.epochs + 1):
        net.train()
        order, total, t0 = rng.permutation(n), 0.0, time.time()
        for s in range(steps):
            idx = order[s * bs : (s + 1) * bs]
            specs = [
                _crop_augment(bank[i][int(rng.integers(len(bank[i])))], rng, frames) for i in idx
            ]
            x, lengths = pad_batch(specs, net.reduction)
            loss = loss_fn(net(x, lengths), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            if bar is not None:
                done = (epoch - 1) * n + s * bs + len(idx)
                bar.update(
                    task, completed=done, description=f"{name} epoch {epoch}/{recipe.epochs}"
                )
        log.info("%s epoch %d  loss %.3f  %.0fs", name, epoch, total / n, time.time() - t0)
        if on_epoch is not None:
            on_epoch(epoch, net, total / n)
    net.eval()
    return net, weights


def _logits(model: VoiceModel, waves: list[np.ndarray]) -> np.ndarray:
    """Network logits per wave (windows averaged), over the model's output labels."""
    model.module.eval()
    return np.stack([lg.mean(axis=0) for lg in model.chunk_logits(waves)])


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())


def _scores(probs: np.ndarray, y: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    pred = probs.argmax(axis=1)
    m = classification_metrics(y, pred, labels)
    m["ece"] = expected_calibration_error(probs, y)
    m["nll"] = _nll(probs, y)
    m["confusion_matrix"] = confusion_matrix(y, pred, labels=range(len(labels))).tolist()
    return m


def _report(logits: np.ndarray, y_native: np.ndarray, t: float) -> dict[str, Any]:
    """Canonical metrics (calibrated, merged) at top level, native ones under ``native``."""
    yc = to_canonical_index(y_native)
    merged_before, merged = softmax(logits) @ merge_matrix(), softmax(logits, t) @ merge_matrix()
    m = _scores(merged, yc, CANONICAL)
    m["ece_before"], m["ece_after"] = expected_calibration_error(merged_before, yc), m["ece"]
    m["nll_before"], m["nll_after"] = _nll(merged_before, yc), m["nll"]
    native = _scores(softmax(logits, t), y_native, NATIVE)
    native["ece_before"] = expected_calibration_error(softmax(logits), y_native)
    native["ece_after"] = native["ece"]
    m["native"] = native
    return m


def _noisy(waves: Sequence[np.ndarray], snr_db: float | None, seed: int) -> list[np.ndarray]:
    """``waves`` with white Gaussian noise at ``snr_db`` (per clip, seeded by its position)."""
    if snr_db is None:
        return list(waves)
    base = seed * 1_000_003 + round(snr_db * 10) * 10_007
    return [add_noise(w, snr_db, seed=base + i) for i, w in enumerate(waves)]


def _span(actors: list[int]) -> str:
    if actors and actors == list(range(actors[0], actors[-1] + 1)):
        return f"{actors[0]}-{actors[-1]}"
    return ",".join(map(str, actors))


def _check_prep(preprocessing: dict[str, Any] | None) -> dict[str, Any]:
    prep = {**PREPROCESSING, **(preprocessing or {})}
    if prep["sample_rate"] != PREPROCESSING["sample_rate"] or "trim_top_db" in (
        preprocessing or {}
    ):
        raise UsageError("the voice recipe trains at 16 kHz with trim_top_db=40 only")
    return prep


def _training_meta(recipe: Recipe, weights: np.ndarray) -> dict[str, Any]:
    return {
        "recipe": "emofuse.train.voice",
        "label_mapping": "trained on the 8 RAVDESS labels; calm -> neutral summed after softmax",
        "epochs": recipe.epochs,
        "seed": recipe.seed,
        "batch_size": recipe.batch_size,
        "optimizer": f"AdamW(lr={recipe.lr}, weight_decay={recipe.weight_decay}) + OneCycleLR",
        "loss": f"class-weighted cross-entropy, label_smoothing={recipe.label_smoothing}",
        "class_weights": [round(float(w), 4) for w in weights],
        "augmentation": AUGMENTATION,
        "n_variants": recipe.n_variants,
        "crop_seconds": recipe.crop_seconds,
    }


def train_voice(
    data_root: Path,
    out_dir: Path,
    *,
    train_actors: Iterable[int] = CV_ACTORS,
    val_actors: Iterable[int] = (),
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    progress: bool = True,
    limit: int | None = None,
    config: VoiceCNNConfig | None = None,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 0.05,
    label_smoothing: float = 0.05,
    n_variants: int = 6,
    crop_seconds: float = 3.0,
    num_threads: int | None = None,
    preprocessing: dict[str, Any] | None = None,
    temperature: float | None = None,
    cv_json: Path | None = None,
) -> dict[str, Any]:
    """Train on ``train_actors`` (default all 20) and save the artefact to ``out_dir``.

    Without ``val_actors`` (the default) the epoch count is fixed and the temperature is
    ``temperature``, else the mean fold temperature of ``cv_json`` (written by
    :func:`cross_validate_voice`, whose summary also goes to ``meta.metrics``), else 1.
    With ``val_actors`` (actor-disjoint) the best epoch on them is kept and the
    temperature fitted on them. ``limit`` keeps a seeded subset of clips per split.
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
    recipe = Recipe(
        epochs, batch_size, lr, weight_decay, label_smoothing, n_variants, crop_seconds, seed
    )
    prep = _check_prep(preprocessing)
    config = _config(config, prep)
    cv = json.loads(Path(cv_json).read_text()) if cv_json else None
    if cv and cv.get("folds"):  # summary in the current format
        cv["summary"] = summarise_cv(cv["folds"], cv.get("protocol"))
    xs, ys = load_split(Path(data_root), train_actors, limit, seed, trim=True, native=True)
    bank = feature_bank(xs, prep, n_variants, seed)
    xv, yv = (
        load_split(Path(data_root), val_actors, limit, seed, native=True)
        if val_actors
        else ([], None)
    )
    best: dict[str, Any] = {"key": (-1.0, 0.0), "state": None, "epoch": epochs}

    with training_progress(progress, "clips") as bar:

        def on_epoch(epoch: int, net: VoiceCNN, loss: float) -> None:
            if not val_actors:
                return
            logits = _logits(VoiceModel(net, _meta(config, prep)), xv)
            acc = float((logits.argmax(axis=1) == yv).mean())
            nll = _nll(softmax(logits), yv)
            if (acc, -nll) > best["key"]:
                best.update(key=(acc, -nll), state=copy.deepcopy(net.state_dict()), epoch=epoch)
            line = f"epoch {epoch:3d}  loss {loss:.3f}  val acc {acc:.3f}  val nll {nll:.3f}"
            line += f"  best {best['key'][0]:.3f}@{best['epoch']}"
            bar.console.print(line) if progress else log.info(line)

        net, weights = _fit(
            bank, ys, config, recipe, prep, seed, bar if progress else None, on_epoch=on_epoch
        )
    validation, t_source = None, "given"
    if val_actors:
        net.load_state_dict(best["state"])
        logits = _logits(VoiceModel(net, _meta(config, prep)), xv)
        temperature = fit_temperature(logits, yv)
        validation = _report(logits, yv, temperature)
        t_source = "fitted on the validation actors"
    elif temperature is None and cv:
        temperature = float(cv["summary"]["temperature"])
        t_source = "mean of the cross-validation fold temperatures"
    elif temperature is None:
        temperature, t_source = 1.0, "none (1.0)"
    meta = _meta(config, prep, float(temperature))
    seconds = time.time() - t_start
    meta.training = {
        "data": f"RAVDESS speech actors {_span(train_actors)} ({len(xs)} clips)",
        "selection": (
            f"best epoch on RAVDESS actors {_span(val_actors)} ({len(xv)} clips, actor-disjoint)"
            if val_actors
            else "none: fixed epoch count"
        ),
        "best_epoch": best["epoch"],
        "temperature": t_source,
        **_training_meta(recipe, weights),
        "seconds": round(seconds, 1),
    }
    if cv:
        meta.metrics["cv"] = cv["summary"]
    if validation is not None:
        meta.metrics["validation"] = validation
    save_model(net, meta, out_dir)
    return {
        "out_dir": str(out_dir),
        "best_epoch": best["epoch"],
        "temperature": float(temperature),
        "validation": validation,
        "seconds": seconds,
    }


# ----------------------------------------------------------------------------- cross-validation


def actor_folds(actors: Iterable[int], folds: int) -> list[list[int]]:
    """Contiguous actor groups: actors 1-20 in 5 folds -> 1-4, 5-8, ... (2 male + 2 female)."""
    actors = sorted(actors)
    if not 2 <= folds <= len(actors):
        raise UsageError(f"need 2 <= folds <= {len(actors)} actors, got folds={folds}")
    return [[int(a) for a in part] for part in np.array_split(actors, folds)]


def _condition_name(snr_db: float | None) -> str:
    return "clean" if snr_db is None else f"snr_{snr_db:g}db"


def _fold_scores(logits: np.ndarray, y_native: np.ndarray) -> dict[str, Any]:
    """Uncalibrated (T=1) native and merged-canonical scores of one fold and condition."""
    return {
        "native": _scores(softmax(logits), y_native, NATIVE),
        "canonical": _scores(
            softmax(logits) @ merge_matrix(), to_canonical_index(y_native), CANONICAL
        ),
    }


def _mean_std(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        "per_fold": [float(x) for x in v],
    }


def _protocol_line(protocol: dict[str, Any] | None, n_folds: int) -> str:
    if not protocol:
        return f"RAVDESS actor-independent {n_folds}-fold CV"
    groups = ", ".join(_span(g) for g in protocol["folds"])
    return (
        f"RAVDESS speech, actor-independent {len(protocol['folds'])}-fold CV (test actors "
        f"{groups}), {protocol['recipe']['epochs']} fixed epochs on 8 native labels, canonical 7 "
        "by summing calm into neutral; mean ± sample std over folds"
    )


def summarise_cv(folds: dict[str, Any], protocol: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mean and std (over folds, ddof=1) of every figure, and cross-fitted calibration.

    Calibration: fold k's clean logits are scaled by the mean temperature fitted on the
    *other* folds (never its own), then ECE is measured; "before" is at T=1.

    Flat keys for reports: ``accuracy``/``weighted_f1``/``macro_f1``/``n`` (canonical 7,
    clean, mean over folds), ``ece_before(_mean)``/``ece_after(_mean)`` (canonical,
    cross-fitted), ``temperature`` (mean fold temperature: the shipped one), and per label
    set ``native8``/``canonical7``: ``accuracy_mean``, ``accuracy_std``,
    ``accuracy_snr20_mean``, ... The nested ``clean``/``snr_*db``/``calibration`` hold
    every figure with its per-fold values.
    """
    keys = sorted(folds, key=int)
    first = folds[keys[0]]
    nested: dict[str, Any] = {}
    for cond in first["conditions"]:
        nested[cond] = {
            space: {
                metric: _mean_std([folds[k]["conditions"][cond][space][metric] for k in keys])
                for metric in ("accuracy", "weighted_f1", "macro_f1", "ece", "nll")
            }
            for space in ("native", "canonical")
        }
    temps = [float(folds[k]["temperature"]) for k in keys]
    calib: dict[str, dict[str, list[float]]] = {
        s: {
            "ece_before": [],
            "ece_after": [],
            "nll_before": [],
            "nll_after": [],
            "accuracy_after": [],
        }
        for s in ("native", "canonical")
    }
    cross_t = []
    for k in keys:
        others = [float(folds[j]["temperature"]) for j in keys if j != k]
        t = float(np.mean(others)) if others else 1.0
        cross_t.append(t)
        logits = np.asarray(folds[k]["clean_logits"], dtype=np.float64)
        y = np.asarray(folds[k]["y_native"])
        yc = to_canonical_index(y)
        native_b, native_a = softmax(logits), softmax(logits, t)
        for space, before, after, target in (
            ("native", native_b, native_a, y),
            ("canonical", native_b @ merge_matrix(), native_a @ merge_matrix(), yc),
        ):
            calib[space]["ece_before"].append(expected_calibration_error(before, target))
            calib[space]["ece_after"].append(expected_calibration_error(after, target))
            calib[space]["nll_before"].append(_nll(before, target))
            calib[space]["nll_after"].append(_nll(after, target))
            calib[space]["accuracy_after"].append(float((after.argmax(axis=1) == target).mean()))
    calibration = {
        "method": "cross-fitted: fold k uses the mean temperature fitted on the other folds",
        "temperature_applied": cross_t,
        **{s: {m: _mean_std(v) for m, v in d.items()} for s, d in calib.items()},
    }
    flat: dict[str, dict[str, float]] = {}
    for name, space in (("native8", "native"), ("canonical7", "canonical")):
        f: dict[str, float] = {}
        for cond, block in nested.items():
            suffix = "" if cond == "clean" else cond.removeprefix("snr_").removesuffix("db")
            suffix = suffix and f"_snr{suffix}"
            for metric in ("accuracy", "weighted_f1", "macro_f1"):
                f[f"{metric}{suffix}_mean"] = block[space][metric]["mean"]
                f[f"{metric}{suffix}_std"] = block[space][metric]["std"]
        for metric in ("ece_before", "ece_after"):
            f[f"{metric}_mean"] = calibration[space][metric]["mean"]
            f[f"{metric}_std"] = calibration[space][metric]["std"]
        flat[name] = f
    canon = flat["canonical7"]
    return {
        "protocol": _protocol_line(protocol, len(keys)),
        "n_folds": len(keys),
        "n": int(sum(folds[k]["n_test"] for k in keys)),
        "std": "sample std over folds (ddof=1)",
        "accuracy": canon["accuracy_mean"],
        "weighted_f1": canon["weighted_f1_mean"],
        "macro_f1": canon["macro_f1_mean"],
        "ece_before": canon["ece_before_mean"],
        "ece_after": canon["ece_after_mean"],
        "ece_before_mean": canon["ece_before_mean"],
        "ece_after_mean": canon["ece_after_mean"],
        "temperature": float(np.mean(temps)),
        "temperature_std": float(np.std(temps, ddof=1)) if len(temps) > 1 else 0.0,
        "temperature_per_fold": temps,
        "native8": flat["native8"],
        "canonical7": flat["canonical7"],
        **nested,
        "calibration": calibration,
        "seconds": _mean_std([folds[k]["seconds"] for k in keys]),
    }


def cross_validate_voice(
    data_root: Path,
    out_json: Path,
    *,
    folds: int = 5,
    actors: Iterable[int] = CV_ACTORS,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    config: VoiceCNNConfig | None = None,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 0.05,
    label_smoothing: float = 0.05,
    n_variants: int = 6,
    crop_seconds: float = 3.0,
    snrs: Sequence[float] = NOISE_SNRS,
    only_folds: Iterable[int] | None = None,
    progress: bool = True,
    preprocessing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Actor-independent k-fold CV of the voice recipe; results written to ``out_json``.

    Each fold trains on the other actors for a fixed ``epochs`` (nothing is selected on
    the test fold) and scores its test actors clean and with white Gaussian noise at each
    of ``snrs`` dB (seeded): accuracy, weighted/macro F1, ECE, NLL and confusion matrix
    for the 8 native and the canonical 7 labels (uncalibrated, T=1), plus the temperature
    fitted on the fold's clean logits. ``summary`` holds mean/std over the folds done and
    cross-fitted calibration (:func:`summarise_cv`). The JSON is rewritten atomically after
    every fold and a rerun skips folds already in it (same protocol required).
    ``only_folds`` (1-based) runs a subset. Returns the JSON content.
    """
    recipe = Recipe(
        epochs, batch_size, lr, weight_decay, label_smoothing, n_variants, crop_seconds, seed
    )
    prep = _check_prep(preprocessing)
    config = _config(config, prep)
    groups = actor_folds(actors, folds)
    protocol = {
        "data": "RAVDESS speech",
        "folds": groups,
        "split": "actor-independent: each fold's actors are never seen in its training",
        "selection": "none: fixed epoch count, temperature cross-fitted",
        "noise": f"white Gaussian at {', '.join(f'{s:g}' for s in snrs)} dB SNR (whole clip power)",
        "canonical_from_native": "softmax over 8 native logits, calm summed into neutral",
        "config": asdict(config),
        "recipe": asdict(recipe),
        "preprocessing": prep,
        "native_labels": list(NATIVE),
        "canonical_labels": list(CANONICAL),
    }
    out_json = Path(out_json)
    result: dict[str, Any] = {"protocol": protocol, "folds": {}, "summary": {}}
    if out_json.is_file():
        old = json.loads(out_json.read_text())
        if old.get("protocol") != json.loads(json.dumps(protocol)):
            raise UsageError(f"{out_json} holds results of another protocol; use a new path")
        result["folds"] = old.get("folds", {})
    wanted = sorted(only_folds) if only_folds is not None else range(1, folds + 1)
    todo = [k for k in wanted if str(k) not in result["folds"]]
    if not todo:
        if result["folds"]:  # refresh the summary (cheap) and return
            result["summary"] = summarise_cv(result["folds"], protocol)
            write_atomic(out_json, json.dumps(result, indent=1).encode())
        return result
    df = _frame(Path(data_root), [a for g in groups for a in g])
    sr = prep["sample_rate"]
    raw = [read_wave(Path(data_root) / a, sr) for a in df["audio"]]
    y_all = np.array([NATIVE.index(lab) for lab in df["label"]])
    actor_of = np.array([int(s.split("_")[-1]) for s in df["speaker"]])
    bank = feature_bank(
        [trim_silence(w, sr, prep["trim_top_db"]) for w in raw], prep, n_variants, seed
    )
    with training_progress(progress, "clips") as bar:
        for k in todo:
            t0 = time.time()
            test = groups[k - 1]
            is_test = np.isin(actor_of, test)
            tr, te = np.flatnonzero(~is_test), np.flatnonzero(is_test)
            net, _ = _fit(
                [bank[i] for i in tr],
                y_all[tr],
                config,
                recipe,
                prep,
                seed + k,
                bar,
                f"fold {k}/{folds}",
            )
            train_seconds = time.time() - t0
            model = VoiceModel(net, _meta(config, prep))
            waves, y = [raw[i] for i in te], y_all[te]
            fold: dict[str, Any] = {
                "test_actors": test,
                "train_actors": sorted(set(actor_of[tr].tolist())),
                "n_train": len(tr),
                "n_test": len(te),
            }
            conditions = {}
            for snr in (None, *snrs):
                logits = _logits(model, _noisy(waves, snr, seed))
                conditions[_condition_name(snr)] = _fold_scores(logits, y)
                if snr is None:
                    fold["temperature"] = fit_temperature(logits, y)
                    fold["clean_logits"] = np.round(logits, 4).tolist()
                    fold["y_native"] = y.tolist()
            fold["conditions"] = conditions
            fold["train_seconds"] = round(train_seconds, 1)
            fold["seconds"] = round(time.time() - t0, 1)
            result["folds"][str(k)] = fold
            result["summary"] = summarise_cv(result["folds"], protocol)
            write_atomic(out_json, json.dumps(result, indent=1).encode())
            c = conditions["clean"]
            line = (
                f"fold {k}: actors {_span(test)}  acc native {c['native']['accuracy']:.3f}  "
                f"canonical {c['canonical']['accuracy']:.3f}  T {fold['temperature']:.2f}  "
                f"{fold['seconds']:.0f}s"
            )
            bar.console.print(line) if progress else log.info(line)
    return result


def evaluate_voice(
    model_dir: Path,
    data_root: Path,
    actors: Iterable[int] = range(17, 21),
    snr_db: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics of a saved voice artefact on RAVDESS ``actors``, optionally with noise.

    Canonical metrics at top level (from :meth:`VoiceModel.predict_proba`: the inference
    path, temperature applied); with a native-label model also ``native`` (8 labels).
    ``snr_db`` adds white Gaussian noise at that SNR (seeded per clip, as in the CV).
    """
    model = VoiceModel.load(model_dir)
    if model.labels != list(CANONICAL):
        raise DataError(f"model labels {model.labels} are not the canonical set")
    waves, y = load_split(Path(data_root), actors, native=True)
    waves = _noisy(waves, snr_db, seed)
    m = _scores(model.predict_proba(waves), to_canonical_index(y), CANONICAL)
    m["snr_db"] = snr_db
    if model.native_labels is not None:
        if model.native_labels != list(NATIVE):
            raise DataError(f"model native labels {model.native_labels} are not RAVDESS's")
        m["native"] = _scores(model.predict_native_proba(waves), y, NATIVE)
    return m
