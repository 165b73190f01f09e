"""Train the face CNN on FER2013 and save a calibrated, self-describing artefact.

Trains on ``train`` minus a stratified held-out part (``holdout``, 10%), keeps the epoch
with the best held-out accuracy, fits the temperature on the held-out logits, and only
then scores ``validation``, which training and selection never see. Writes
``model.safetensors`` + ``model.json``.
Images are decoded once into a ``uint8`` array; augmentation runs batched in torch.

>>> from pathlib import Path
>>> info = train_face(Path("../shared/data/fer2013"), Path("runs/face"), epochs=1,
...                   limit=500)                                    # doctest: +SKIP
>>> sorted(info["metrics"])[:3]                                     # doctest: +SKIP
['accuracy', 'ece_after', 'ece_before']
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..data.datasets.fer2013 import prepare_fer2013
from ..errors import DataError
from ..evaluate.metrics import classification_metrics
from ..labels import CANONICAL
from ..models.artifact import ModelMeta, save_model
from ..models.calibration import expected_calibration_error, fit_temperature, softmax
from ..models.face_cnn import FaceCNN, FaceCNNConfig, FaceModel
from ..utils.progress import training_progress

SIZE = 48
AUGMENT = {
    "rotate_deg": 10.0,
    "scale": 0.1,
    "shift": 0.12,
    "flip": True,
    "brightness": 0.1,
    "contrast": 0.2,
    "erase_p": 0.25,
}


def load_split(root: Path, split: str, *, limit: int | None = None, seed: int = 0):
    """Decode one split into ``(images uint8 (N, 48, 48), y int64 canonical indices)``.

    ``limit`` keeps a seeded random subset of that many images (all of them if ``None``).
    """
    import cv2

    df = prepare_fer2013(root, splits=(split,)).frame
    if limit is not None and limit < len(df):
        keep = np.sort(np.random.default_rng(seed).permutation(len(df))[:limit])
        df = df.iloc[keep]
    images = np.empty((len(df), SIZE, SIZE), dtype=np.uint8)
    for i, rel in enumerate(df["image"]):
        img = cv2.imread(str(Path(root) / rel), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise DataError(f"cannot decode FER2013 image {Path(root) / rel}")
        if img.shape != (SIZE, SIZE):
            img = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        images[i] = img
    y = np.array([CANONICAL.index(c) for c in df["label_canonical"]], dtype=np.int64)
    return images, y


def augment(x: torch.Tensor, g: torch.Generator, a: dict[str, Any] = AUGMENT) -> torch.Tensor:
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


def _lr_factor(p: float, warmup: float = 0.15) -> float:
    """Linear warm-up then cosine decay over training progress ``p`` in ``[0, 1]``."""
    if p < warmup:
        return 0.02 + 0.98 * p / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (p - warmup) / (1 - warmup)))) + 1e-3


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class _ThreadTuner:
    """Every ``period`` steps, time a few steps with 1 and with all threads; keep the faster.

    On a shared machine one thread often beats oversubscribed ones; on an idle one, all
    threads win. ``fixed`` pins the count instead.
    """

    def __init__(self, fixed: int | None, period: int = 120, probes: int = 3):
        self.choices = [fixed] if fixed else sorted({1, os.cpu_count() or 1})
        self.period, self.probes = period, probes
        self.times: dict[int, list[float]] = {c: [] for c in self.choices}
        self.best = self.choices[-1]

    def pick(self, step: int) -> int:
        k = step % self.period
        probing = len(self.choices) > 1 and k < self.probes * len(self.choices)
        if k == 0:
            self.times = {c: [] for c in self.choices}
        n = self.choices[k % len(self.choices)] if probing else self.best
        torch.set_num_threads(n)
        return n

    def record(self, step: int, n: int, seconds: float) -> None:
        if len(self.choices) > 1 and step % self.period < self.probes * len(self.choices):
            self.times[n].append(seconds)
            if all(len(t) == self.probes for t in self.times.values()):
                self.best = min(self.times, key=lambda c: float(np.median(self.times[c])))


def _val_metrics(logits: np.ndarray, y: np.ndarray, t: float) -> dict[str, Any]:
    metrics = classification_metrics(y, logits.argmax(1), labels=list(CANONICAL))
    metrics["ece_before"] = expected_calibration_error(softmax(logits), y)
    metrics["ece_after"] = expected_calibration_error(softmax(logits, t), y)
    return metrics


def split_holdout(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified ``(fit_indices, holdout_indices)`` of ``y``; ``fraction`` goes to the holdout.

    Falls back to a plain random split when ``y`` is too small to stratify.

    >>> fit, held = split_holdout(np.array([0, 1] * 10), 0.2, seed=0)
    >>> len(fit), len(held)
    (16, 4)
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    try:
        fit, held = train_test_split(idx, test_size=fraction, stratify=y, random_state=seed)
    except ValueError:  # fewer held-out items than classes, or a class with one item
        fit, held = train_test_split(idx, test_size=fraction, random_state=seed)
    return np.sort(fit), np.sort(held)


def train_face(
    data_root: Path,
    out_dir: Path,
    *,
    epochs: int = 30,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 0.05,
    label_smoothing: float = 0.1,
    tta_flip: bool = True,
    holdout: float = 0.1,
    config: dict[str, Any] | None = None,
    time_budget: float | None = None,
    seed: int = 0,
    threads: int | None = None,
    progress: bool = True,
    limit: int | None = None,
) -> dict[str, Any]:
    """Train :class:`FaceCNN` on FER2013 ``train``, select on a held-out part, save it.

    ``holdout`` is the stratified fraction of ``train`` kept out of training to pick the
    epoch and fit the temperature; ``validation`` is scored once, at the end.

    ``config`` overrides :class:`FaceCNNConfig` fields; ``limit`` keeps that many images
    per split (smoke tests). With ``time_budget`` (seconds) the learning-rate schedule
    follows wall time as well as steps and training stops when the budget is spent
    (then runs are no longer bit-for-bit reproducible). ``threads=None`` re-picks 1 or
    all cores as training goes, whichever is faster on a shared machine. Returns ``out_dir``, the
    validation metrics, the selected epoch, the per-epoch history and the seconds spent.
    """
    data_root, out_dir = Path(data_root), Path(out_dir)
    started = time.time()
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    cfg = FaceCNNConfig(**(config or {}))
    with _threads(threads):
        x_all, y_all = load_split(data_root, "train", limit=limit, seed=seed)
        fit_idx, held_idx = split_holdout(y_all, holdout, seed)
        x_train, y_train = x_all[fit_idx], y_all[fit_idx]
        x_sel, y_sel = x_all[held_idx], y_all[held_idx]
        x_val, y_val = load_split(data_root, "validation", limit=limit, seed=seed)
        mean, std = float(x_train.mean() / 255), float(x_train.std() / 255)
        hyper = {
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "label_smoothing": label_smoothing,
            "optimizer": "AdamW",
            "schedule": "linear warm-up 15% + cosine",
            "augmentation": AUGMENT,
            "seed": seed,
            "holdout": holdout,
            "time_budget_s": time_budget,
        }
        meta = ModelMeta(
            name="face-fer2013-cnn",
            modality="face",
            architecture="face_cnn",
            config=dataclasses.asdict(cfg),
            labels=list(CANONICAL),
            preprocessing={
                "size": SIZE,
                "grayscale": True,
                "mean": mean,
                "std": std,
                "tta_flip": tta_flip,
                "crop": "haar tight face box, no margin",
            },
            training={
                "data": f"FER2013 train minus a {holdout:.0%} holdout ({len(y_train):,} images)",
                "selection": f"stratified {holdout:.0%} of FER2013 train ({len(y_sel):,}, "
                f"seed {seed}): epoch and temperature",
                "evaluation": f"FER2013 validation (PublicTest, {len(y_val):,}), scored once",
                "recipe": "emofuse.train.face",
                **hyper,
            },
        )
        module = FaceCNN(cfg).to(memory_format=torch.channels_last)
        evaluator = FaceModel(module, meta)
        decay = [p for p in module.parameters() if p.ndim > 1]
        rest = [p for p in module.parameters() if p.ndim <= 1]
        opt = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": weight_decay},
                {"params": rest, "weight_decay": 0.0},
            ],
            lr=lr,
        )
        images = torch.from_numpy(x_train)
        labels = torch.from_numpy(y_train)
        steps_per_epoch = math.ceil(len(labels) / batch_size)
        total = epochs * steps_per_epoch
        history: list[dict[str, Any]] = []
        best: tuple[float, int, dict[str, torch.Tensor]] | None = None
        step, train_start, done = 0, time.time(), False
        tuner = _ThreadTuner(threads)
        with training_progress(progress, "img") as bar:
            for epoch in range(1, epochs + 1):
                module.train()
                order = torch.randperm(len(labels), generator=g)
                task = bar.add_task(f"epoch {epoch}/{epochs}", total=len(labels)) if bar else None
                loss_sum, seen = 0.0, 0
                for s in range(0, len(labels), batch_size):
                    p = step / total
                    if time_budget:
                        p = max(p, (time.time() - train_start) / time_budget)
                    if p >= 1.0:
                        done = True
                        break
                    for group in opt.param_groups:
                        group["lr"] = lr * _lr_factor(p)
                    n_threads, t0 = tuner.pick(step), time.perf_counter()
                    idx = order[s : s + batch_size]
                    x = augment(images[idx].unsqueeze(1).float() / 255, g)
                    x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
                    loss = F.cross_entropy(module(x), labels[idx], label_smoothing=label_smoothing)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    tuner.record(step, n_threads, time.perf_counter() - t0)
                    step += 1
                    loss_sum += float(loss.detach()) * len(idx)
                    seen += len(idx)
                    if bar:
                        bar.update(task, advance=len(idx))
                if seen == 0:
                    break
                module.eval()
                acc = float((evaluator.logits(x_sel).argmax(1) == y_sel).mean())
                history.append(
                    {
                        "epoch": epoch,
                        "images": seen,
                        "loss": loss_sum / seen,
                        "holdout_accuracy": acc,
                        "seconds": round(time.time() - started, 1),
                    }
                )
                if progress:
                    print(
                        f"epoch {epoch:3d}  loss {loss_sum / seen:.4f}  holdout acc {acc:.4f}  "
                        f"({time.time() - started:.0f} s)",
                        flush=True,
                    )
                if best is None or acc > best[0]:
                    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                    best = (acc, epoch, state)
                    save_model(module, meta, out_dir / "checkpoint")  # atomic, file by file
                if done or step >= total:
                    break
        if best is None:
            raise DataError("training saw no images (empty train split or zero budget)")
        module.load_state_dict(best[2])
        module.eval()
        sel_logits = evaluator.logits(x_sel)
        temperature = fit_temperature(sel_logits, y_sel)
        metrics = _val_metrics(evaluator.logits(x_val), y_val, temperature)
        meta.temperature = temperature
        meta.metrics = {
            "validation": metrics,
            "holdout": _val_metrics(sel_logits, y_sel, temperature),
        }
        seconds = round(time.time() - started, 1)
        meta.training.update(
            {
                "epochs": len(history),
                "epochs_planned": epochs,
                "selected_epoch": best[1],
                "history": history,
                "seconds": seconds,
            }
        )
        save_model(module, meta, out_dir)
        shutil.rmtree(out_dir / "checkpoint", ignore_errors=True)
    return {
        "out_dir": str(out_dir),
        "metrics": metrics,
        "selected_epoch": best[1],
        "temperature": temperature,
        "history": history,
        "seconds": seconds,
    }


def evaluate_face(
    model_dir: Path | str | None, data_root: Path | str, *, limit: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Recompute validation metrics (+ ``ece``) of a saved face model on FER2013 ``validation``.

    >>> m = evaluate_face(None, "../shared/data/fer2013", limit=700)  # doctest: +SKIP
    >>> m["accuracy"] > 0.45                                         # doctest: +SKIP
    True
    """
    model = FaceModel.load(model_dir)
    x, y = load_split(Path(data_root), "validation", limit=limit, seed=seed)
    probs = model.predict_proba(x)
    metrics = classification_metrics(y, probs.argmax(1), labels=model.labels)
    metrics["ece"] = expected_calibration_error(probs, y)
    return metrics


__all__ = ["augment", "evaluate_face", "load_split", "split_holdout", "train_face"]
