"""The fine-tuned text model (``weights/text``, the default) end to end: dev figures through
``predict_proba`` (the shipped path: normalisation, tokenisation, network, TF-IDF branch,
per-domain bias and temperature) and its speed, on this machine as it is loaded.

    nice -n 5 python bench/text_ft.py --threads 1 [--onnx]

Writes ``bench/results/text_ft.json`` and ``text_ft.md``. MELD dev is read with each
utterance's earlier turns as context, single-label GoEmotions (Ekman) dev without.
``--onnx`` also exports the network with its adapters merged
(:mod:`emofuse.models.onnx.finetuned_export`, into memory only), and measures the same
figures with the network on onnxruntime, the largest probability difference to torch and
the speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def speed(model, texts, history, sample) -> dict:
    """Texts/s in calls of 32 MELD utterances with context; ms for one utterance per call."""
    t0 = time.perf_counter()
    for s in range(0, len(sample), 32):
        part = sample[s : s + 32]
        model.predict_proba([texts[i] for i in part], [history[i] for i in part])
    out = {"batched_texts_per_second": round(len(sample) / (time.perf_counter() - t0), 1)}
    t0 = time.perf_counter()
    for i in sample[:64]:  # one text at a time (a live transcript)
        model.predict_proba([texts[i]], [history[i]])
    out["single_text_ms"] = round(1000 * (time.perf_counter() - t0) / min(64, len(sample)), 1)
    return out


def measure_onnx(model, data: Path, threads: int, texts, history, sample) -> dict:
    """The same figures with the network on onnxruntime (exported in memory)."""
    import numpy as np

    from emofuse.models.onnx.finetuned_export import export_finetuned
    from emofuse.models.onnx.runtime import make_session
    from emofuse.train.text_finetune_report import evaluate_finetuned

    t0 = time.perf_counter()
    onnx_bytes, diff = export_finetuned(model.net)
    out: dict = {"export_seconds": round(time.perf_counter() - t0, 1),
                 "onnx_mb": round(len(onnx_bytes) / 1e6, 1),
                 "parity_max_abs_logit_diff": diff}  # fmt: skip
    batch = [texts[i] for i in sample], [history[i] for i in sample]
    torch_p = model.predict_proba(*batch)
    model.session = make_session(onnx_bytes, threads=threads)
    out["max_abs_probability_diff_vs_torch"] = float(
        np.abs(model.predict_proba(*batch) - torch_p).max()
    )
    t0 = time.perf_counter()
    metrics = evaluate_finetuned(Path(), data, model=model)
    n = metrics["meld_dev"]["n"] + metrics["goemotions_dev"]["n"]
    out["dev_texts_per_second"] = round(n / (time.perf_counter() - t0), 1)
    out.update(metrics)
    out.update(speed(model, texts, history, sample))
    model.session = None
    return out


def measure(model_dir: Path, data: Path, threads: int, speed_texts: int, onnx: bool) -> dict:
    import numpy as np
    import torch

    from emofuse.models.text_finetuned import FineTunedTextModel
    from emofuse.train.text_data import load_text_corpora, previous_texts
    from emofuse.train.text_finetune_report import evaluate_finetuned

    torch.set_num_threads(threads)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    model = FineTunedTextModel.load(model_dir, backend="torch")  # --onnx: in-memory export
    out: dict = {"model": str(model_dir), "threads": threads,
                 "load_seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    t0 = time.perf_counter()
    metrics = evaluate_finetuned(model_dir, data, model=model)
    n = metrics["meld_dev"]["n"] + metrics["goemotions_dev"]["n"]
    out["dev_texts_per_second"] = round(n / (time.perf_counter() - t0), 1)
    out.update(metrics)
    df = load_text_corpora(data)
    df = df[df["split"].eq("dev") & df["corpus"].eq("meld")].reset_index(drop=True)
    history, texts = previous_texts(df), df["text"].tolist()
    sample = np.arange(min(speed_texts, len(df)))
    out.update(speed(model, texts, history, sample))
    if onnx:
        out["onnx"] = measure_onnx(model, data, threads, texts, history, sample)
    out["load_average"] = {"before": [round(x, 2) for x in load_before],
                           "after": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    return out


def render(r: dict) -> str:
    meld, goemo = r["meld_dev"], r["goemotions_dev"]
    la = r["load_average"]
    return "\n".join([
        "# Fine-tuned text model (weights/text), dev through predict_proba",
        "",
        f"Measured by `python bench/text_ft.py` on {r['machine']} ({r['date']}), torch threads "
        f"{r['threads']}, 1-min load average {la['before'][0]} before, {la['after'][0]} after "
        "(the CPU was shared with other jobs).",
        "",
        "| set | n | weighted F1 | macro F1 | accuracy | ECE before T | ECE after T |",
        "|---|---|---|---|---|---|---|",
        *[f"| {name} | {m['n']:,} | {m['weighted_f1']:.4f} | {m['macro_f1']:.4f} | "
          f"{m['accuracy']:.4f} | {m['ece_before']:.4f} | {m['ece_after']:.4f} |"
          for name, m in (("MELD dev (with context)", meld),
                          ("GoEmotions-Ekman dev, single-label", goemo))],
        "",
        f"Pooled ECE {r['ece_before']:.4f} before, {r['ece_after']:.4f} after the per-domain "
        f"temperatures. Load {r['load_seconds']} s (base + delta + TF-IDF); dev in large calls "
        f"{r['dev_texts_per_second']} texts/s; calls of 32 MELD utterances with context "
        f"{r['batched_texts_per_second']} texts/s; one utterance per call "
        f"{r['single_text_ms']} ms.",
    ]) + (render_onnx(r["onnx"]) if "onnx" in r else "") + "\n"  # fmt: skip


def render_onnx(o: dict) -> str:
    meld, goemo = o["meld_dev"], o["goemotions_dev"]
    return (
        "\n\nWith the network exported to ONNX (adapters merged, "
        f"{o['onnx_mb']} MB, exported in {o['export_seconds']} s, max |logit difference| "
        f"{o['parity_max_abs_logit_diff']:.1e} on the parity batches) and run on onnxruntime: "
        f"MELD dev weighted F1 {meld['weighted_f1']:.4f}, GoEmotions dev macro F1 "
        f"{goemo['macro_f1']:.4f}, pooled ECE {o['ece_after']:.4f}; largest probability "
        "difference to torch on the timed utterances "
        f"{o['max_abs_probability_diff_vs_torch']:.1e}; "
        f"dev {o['dev_texts_per_second']} texts/s, calls of 32 {o['batched_texts_per_second']} "
        f"texts/s, one utterance per call {o['single_text_ms']} ms."
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "src" / "emofuse" / "weights" / "text")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--speed-texts", type=int, default=512)
    p.add_argument("--onnx", action="store_true", help="also measure the network on onnxruntime")
    a = p.parse_args()
    if not a.data.is_dir():
        raise SystemExit(f"error: data folder not found: {a.data}")
    from emofuse.utils.io import write_atomic

    r = measure(a.model, a.data, a.threads, a.speed_texts, a.onnx)
    r["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    r["date"] = time.strftime("%Y-%m-%d")
    write_atomic(a.out / "text_ft.json", json.dumps(r, indent=1, default=float).encode())
    write_atomic(a.out / "text_ft.md", render(r).encode())
    print(render(r))


if __name__ == "__main__":
    main()
