"""Recipe for the fine-tuned text model: MiniLM + LoRA, multi-task on MELD and GoEmotions.

Protocol (as :mod:`emofuse.train.text`): MELD train and GoEmotions (Ekman) train are split
into a fitting part and a holdout (MELD: 10% of the dialogues; GoEmotions: 10% of the
comments; seeded). The network trains on the fitting part only. Every choice is made on
the holdout: the epoch (by the mean of MELD weighted F1 and GoEmotions macro F1, after the
per-domain logit bias), then per domain the weight of the TF-IDF branch, the per-class
logit bias and the temperature (:mod:`.text_finetune_select`). MELD dev and single-label
GoEmotions dev are scored once, at the end, next to a logistic regression on the frozen
MiniLM embeddings fitted and selected the same way (:mod:`.text_finetune_report`).

The network trains in the shared loop (:func:`emofuse.train.loop.fit`): a checkpoint of
the trained delta, optimiser, schedule and random state after every epoch, resumed after
an interruption (even ``kill -9``). The frozen blocks' output is computed once and kept
in the run folder (:mod:`.text_finetune_cache`), as are the later stages' results::

    nice -n 19 python -m emofuse.train.text_finetune --data ../shared/data \\
        --out artifacts/text_ft --run-dir runs/text_ft --set epochs=2 --set lora_r=32
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import DataError, EmofuseError
from ..labels import CANONICAL
from ..utils.config import Config, parse_set_options
from .text_data import load_text_corpora
from .text_finetune_cache import Feeder, load_arrays, save_arrays
from .text_finetune_data import eval_sets, make_items, prepare_rows

log = logging.getLogger(__name__)


@dataclass
class FinetuneSettings(Config):
    """Hyperparameters of one run (all recorded in ``model.json``)."""

    runtime_fields: ClassVar[tuple[str, ...]] = ("threads", "lexical")

    seed: int = 0
    epochs: int = 6
    goemotions_per_epoch: int = 12_000  # GoEmotions comments per epoch (cycling through all)
    meld_per_epoch: int = 0  # 0: every MELD fitting utterance, every epoch
    batch_size: int = 32
    lr: float = 1e-3
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_grad_norm: float = 1.0
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    context_dropout: float = 0.1  # MELD items trained without their previous utterance
    lora_r: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.0
    encoder_dropout: float = 0.0
    head_dropout: float = 0.1
    max_tokens: int = 64
    max_context_tokens: int = 32
    frozen_layers: int = 3  # bottom blocks kept as the base (their output cached once)
    lexical: bool = True  # add the TF-IDF branch where the holdout says it helps
    holdout: float = 0.1
    multilabel: str = "soft"
    threads: int = 2
    eval_batch_size: int = 64

    def fingerprint(self) -> str:
        """Hash of what defines the trained network (not the runtime knobs)."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:16]


# --- training --------------------------------------------------------------------------


