"""Accuracy, calibration, robustness, size and speed of the bundled models, from ../shared/data.

    python bench/accuracy.py                 # face + text re-measured, voice CV read from the model
    python bench/accuracy.py --voice-cv      # also re-runs the voice 5-fold CV (~1 h on 2 cores)

Writes ``bench/results/accuracy.md`` and ``accuracy.json``. Every figure is measured on data
the model neither trained nor was selected on:

- face: FER2013 ``validation`` (the recipe selects on a 10% holdout of ``train``); size of
  the weights; latency of one face (flip TTA as shipped) on one pinned CPU core;
- voice: RAVDESS actor-independent 5-fold CV (actors 1-4, 5-8, ..., 17-20), 8 native and
  7 canonical classes, clean and with white noise at 20 and 10 dB SNR, and (recipes since
  issue 16) held-out recording conditions (telephone band, reverb, MP3, -26 dB) and the
  statement hold-out (train on one sentence, test on the other; ``bench/voice_transfer.py``);
- text: MELD ``dev`` (with dialogue context) and GoEmotions (Ekman) ``dev`` (stand-alone)
  through the model's ``predict_proba`` as ``Recognizer`` loads it (the recipe selects on a
  holdout of ``train``).

    python bench/accuracy.py --only text     # re-measure some models, keep the others' figures

Besides ``accuracy.md`` it writes ``accuracy_table.md`` (the headline table), which
``bench/readme.py`` copies into the README.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "emofuse" / "weights"

#: the issue's targets and the reference figures it quotes (unseen test data, same labels)
TARGETS = {
    "face_accuracy": 0.70,
    "face_size_mb": 10.0,
    "face_ms_per_face": 5.0,
    "voice_cv_accuracy": 0.70,
    "meld_weighted_f1": 0.62,
    "goemotions_macro_f1": 0.62,
}
REFERENCES = {
    "face": "`fer` package ~0.58, HOG + linear SVM 0.43, small CNN (5 epochs) 0.57, "
    "tuned single network (literature) ~0.73",
    "voice": "eGeMAPS + SVM ~0.51, ComParE + linear SVM ~0.60 (unseen actors, 7 classes)",
    "meld": "MiniLM embeddings + logistic regression ~0.56 weighted F1",
    "goemotions": "TF-IDF + logistic regression ~0.55 macro F1",
}


#: what ``--only`` can re-measure
MODELS = ("face", "voice", "text")


def _median_ms(call, repeats: int = 300, warmup: int = 20) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def face_latency(folder: Path, crop: np.ndarray) -> dict[str, float]:
    """Median ms for one face (flip TTA as shipped) on one CPU core, torch and ONNX Runtime."""
    import torch

    from emofuse.models.face_cnn import FaceModel
    from emofuse.models.onnx.runtime import ONNX_FILE, make_session, onnxruntime_available

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = FaceModel.load(folder, backend="torch")
        out = {"torch_ms": _median_ms(lambda: model.logits(crop[None]))}
        if onnxruntime_available() and (folder / ONNX_FILE).is_file():
            model.session = make_session(folder / ONNX_FILE, threads=1)
            out["onnx_ms"] = _median_ms(lambda: model.logits(crop[None]))
    finally:
        torch.set_num_threads(threads)
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return out


def measure_face(data: Path, folder: Path) -> dict[str, Any]:
    from emofuse.evaluate.metrics import classification_metrics
    from emofuse.evaluate.robustness import FACE_PERTURBATIONS, perturb_faces
    from emofuse.models.calibration import expected_calibration_error, softmax
    from emofuse.models.face_cnn import FaceModel
    from emofuse.train.face import load_split

    model = FaceModel.load(folder, backend="torch")
    x, y = load_split(data / "fer2013", "validation")
    logits = model.logits(x)
    m = classification_metrics(y, logits.argmax(1), model.labels)
    robustness = {}
    for name, (description, _) in FACE_PERTURBATIONS.items():
        acc = float((model.logits(perturb_faces(x, name)).argmax(1) == y).mean())
        robustness[name] = {"description": description, "accuracy": acc}
    weights = folder / "model.safetensors"
    training = model.meta.training
    return {
        "protocol": f"trained on {training.get('data')}; selected on {training.get('selection')}; "
        f"scored on FER2013 validation ({len(y):,})",
        "n": len(y),
        "accuracy": m["accuracy"],
        "weighted_f1": m["weighted_f1"],
        "macro_f1": m["macro_f1"],
        "per_class_f1": {k: v["f1"] for k, v in m["per_class"].items()},
        "ece_before": expected_calibration_error(softmax(logits), y),
        "ece_after": expected_calibration_error(softmax(logits, model.meta.temperature), y),
        "temperature": model.meta.temperature,
        "robustness": robustness,
        "size_mb": weights.stat().st_size / 1e6,
        "params": int(sum(p.numel() for p in model.module.parameters())),
        "latency_one_core": face_latency(folder, x[0]),
    }


def measure_text(data: Path, folder: Path) -> dict[str, Any]:
    """Dev figures of the text model in ``folder``, by its architecture: the fine-tuned one
    (the default) through ``predict_proba``; a ``text_head`` one via the feature store."""
    from emofuse.models.artifact import load_meta

    meta = load_meta(folder)
    training = meta.training
    if meta.architecture == "text_finetuned":
        from emofuse.models.bundled import find_text_export
        from emofuse.train.text_finetune_report import evaluate_finetuned

        out = evaluate_finetuned(folder, data)
        how = (
            "through predict_proba ("
            + ("network on onnxruntime" if find_text_export(folder) else "network on torch")
            + ") on MELD dev ({:,}, with dialogue context) and single-label GoEmotions Ekman "
        )
        how += "dev ({:,}, stand-alone)"
    else:
        from emofuse.train.text import evaluate_text

        out = evaluate_text(folder, data, cache_dir=ROOT / ".cache" / "emofuse")
        how = "MELD dev ({:,}) and single-label GoEmotions Ekman dev ({:,})"
    out["name"], out["architecture"] = meta.name, meta.architecture
    n_meld, n_goemo = out["meld_dev"]["n"], out["goemotions_dev"]["n"]
    out["protocol"] = (
        f"{meta.name}: trained on {training.get('data')}; selected on "
        f"{training.get('selection')}; scored " + how.format(n_meld, n_goemo)
    )
    return out


def measure_voice(data: Path, folder: Path, rerun_cv: bool, out: Path) -> dict[str, Any]:
    """The voice CV summary: re-run (``rerun_cv``) or as the recipe stored it in model.json."""
    meta = json.loads((folder / "model.json").read_text())
    if rerun_cv:
        from emofuse.train.voice import cross_validate_voice

        cv = cross_validate_voice(data / "ravdess", out / "voice_cv.json")
        return {"source": "re-run by bench/accuracy.py --voice-cv", **cv["summary"]}
    return {
        "source": "recorded in weights/voice/model.json by the recipe",
        **meta["metrics"]["cv"],
        "statement_holdout": meta["metrics"].get("statement_holdout"),
    }


#: held-out recording conditions of the voice CV (flat-key suffix -> description)
VOICE_CONDITIONS = {
    "snr20": "white noise, 20 dB SNR",
    "snr10": "white noise, 10 dB SNR",
    "telephone": "telephone band 300-3400 Hz through 8 kHz",
    "reverb": "reverb, synthetic room RT60 0.6 s",
    "mp3_16k": "MP3 16 kbit/s (codec not in training)",
    "gain_-26": "gain -26 dB",
}


def voice_rows(voice: dict[str, Any]) -> list[str]:
    """Robustness rows of the voice CV: clean, every recorded condition, the statement hold-out."""
    out = []
    for labels in ("canonical7", "native8"):
        v = voice[labels]
        out.append(_row(f"voice ({labels})", "clean", _pct(v["accuracy_mean"]), ""))
        for key, text in VOICE_CONDITIONS.items():
            acc = v.get(f"accuracy_{key}_mean")
            if acc is not None:
                out.append(_row(f"voice ({labels})", text, _pct(acc), _pt(acc, v["accuracy_mean"])))
    st = voice.get("statement_holdout")
    for labels, space in (("canonical7", "canonical"), ("native8", "native")) if st else ():
        same, other = st[space]["same"]["mean"], st[space]["other"]["mean"]
        out += [
            _row(
                f"voice ({labels})", "trained on statement 1, tested on statement 1", _pct(same), ""
            ),
            _row(
                f"voice ({labels})",
                "trained on statement 1, tested on statement 2 (held out)",
                _pct(other),
                _pt(other, same),
            ),
        ]
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pt(value: float, reference: float) -> str:
    return f"{100 * (value - reference):+.1f} pt"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _ece(m: dict[str, Any], suffix: str = "") -> tuple[str, str, str]:
    t = m.get("temperature")
    if isinstance(t, dict):  # one per domain (the fine-tuned text model)
        t = ", ".join(f"{k} {v:.2f}" for k, v in t.items())
    return (
        f"{m['ece_before' + suffix]:.3f}",
        f"{m['ece_after' + suffix]:.3f}",
        "" if t is None else t if isinstance(t, str) else f"{t:.2f}",
    )


def _met(value: float, target: float, higher: bool = True) -> str:
    return "yes" if (value >= target if higher else value <= target) else "no"


def headline(results: dict[str, Any]) -> list[str]:
    """When and where it was measured, and the table of every figure against its target."""
    face, voice, text = results["face"], results["voice"], results["text"]
    t = TARGETS
    lat = face["latency_one_core"]
    fastest = min(lat.values())
    rows = [
        (
            "face",
            "FER2013 validation accuracy",
            _pct(face["accuracy"]),
            f">= {_pct(t['face_accuracy'])}",
            _met(face["accuracy"], t["face_accuracy"]),
            REFERENCES["face"],
        ),
        (
            "face",
            "weights size",
            f"{face['size_mb']:.1f} MB",
            f"<= {t['face_size_mb']:.0f} MB",
            _met(face["size_mb"], t["face_size_mb"], higher=False),
            "",
        ),
        (
            "face",
            "ms per face, 1 core (flip TTA)",
            ", ".join(f"{k.removesuffix('_ms')} {v:.2f}" for k, v in lat.items()),
            f"<= {t['face_ms_per_face']:.0f} ms",
            _met(fastest, t["face_ms_per_face"], higher=False),
            "",
        ),
    ]
    for labels in ("native8", "canonical7"):
        v = voice[labels]
        rows.append(
            (
                "voice",
                f"RAVDESS 5-fold actor CV accuracy, {labels}",
                f"{_pct(v['accuracy_mean'])} ± {_pct(v['accuracy_std'])}",
                f">= {_pct(t['voice_cv_accuracy'])}",
                _met(v["accuracy_mean"], t["voice_cv_accuracy"]),
                REFERENCES["voice"] if labels == "canonical7" else "",
            )
        )
    meld, goemo = text["meld_dev"], text["goemotions_dev"]
    rows += [
        (
            "text",
            "MELD dev weighted F1",
            f"{meld['weighted_f1']:.3f}",
            f">= {t['meld_weighted_f1']}",
            _met(meld["weighted_f1"], t["meld_weighted_f1"]),
            REFERENCES["meld"],
        ),
        (
            "text",
            "GoEmotions Ekman dev macro F1",
            f"{goemo['macro_f1']:.3f}",
            f">= {t['goemotions_macro_f1']}",
            _met(goemo["macro_f1"], t["goemotions_macro_f1"]),
            REFERENCES["goemotions"],
        ),
    ]
    return [
        f"Measured by `python bench/accuracy.py` on {results['machine']} ({results['date']})"
        + "".join(
            f"; {m} re-measured ({when}, `--only {m}`)"
            for m, when in results.get("remeasured", {}).items()
        )
        + ".",
        "",
        "| model | figure | measured | target | met | reference (issue) |",
        "|---|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rows],
    ]


def render(results: dict[str, Any]) -> str:
    """The markdown report."""
    face, voice, text = results["face"], results["voice"], results["text"]
    out = [
        "# Accuracy of the bundled models",
        "",
        *headline(results),
        "",
        "## Protocols",
        "",
        f"- face: {face['protocol']}.",
        f"- voice: {voice['protocol']} ({voice['source']}).",
        f"- text: {text['protocol']}.",
        "",
        "## Calibration (expected calibration error, 15 bins)",
        "",
        "| model | data | before temperature | after temperature | T |",
        "|---|---|---|---|---|",
        _row("face", "FER2013 validation", *_ece(face)),
        _row("voice", "RAVDESS CV test folds (T cross-fitted)", *_ece(voice, "_mean")),
        _row("text", "MELD dev + GoEmotions dev", *_ece(text)),
        "",
        "## Robustness",
        "",
        "| model | condition | accuracy | change |",
        "|---|---|---|---|",
        _row("face", "clean", _pct(face["accuracy"]), ""),
        *[
            _row(
                "face", r["description"], _pct(r["accuracy"]), _pt(r["accuracy"], face["accuracy"])
            )
            for r in face["robustness"].values()
        ],
    ]
    out += voice_rows(voice)
    fusion = results["fusion"]
    fm = fusion["metrics"]
    weights = ", ".join(f"{k} {v:.2f}" for k, v in sorted(fusion["weights"].items()))
    out += [
        "",
        "## Late fusion (recorded in weights/fusion.json by `emofuse.train.fusion`)",
        "",
        f"Weights {weights}, tuned on {fusion['tuned_on']}. Scored {fm['protocol']}: "
        f"fused {_pct(fm['accuracy_fused'])} ± {_pct(fm['accuracy_fused_std'])} vs voice "
        f"{_pct(fm['accuracy_voice'])}, face {_pct(fm['accuracy_face'])}, text "
        f"{_pct(fm['accuracy_text'])} on the same triples.",
    ]
    out += [
        "",
        "## Per-class F1 (face, FER2013 validation)",
        "",
        "| " + " | ".join(face["per_class_f1"]) + " |",
        "|" + "---|" * len(face["per_class_f1"]),
        "| " + " | ".join(f"{v:.2f}" for v in face["per_class_f1"].values()) + " |",
    ]
    return "\n".join(out) + "\n"


def write_reports(out: Path, results: dict[str, Any]) -> None:
    """``accuracy.md`` and ``accuracy_table.md`` (the headline, for the README)."""
    from emofuse.utils.io import write_atomic

    write_atomic(out / "accuracy.md", render(results).encode())
    table = "\n".join(["# Accuracy of the bundled models (headline)", "", *headline(results)])
    write_atomic(out / "accuracy_table.md", (table + "\n").encode())


def main() -> None:
    import platform

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--voice-cv", action="store_true", help="re-run the voice 5-fold CV")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite accuracy.md from accuracy.json"
    )
    parser.add_argument(
        "--only",
        default=",".join(MODELS),
        help=f"models to re-measure ({', '.join(MODELS)}); the others keep accuracy.json's",
    )
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"error: data folder not found: {args.data}")
    args.out.mkdir(parents=True, exist_ok=True)
    from emofuse.utils.io import write_atomic

    if args.render_only:
        results = json.loads((args.out / "accuracy.json").read_text())
        write_reports(args.out, results)
        return
    only = [m.strip() for m in args.only.split(",") if m.strip()]
    if set(only) - set(MODELS):
        raise SystemExit(f"error: --only takes {', '.join(MODELS)}, not {args.only}")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    today = time.strftime("%Y-%m-%d")
    if set(only) == set(MODELS):
        results: dict[str, Any] = {"machine": machine, "date": today}
    else:  # keep the other models' figures, say which were re-measured when
        results = json.loads((args.out / "accuracy.json").read_text())
        results.setdefault("remeasured", {}).update({m: f"{today}, {machine}" for m in only})
        results.pop("text_ft", None)  # the fine-tuned model became "text"
        results["remeasured"].pop("text_ft", None)
    results["targets"] = TARGETS
    if "face" in only:
        results["face"] = measure_face(args.data, args.weights / "face")
        print(f"face: accuracy {results['face']['accuracy']:.4f}", flush=True)
    if "voice" in only:
        results["voice"] = measure_voice(args.data, args.weights / "voice", args.voice_cv, args.out)
    if "text" in only:
        results["text"] = measure_text(args.data, args.weights / "text")
        text = results["text"]
        print(
            f"text: MELD dev weighted F1 {text['meld_dev']['weighted_f1']:.4f}, "
            f"GoEmotions dev macro F1 {text['goemotions_dev']['macro_f1']:.4f}"
        )
    results["fusion"] = json.loads((args.weights / "fusion.json").read_text())
    write_atomic(args.out / "accuracy.json", json.dumps(results, indent=2, default=float).encode())
    write_reports(args.out, results)
    print(render(results))


if __name__ == "__main__":
    main()
