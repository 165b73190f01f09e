"""The end of the fine-tuning recipe (:mod:`.text_finetune`): the TF-IDF branch, the
per-domain choices, dev metrics with ablations and calibration, the same-run baseline,
and the artefact.

The baseline is what the issue measures the model against: a logistic regression on the
frozen MiniLM embeddings of the utterance (embedded through the feature store), fitted on
the same rows, its ``C`` and class weighting chosen on the same holdout, scored once on
the same dev sets.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluate.metrics import classification_metrics
from ..labels import CANONICAL
from ..models.calibration import expected_calibration_error, fit_temperature, softmax
from ..utils.io import write_json
from .text_data import embed_texts, expand_soft
from .text_finetune_data import class_weights, eval_sets
from .text_finetune_select import (
    DOMAIN_OF,
    METRIC,
    OBJECTIVE,
    ablations,
    choose_per_domain,
    f1_all_classes,
    final_logits,
    tune_bias,
)
from .text_selection import GOEMOTIONS_PROTOCOL

log = logging.getLogger(__name__)
BASELINE_C = (0.1, 1.0, 10.0, 100.0)
#: options of the TF-IDF branch (:meth:`~emofuse.models.text_lexical.LexicalModel.fit`)
FIT_OPTIONS = {"c": 2.0, "min_df": 3, "max_features": 80_000}


def fit_lexical(rows, run_dir: Path):
    """The TF-IDF + logistic-regression branch (:class:`~emofuse.models.text_lexical.LexicalModel`)
    on the fitting rows (multi-label comments spread over their labels, class-weighted);
    saved in ``run_dir/lexical`` and reused on a rerun."""
    from ..models.text_lexical import JSON_FILE, LexicalModel

    folder = Path(run_dir) / "lexical"
    if (folder / JSON_FILE).is_file():
        return LexicalModel.load(folder)
    fit = np.flatnonzero(rows["fit"])
    r, labels, weights = expand_soft(fit, rows["targets"][fit], class_weights(rows, 0.5)[fit])
    t0 = time.time()
    model = LexicalModel.fit([rows["texts"][i] for i in r], labels, weights, **FIT_OPTIONS)
    log.info("lexical branch: %d terms in %.0f s", len(model.vocabulary), time.time() - t0)
    model.save(folder)
    return model


def logreg_baseline(df, rows, cache_dir: Path, encoder: Any = None) -> dict[str, Any]:
    """Logistic regression on frozen MiniLM embeddings of the utterance, one per corpus
    (see the module doc); dev scored plain and with the holdout-tuned bias the fine-tuned
    model gets."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from ..encoders.base import build_encoder

    emb = embed_texts(df, encoder or build_encoder("minilm"), Path(cache_dir))
    out: dict[str, Any] = {}
    hold, dev = eval_sets(rows, rows["hold"]), eval_sets(rows, rows["dev"])
    for k, corpus in (("meld", rows["meld"]), ("goemotions", ~rows["meld"])):
        fit_rows = np.flatnonzero(rows["fit"] & corpus)
        r, c = np.nonzero(rows["targets"][fit_rows])
        x, y, sw = emb[fit_rows[r]], c, rows["targets"][fit_rows][r, c]
        grid, models = {}, {}
        for C in BASELINE_C:
            for cw in (None, "balanced"):
                name = f"C={C},class_weight={cw}"
                models[name] = LogisticRegression(C=C, class_weight=cw, max_iter=3000)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    models[name].fit(x, y, sample_weight=sw)
                z = _full_proba(models[name], emb[hold[k]])
                grid[name] = f1_all_classes(rows["label"][hold[k]], z, METRIC[k])
        best = max(grid, key=grid.get)
        p = _full_proba(models[best], emb[dev[k]])
        y_dev = rows["label"][dev[k]]
        zh = np.log(_full_proba(models[best], emb[hold[k]]) + 1e-9)
        b = tune_bias(zh, rows["label"][hold[k]], METRIC[k])
        out[k] = {"selected": best, "holdout_grid": {g: round(v, 4) for g, v in grid.items()},
                  "dev": classification_metrics(y_dev, p.argmax(1), CANONICAL),
                  "dev_with_bias": classification_metrics(
                      y_dev, (np.log(p + 1e-9) + b).argmax(1), CANONICAL)}  # fmt: skip
    out["protocol"] = ("sklearn LogisticRegression on frozen all-MiniLM-L6-v2 embeddings of the "
                       f"utterance; fit on the same rows; C in {set(BASELINE_C)} x class_weight "
                       "in {None, balanced} chosen on the same holdout; dev_with_bias: plus a "
                       "per-class log-probability bias tuned on the holdout, as for the "
                       "fine-tuned model")  # fmt: skip
    return out


def _full_proba(model, x: np.ndarray) -> np.ndarray:
    p = np.zeros((len(x), len(CANONICAL)))
    p[:, model.classes_] = model.predict_proba(x)
    return p