def _optimizer(net, s: FinetuneSettings, total_steps: int):
    """AdamW (adapters with weight decay, norms without, head at its own rate), warm-up then
    linear decay per step, and gradient clipping before every step."""
    import torch

    head, decay, no_decay = [], [], []
    for n, p in net.named_parameters():
        if n.startswith(("classifier", "domain_bias")):
            head.append(p)
        else:
            (decay if "lora_" in n else no_decay).append(p)
    opt = torch.optim.AdamW([
        {"params": decay, "lr": s.lr, "weight_decay": s.weight_decay},
        {"params": no_decay, "lr": s.lr, "weight_decay": 0.0},
        {"params": head, "lr": s.head_lr, "weight_decay": s.weight_decay},
    ])  # fmt: skip
    params = [p for p in net.parameters() if p.requires_grad]

    def clip(*_: Any) -> None:
        torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)

    opt.register_step_pre_hook(clip)
    warm = max(1, round(s.warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def fit_network(net, feeder: Feeder, rows, s: FinetuneSettings, run_dir: Path, progress: bool):
    """Train ``net`` in the shared loop (resuming from ``run_dir``); on return it holds the
    best epoch's delta. Returns the fit result and that epoch's holdout logits."""
    import torch

    from .loop import fit
    from .text_finetune_data import class_weights, epoch_batches
    from .text_finetune_select import holdout_scores

    weights = class_weights(rows, s.class_weight_power)
    plan = [epoch_batches(rows, s, e) for e in range(s.epochs)]
    steps = max(len(p) for p in plan)
    opt, sched = _optimizer(net, s, s.epochs * steps)
    hold = eval_sets(rows, rows["hold"])
    hold_y = {k: rows["label"][v] for k, v in hold.items()}
    n_cls, smoothing = len(CANONICAL), s.label_smoothing

    def batches(epoch: int):
        for b, idx in enumerate(plan[epoch - 1]):
            draw = np.random.default_rng([s.seed, epoch - 1, b]).random(len(idx))
            drop = rows["meld"][idx] & (draw < s.context_dropout)
            y = torch.as_tensor(rows["targets"][idx]) * (1 - smoothing) + smoothing / n_cls
            yield idx, drop, torch.as_tensor(weights[idx]), y

    def loss(model, batch) -> torch.Tensor:
        idx, drop, w, y = batch
        logp = torch.log_softmax(feeder.train_logits(idx, drop), dim=1)
        return (-(y * logp).sum(1) * w).sum() / w.sum()

    def evaluate(model, epoch: int) -> dict[str, Any]:
        z = feeder.holdout_logits()
        save_arrays(run_dir / f"holdout-{s.fingerprint()}-e{epoch}.npz", z)
        scores = holdout_scores(z, hold_y)
        return {"score": scores["objective"], **scores}

    result = fit(net, batches, loss, optimizer=opt, epochs=s.epochs, steps_per_epoch=steps,
                 schedule=sched, evaluate=evaluate, checkpoint=run_dir / "checkpoint",
                 signature={"settings": s.identity(), "rows": int(rows["fit"].sum()),
                            "base": net.config.base_sha256},
                 threads=s.threads, progress=progress, name="text fine-tuning", unit="texts",
                 items_per_epoch=len(np.concatenate(plan[0])) if plan[0] else 0)  # fmt: skip
    if result.best_epoch is None:
        raise DataError("no training rows: nothing to fine-tune on")
    return result, load_arrays(run_dir / f"holdout-{s.fingerprint()}-e{result.best_epoch}.npz")


# --- the recipe ------------------------------------------------------------------------


def train_text_finetune(
    data_root: Path,
    out_dir: Path,
    run_dir: Path,
    settings: FinetuneSettings | None = None,
    *,
    base: str | Path = "minilm",
    limit: int | None = None,
    cache_dir: Path = Path(".cache/emofuse"),
    baseline: bool = True,
    baseline_encoder: Any = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train, select, calibrate, evaluate and save into ``out_dir``; return the metadata.

    ``base``: ``"minilm"`` (the packaged weights) or a BERT folder. Stages, each resumable
    from ``run_dir``: the frozen blocks' output, training (``checkpoint/``), the network's
    dev logits, the TF-IDF branch (``lexical/``); selection and the report are cheap.
    ``baseline_encoder``: the frozen encoder of the baseline (default ``minilm``),
    embedded through the feature store under ``cache_dir``.
    """
    import torch

    from ..models.text_base import base_folder, base_identity, load_tokenizer
    from ..models.text_finetuned_net import FineTunedConfig, FineTunedTextNet
    from .text_finetune_report import finalize, fit_lexical
    from .threads import torch_threads

    s = settings or FinetuneSettings()
    started = time.time()
    run_dir = Path(run_dir)
    folder = base_folder(str(base))
    identity = base_identity(folder)
    config = FineTunedConfig(
        lora_r=s.lora_r, lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout,
        encoder_dropout=s.encoder_dropout, frozen_layers=s.frozen_layers,
        head_dropout=s.head_dropout, max_tokens=s.max_tokens,
        max_context_tokens=s.max_context_tokens, base=str(base), base_sha256=identity["sha256"],
    )  # fmt: skip
    with torch_threads(max(1, s.threads)):
        torch.manual_seed(s.seed)
        net = FineTunedTextNet(config)
        tokenizer = load_tokenizer(folder)
        df = load_text_corpora(Path(data_root), limit, s.seed)
        rows = prepare_rows(df, s)
        n_train = sum(p.numel() for p in net.parameters())
        log.info("%d fitting rows, %d holdout, %d dev; %s trainable parameters",
                 rows["fit"].sum(), rows["hold"].sum(), rows["dev"].sum(),
                 f"{n_train:,}")  # fmt: skip
        feeder = Feeder(net, tokenizer, rows, eval_sets(rows, rows["hold"]), s, run_dir, progress)
        result, hold_logits = fit_network(net, feeder, rows, s, run_dir, progress)
        logits = network_logits(net, tokenizer, rows, s, run_dir, result.best_epoch, hold_logits)
    lexical = fit_lexical(rows, run_dir) if s.lexical else None
    return finalize(net, tokenizer, df, rows, s, result, logits, lexical, identity, out_dir,
                    run_dir, cache_dir=cache_dir, baseline=baseline,
                    baseline_encoder=baseline_encoder, started=started)  # fmt: skip


def network_logits(net, tokenizer, rows, s, run_dir: Path, epoch: int, hold: dict) -> dict:
    """Raw network logits: holdout (the best epoch's), dev with context, MELD dev without.

    Dev goes through the whole network in float32, exactly as the saved model computes it;
    saved in ``run_dir`` (keyed by the settings and the epoch) and reused on a rerun.
    """
    from ..models.text_finetuned_inputs import batched_logits

    path = run_dir / f"logits-{s.fingerprint()}-e{epoch}.npz"
    if path.is_file():
        return load_arrays(path)
    dev = eval_sets(rows, rows["dev"])
    out = {f"hold_{k}": v for k, v in hold.items()}
    pad, t0 = tokenizer.pad_token_id or 0, time.time()
    for k, v in dev.items():
        items = make_items(tokenizer, rows, v, net.config)
        out[f"dev_{k}"] = batched_logits(net, items, s.eval_batch_size, pad)
    log.info("dev logits: %d texts in %.0f s", sum(map(len, dev.values())), time.time() - t0)
    no_ctx = make_items(tokenizer, rows, dev["meld"], net.config, np.ones(len(dev["meld"]), bool))
    out["dev_meld_nocontext"] = batched_logits(net, no_ctx, s.eval_batch_size, pad)
    save_arrays(path, out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m emofuse.train.text_finetune",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, default=Path("artifacts/text_ft"))
    p.add_argument("--run-dir", type=Path, default=Path("runs/text_ft"))
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/emofuse"))
    p.add_argument("--base", default="minilm", help="base BERT folder (default: the package)")
    p.add_argument("--limit", type=int, default=None, help="rows per corpus and split (smoke)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a FinetuneSettings field, e.g. --set epochs=2 (repeatable)",
    )
    p.add_argument("--no-baseline", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
    try:
        s = FinetuneSettings.from_dict(parse_set_options(a.set))
        train_text_finetune(a.data, a.out, a.run_dir, s, base=a.base, limit=a.limit,
                            cache_dir=a.cache_dir, baseline=not a.no_baseline)  # fmt: skip
    except EmofuseError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
