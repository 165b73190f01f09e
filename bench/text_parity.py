"""The text model's default path (onnxruntime, numpy) against its torch path.

On MELD dev (with dialogue context) and single-label GoEmotions Ekman dev (stand-alone;
../shared/data), in one run: the bundled text model as ``Recognizer`` loads it
(``backend="auto"``: the network's ONNX export in the user cache, ``tokenizers``, the
numpy TF-IDF branch and calibration) and with ``backend="torch"`` (the network rebuilt in
torch, Hugging Face tokenizer): the accuracy figures of each, the largest probability
difference, argmax agreement, and the time of each.

    python bench/text_parity.py

Writes bench/results/text_parity.{md,json}.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI and server set them
os.environ.setdefault("OPENCV_FOR_THREADS_NUM", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    if not (DATA / "meld").is_dir():
        sys.exit(f"MELD not found under {DATA} (the benchmark needs ../shared/data)")
    from emofuse.evaluate.metrics import classification_metrics
    from emofuse.labels import CANONICAL
    from emofuse.models.bundled import DEFAULT_WEIGHTS, load_modality_model
    from emofuse.train.text_data import load_text_corpora, previous_texts

    df = load_text_corpora(DATA)
    df = df[df["split"].eq("dev") & df["labels"].map(len).eq(1)].reset_index(drop=True)
    meld = df["corpus"].eq("meld").to_numpy()
    texts, history = df["text"].tolist(), previous_texts(df)
    history = [h if m else None for h, m in zip(history, meld)]  # comments stand alone
    y = np.array([CANONICAL.index(labels[0]) for labels in df["labels"]])

    new = load_modality_model("text", DEFAULT_WEIGHTS / "text")
    if getattr(new, "backend", "onnx") != "onnx":
        sys.exit("the text model has no current ONNX export: run `emofuse export-onnx --only text`")
    old = load_modality_model("text", DEFAULT_WEIGHTS / "text", backend="torch")
    probs, seconds = {}, {}
    for name, model in (("default (onnxruntime + numpy)", new), ("torch", old)):
        w, c = time.perf_counter(), time.process_time()
        probs[name] = model.predict_proba(texts, history)
        seconds[name] = (time.perf_counter() - w, time.process_time() - c)
    scores = {}
    for name, p in probs.items():
        pred = p.argmax(1)
        out = {}
        for corpus, average in (("meld", "weighted_f1"), ("goemotions", "macro_f1")):
            rows = df["corpus"].eq(corpus).to_numpy()
            out[f"{corpus}_dev_{average}"] = classification_metrics(y[rows], pred[rows], CANONICAL)[
                average
            ]
        scores[name] = out
    a, b = probs.values()
    result = {
        "model": type(new).__name__,
        "texts": len(texts),
        "scores": scores,
        "max_abs_prob_diff": float(np.abs(a - b).max()),
        "argmax_agreement": float((a.argmax(1) == b.argmax(1)).mean()),
        "seconds": {k: {"wall": round(v[0], 2), "cpu": round(v[1], 2)} for k, v in seconds.items()},
    }
    lines = [
        "# Text model: default path (onnxruntime + numpy) vs torch, MELD + GoEmotions dev",
        "",
        f"{len(texts)} texts; text model {result['model']}. Max |probability "
        f"difference| {result['max_abs_prob_diff']:.1e}; argmax agreement "
        f"{result['argmax_agreement']:.2%}.",
        "",
        "| path | MELD dev weighted F1 | GoEmotions dev macro F1 | wall s | CPU s |",
        "|---|---|---|---|---|",
    ]
    for name, s in scores.items():
        w, c = seconds[name]
        lines.append(
            f"| {name} | {s['meld_dev_weighted_f1']:.4f} | {s['goemotions_dev_macro_f1']:.4f} "
            f"| {w:.1f} | {c:.1f} |"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "text_parity.md").write_text("\n".join(lines) + "\n")
    (out / "text_parity.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