def finalize(
    net,
    tokenizer,
    df,
    rows,
    s,
    result,
    logits,
    lexical,
    base,
    out_dir,
    run_dir,
    *,
    cache_dir,
    baseline,
    baseline_encoder,
    started,
) -> dict[str, Any]:
    """Choose per domain on the holdout, score dev once per variant, save the artefact and
    ``run_dir/report.json``; return the metadata."""
    from ..models.artifact import ModelMeta
    from ..models.text_finetuned import FineTunedTextModel

    hold, dev = eval_sets(rows, rows["hold"]), eval_sets(rows, rows["dev"])
    y_hold = {k: rows["label"][v] for k, v in hold.items()}
    y_dev = {k: rows["label"][v] for k, v in dev.items()}
    lex: dict[str, np.ndarray] = {}
    if lexical is not None:
        for part, sets in (("hold", hold), ("dev", dev)):
            for k, v in sets.items():
                lex[f"{part}_{k}"] = lexical.logits([rows["texts"][i] for i in v])
    dialogue = df["dialogue"].fillna(-1).to_numpy()
    groups = {"meld": dialogue[hold["meld"]], "goemotions": np.arange(len(hold["goemotions"]))}
    choice, grids, calib = choose_per_domain(logits, lex, y_hold, groups, s.seed)
    use_lex = lexical is not None and any(c["lexical"] for c in choice.values())
    tuned = [k for k in hold if DOMAIN_OF[k] in choice]
    zp = np.concatenate([final_logits(logits[f"hold_{k}"], lex.get(f"hold_{k}"),
                                      choice[DOMAIN_OF[k]]) for k in tuned])  # fmt: skip
    pooled_t = fit_temperature(zp, np.concatenate([y_hold[k] for k in tuned]))
    meta = ModelMeta(
        name="text-minilm-lora-context" + ("-lexical" if use_lex else ""),
        modality="text",
        architecture="text_finetuned",
        config=asdict(net.config),
        labels=list(CANONICAL),
        preprocessing=_preprocessing(base, choice, lexical if use_lex else None),
        training={
            "data": (
                f"MELD train ({int((rows['fit'] & rows['meld']).sum()):,}) + GoEmotions "
                f"Ekman train ({int((rows['fit'] & ~rows['meld']).sum()):,}), the "
                "selection holdout excluded"
            ),
            "selection": (
                f"held-out train: MELD train {len(hold['meld']):,} utterances "
                f"({s.holdout:.0%} of dialogues) + GoEmotions train "
                f"{len(hold['goemotions']):,} single-label comments ({s.holdout:.0%} "
                f"of comments), seed {s.seed}; epoch, per-domain lexical weight, "
                "logit bias and temperature chosen there"
            ),
            "evaluation": "MELD dev (with context) + single-label GoEmotions dev, scored once",
            "recipe": "emofuse.train.text_finetune",
            "objective": OBJECTIVE,
            "settings": s.to_dict(),
            "best_epoch": result.best_epoch,
            "history": result.history,
            "lexical_weight_grid_holdout": grids,
        },
        temperature=round(pooled_t, 4),
    )
    model = FineTunedTextModel(net, tokenizer, meta, lexical if use_lex else None)
    best = next(h for h in result.history if h["epoch"] == result.best_epoch)
    metrics: dict[str, Any] = {
        "holdout_best_epoch": {
            k: v for k, v in best.items() if k not in ("items", "loss", "seconds")
        }
    }
    final = {}
    for k in dev:
        c = choice.get(DOMAIN_OF[k], {"lexical": 0.0, "bias": 0.0, "temperature": 1.0})
        final[k] = final_logits(logits[f"dev_{k}"], lex.get(f"dev_{k}"), c)
        metrics[f"{k}_dev"] = classification_metrics(y_dev[k], final[k].argmax(1), CANONICAL)
        if len(y_dev[k]):
            calib[f"{k}_dev"] = {
                "ece_before": round(expected_calibration_error(softmax(final[k]), y_dev[k]), 4),
                "ece_after": round(expected_calibration_error(
                    softmax(final[k], c["temperature"]), y_dev[k]), 4),
            }  # fmt: skip
    metrics["goemotions_dev"]["protocol"] = GOEMOTIONS_PROTOCOL
    if all(len(v) for v in y_dev.values()):
        t_of = {k: choice.get(DOMAIN_OF[k], {"temperature": 1.0})["temperature"] for k in dev}
        yc = np.concatenate([y_dev[k] for k in dev])
        zr = np.concatenate([final[k] for k in dev])
        zc = np.concatenate([final[k] / t_of[k] for k in dev])
        calib["pooled_dev"] = {
            "ece_before": round(expected_calibration_error(softmax(zr), yc), 4),
            "ece_after": round(expected_calibration_error(softmax(zc), yc), 4),
        }
    calib["note"] = ("per-domain temperature fitted on the train holdout (after lexical branch "
                     "and bias); *_holdout_crossfit: fitted on one half of the holdout (by "
                     "dialogue / comment), ECE on the other, averaged; *_dev: dev, never used "
                     "for fitting")  # fmt: skip
    metrics["calibration"] = calib
    metrics["ablations_dev"] = ablations(logits, lex, choice, y_hold, y_dev)
    metrics["summary"] = {
        "meld_dev_weighted_f1": round(metrics["meld_dev"]["weighted_f1"], 4),
        "goemotions_dev_macro_f1": round(metrics["goemotions_dev"]["macro_f1"], 4),
    }
    if baseline:
        log.info("baseline: logistic regression on frozen MiniLM embeddings")
        bl = logreg_baseline(df, rows, Path(cache_dir), baseline_encoder)
        metrics["baseline_logreg_frozen_minilm"] = bl
        for k, m in (("meld", "weighted_f1"), ("goemotions", "macro_f1")):
            metrics["summary"][f"baseline_{k}_dev_{m}"] = round(bl[k]["dev"][m], 4)
            metrics["summary"][f"baseline_with_bias_{k}_dev_{m}"] = round(
                bl[k]["dev_with_bias"][m], 4
            )
    meta.metrics = metrics
    meta.training["seconds_total_this_process"] = round(time.time() - started, 1)
    model.save(out_dir)
    write_json(Path(run_dir) / "report.json", meta.to_dict())
    log.info("saved %s: %s", out_dir, json.dumps(metrics["summary"]))
    return meta.to_dict()


