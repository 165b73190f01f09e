"""The voice recipe's settings and its one network fit, shared by the CV folds and the final model.

VoiceCNN is trained on the 8 native RAVDESS labels (calm kept apart); the artefact's labels
are the canonical 7 and ``predict_proba`` sums calm into neutral. Each batch draws one
precomputed log-mel variant per clip, crops it and applies SpecAugment
(:mod:`emofuse.train.augment`), through the shared loop (:func:`emofuse.train.loop.fit`).

>>> Recipe(epochs=2).to_dict()["epochs"]
2
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.datasets.ravdess import EMOTIONS
from ..errors import UsageError
from ..labels import CANONICAL, MAPPINGS
from ..media.level import TARGET_DBFS, normalise_gain
from ..models.artifact import ModelMeta
from ..models.calibration import expected_calibration_error, softmax
from ..models.voice_cnn import VoiceCNN, VoiceCNNConfig, VoiceModel, label_merge_matrix, pad_batch
from ..utils.config import Config
from .augment import VOICE_AUGMENT, crop_spec_augment, mixup
from .evaluation import nll, probability_metrics
from .loop import FitResult, fit

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
class Recipe(Config):
    """Training hyper-parameters shared by the CV folds and the shipped model."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.05
    n_variants: int = 6
    crop_seconds: float = 3.0
    seed: int = 0
    #: issue-16 additions, each off at its default (the recipe measured before them)
    mixup: float = 0.0  # Beta(mixup, mixup) per batch; 0: off
    pitch_semitones: float = 0.0  # log-mel pitch/formant warp of +-this, p=0.5; 0: off
    reverb_p: float = 0.0  # synthetic room reverb per variant
    band_p: float = 0.0  # band limit (telephone-like) per variant
    codec_p: float = 0.0  # Opus / mu-law round trip per variant
    gain_norm: bool = False  # loud frames to gain_dbfs before the log-mel, as inference does
    gain_dbfs: float = TARGET_DBFS  # the level gain_norm brings speech to

    @property
    def input_dbfs(self) -> float | None:
        """The level test waves are normalised to first (``None``: left as they are)."""
        return self.gain_dbfs if self.gain_norm else None

    def wave_augment(self) -> dict[str, Any]:
        """What :func:`~emofuse.train.voice_data.feature_bank` needs (hashable values)."""
        return {
            "reverb_p": self.reverb_p,
            "band_p": self.band_p,
            "codec_p": self.codec_p,
            "pitch_semitones": self.pitch_semitones,
            "gain_norm": self.gain_norm,
            "gain_dbfs": self.gain_dbfs,
        }


#: the issue-16 recipe: every addition on (ablations switch them off one by one)
TRANSFER_RECIPE: dict[str, Any] = {
    "mixup": 0.4,
    "pitch_semitones": 2.0,
    "reverb_p": 0.3,
    "band_p": 0.2,
    "codec_p": 0.2,
    "gain_norm": True,
}


#: the shipped voice model since issue 16: an ensemble of two recipes, both with the pitch/
#: formant warp and the gain normalisation inference applies anyway; one also with room reverb,
#: band limits and codecs (clean accuracy from the first, channel robustness from the second;
#: mixup left out: it cost accuracy). Seed 1: the members were chosen on seed-0 runs, so the
#: shipped cross-validation is a fresh draw. See the voice model card.
SHIPPED_ENSEMBLE: dict[str, dict[str, Any]] = {
    "pitch": {"pitch_semitones": 2.0, "gain_norm": True, "seed": 1},
    "channel": {**TRANSFER_RECIPE, "mixup": 0.0, "seed": 1},
}


def merge_matrix() -> np.ndarray:
    """``(8, 7)`` 0/1 matrix: native RAVDESS probabilities -> canonical (calm into neutral)."""
    return label_merge_matrix(NATIVE, CANONICAL, MERGE)


def to_canonical_index(y_native: np.ndarray) -> np.ndarray:
    return merge_matrix().argmax(axis=1)[np.asarray(y_native)]


def check_preprocessing(preprocessing: dict[str, Any] | None) -> dict[str, Any]:
    """:data:`PREPROCESSING` with ``preprocessing`` overrides (16 kHz and trimming fixed)."""
    prep = {**PREPROCESSING, **(preprocessing or {})}
    if prep["sample_rate"] != PREPROCESSING["sample_rate"] or "trim_top_db" in (
        preprocessing or {}
    ):
        raise UsageError("the voice recipe trains at 16 kHz with trim_top_db=40 only")
    return prep


def network_config(config: VoiceCNNConfig | None, prep: dict[str, Any]) -> VoiceCNNConfig:
    """``config`` (default: :data:`DEFAULT_CONFIG`) checked against ``prep``, 8 outputs."""
    config = config or VoiceCNNConfig(
        n_mels=prep["n_mels"], n_classes=len(NATIVE), **DEFAULT_CONFIG
    )
    if config.n_mels != prep["n_mels"]:
        raise UsageError(f"config.n_mels={config.n_mels} but preprocessing n_mels={prep['n_mels']}")
    if config.n_classes != len(NATIVE):
        config = VoiceCNNConfig(**{**asdict(config), "n_classes": len(NATIVE)})
    return config


def voice_meta(config: VoiceCNNConfig, prep: dict[str, Any], temperature: float = 1.0) -> ModelMeta:
    return ModelMeta(
        name="voice-ravdess-cnn",
        modality="voice",
        architecture="voice_cnn",
        config=asdict(config),
        labels=list(CANONICAL),
        preprocessing={**prep, "native_labels": list(NATIVE), "label_merge": dict(MERGE)},
        temperature=temperature,
    )