def _preprocessing(base: dict, choice: dict, lexical: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "base": base,
        "text_normalization": "emofuse.media.text.normalize_text",
        "input": "[CLS] utterance [SEP] previous utterance [SEP] (dialogue domain) | "
                 "[CLS] text [SEP] (text domain); mean over the utterance's tokens",
        "domains": {"dialogue": "a context list was given (even empty)",
                    "text": "no context (context=None)"},
        "logit_bias": {d: [round(float(x), 4) for x in c["bias"]] for d, c in choice.items()},
        "temperature": {d: round(float(c["temperature"]), 4) for d, c in choice.items()},
    }  # fmt: skip
    if lexical is not None:
        out["lexical"] = {
            "files": ["lexical.json", "lexical.safetensors"],
            "weight": {d: c["lexical"] for d, c in choice.items()},
            "terms": len(lexical.vocabulary),
            "features": "sublinear TF-IDF of words, word bigrams, char 2-4-grams",
        }
    return out


def evaluate_finetuned(
    model_dir: Path, data_root: Path, limit: int | None = None, model: Any = None
) -> dict[str, Any]:
    """Dev metrics of a saved fine-tuned text model through ``predict_proba`` (the shipped
    path: normalisation, tokenisation, network, TF-IDF branch, bias, temperature): MELD dev
    with each utterance's earlier turns as context, single-label GoEmotions dev without,
    ECE per set and pooled, before (temperature undone) and after the temperatures."""
    from ..models.text_finetuned import FineTunedTextModel
    from .text_data import load_text_corpora, previous_texts

    model = model or FineTunedTextModel.load(model_dir)
    df = load_text_corpora(Path(data_root), limit)
    df = df[df["split"].eq("dev")].reset_index(drop=True)
    single = df["labels"].map(len).eq(1).to_numpy()
    y = np.array([CANONICAL.index(ls[0]) for ls in df["labels"]], dtype=np.int64)
    history, texts = previous_texts(df), df["text"].tolist()
    out: dict[str, Any] = {}
    probs, before = [], []
    for k, with_context in (("meld", True), ("goemotions", False)):
        rows = np.flatnonzero(single & df["corpus"].eq(k).to_numpy())
        ctx = [history[i] for i in rows] if with_context else None
        p = model.predict_proba([texts[i] for i in rows], ctx)
        t = model.temperatures(model.prepare([texts[i] for i in rows], ctx)[0])
        z = softmax(np.log(p.astype(np.float64) + 1e-30) * t[:, None])  # the temperature undone
        out[f"{k}_dev"] = classification_metrics(y[rows], p.argmax(1), CANONICAL)
        out[f"{k}_dev"]["ece_before"] = expected_calibration_error(z, y[rows])
        out[f"{k}_dev"]["ece_after"] = expected_calibration_error(p, y[rows])
        probs.append((p, y[rows]))
        before.append(z)
    out["goemotions_dev"]["protocol"] = GOEMOTIONS_PROTOCOL
    yy = np.concatenate([y for _, y in probs])
    out["ece_before"] = expected_calibration_error(np.concatenate(before), yy)
    out["ece_after"] = out["ece"] = expected_calibration_error(
        np.concatenate([p for p, _ in probs]), yy
    )
    out["temperature"] = dict(model.meta.preprocessing.get("temperature") or {})
    return out