def training_meta(recipe: Recipe, weights: np.ndarray) -> dict[str, Any]:
    """The recipe as recorded in ``model.json``."""
    return {
        "recipe": "emofuse.train.voice",
        "label_mapping": "trained on the 8 RAVDESS labels; calm -> neutral summed after softmax",
        "epochs": recipe.epochs,
        "seed": recipe.seed,
        "batch_size": recipe.batch_size,
        "optimizer": f"AdamW(lr={recipe.lr}, weight_decay={recipe.weight_decay}) + OneCycleLR",
        "loss": f"class-weighted cross-entropy, label_smoothing={recipe.label_smoothing}",
        "class_weights": [round(float(w), 4) for w in weights],
        "augmentation": VOICE_AUGMENT,
        **{k: v for k, v in recipe.to_dict().items() if k in (*TRANSFER_RECIPE, "gain_dbfs")},
        "n_variants": recipe.n_variants,
        "crop_seconds": recipe.crop_seconds,
    }


def class_weights(y: np.ndarray, n: int) -> np.ndarray:
    """Inverse class frequencies, ``len(y) / (n * count)`` (0 for absent classes)."""
    counts = np.bincount(y, minlength=n).astype(np.float64)
    return np.where(counts > 0, len(y) / (n * np.maximum(counts, 1)), 0.0)


def fit_network(
    bank: list[list[torch.Tensor]],
    y: np.ndarray,
    config: VoiceCNNConfig,
    recipe: Recipe,
    prep: dict[str, Any],
    seed: int,
    *,
    progress: Any = False,
    name: str = "voice",
    evaluate: Callable[[nn.Module, int], Any] | None = None,
    checkpoint: Path | None = None,
) -> tuple[VoiceCNN, np.ndarray, FitResult]:
    """Train a fresh VoiceCNN on ``bank``/``y`` (native indices) for ``recipe.epochs``.

    ``evaluate(net, epoch)`` scores an epoch for selection (the best one is kept); without
    it the last epoch is. Returns the network (eval mode), the class weights and the fit.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = VoiceCNN(config)
    weights = class_weights(y, len(NATIVE))
    loss_fn = nn.CrossEntropyLoss(
        weight=torch.tensor(weights, dtype=torch.float32), label_smoothing=recipe.label_smoothing
    )
    n, bs = len(bank), recipe.batch_size
    steps = max(1, math.ceil(n / bs))
    frames = int(recipe.crop_seconds * prep["sample_rate"] / prep["hop"]) + 1
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe.lr, total_steps=recipe.epochs * steps, pct_start=0.15
    )

    def batches(epoch: int):
        order = rng.permutation(n)
        for s in range(steps):
            idx = order[s * bs : (s + 1) * bs]
            specs = [
                crop_spec_augment(bank[i][int(rng.integers(len(bank[i])))], rng, frames)
                for i in idx
            ]
            x, lengths = pad_batch(specs, net.reduction)
            target = torch.from_numpy(y[idx])
            if recipe.mixup > 0:
                x, lengths, perm, lam = mixup(x, lengths, rng, recipe.mixup)
                yield x, lengths, lam, target[perm], target
            else:
                yield x, lengths, target

    def loss(model: nn.Module, batch: tuple) -> torch.Tensor:
        if len(batch) == 3:
            x, lengths, target = batch
            return loss_fn(model(x, lengths), target)
        x, lengths, lam, other, target = batch
        out = model(x, lengths)
        return lam * loss_fn(out, target) + (1 - lam) * loss_fn(out, other)

    result = fit(
        net,
        batches,
        loss,
        optimizer=opt,
        epochs=recipe.epochs,
        steps_per_epoch=steps,
        schedule=sched,
        evaluate=evaluate,
        rngs=(rng,),
        checkpoint=checkpoint,
        signature={"recipe": recipe.to_dict(), "config": asdict(config), "seed": seed, "n": n},
        progress=progress,
        name=name,
        unit="clips",
        items_per_epoch=n,
    )
    return net, weights, result


def network_logits(
    net: VoiceCNN,
    config: VoiceCNNConfig,
    prep: dict[str, Any],
    waves: list[np.ndarray],
    gain_dbfs: float | None = None,
) -> np.ndarray:
    """Network logits per wave (windows averaged), over the native labels.

    ``gain_dbfs``: each wave's loud frames are first brought to that level, as the
    recognizer does (:attr:`Recipe.input_dbfs`).
    """
    if gain_dbfs is not None:
        waves = [normalise_gain(w, gain_dbfs) for w in waves]
    model = VoiceModel(net, voice_meta(config, prep))
    model.module.eval()
    return np.stack([lg.mean(axis=0) for lg in model.chunk_logits(waves)])


def calibrated_report(logits: np.ndarray, y_native: np.ndarray, t: float) -> dict[str, Any]:
    """Canonical metrics (calibrated, merged) at top level, native ones under ``native``."""
    yc = to_canonical_index(y_native)
    merged_before, merged = softmax(logits) @ merge_matrix(), softmax(logits, t) @ merge_matrix()
    m = probability_metrics(merged, yc, CANONICAL)
    m["ece_before"], m["ece_after"] = expected_calibration_error(merged_before, yc), m["ece"]
    m["nll_before"], m["nll_after"] = nll(merged_before, yc), m["nll"]
    native = probability_metrics(softmax(logits, t), y_native, NATIVE)
    native["ece_before"] = expected_calibration_error(softmax(logits), y_native)
    native["ece_after"] = native["ece"]
    m["native"] = native
    return m


def span(actors: list[int]) -> str:
    """``[1, 2, 3]`` -> ``"1-3"``; otherwise comma-separated."""
    if actors and actors == list(range(actors[0], actors[-1] + 1)):
        return f"{actors[0]}-{actors[-1]}"
    return ",".join(map(str, actors))
