"""``emofuse train-default``: retrain the three bundled models, then tune fusion.

The text model is the fine-tuned one (:mod:`.text_finetune`, about an hour on 2 cores);
the lighter frozen-embedding recipe (:mod:`.text`, minutes) trains a ``text_head`` model
that loads the same way, for a model folder of one's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

from ..errors import DataError, UsageError
from ..models.bundled import DEFAULT_WEIGHTS

STEPS = ("face", "voice", "text", "fusion")
#: the shipped text model's recipe (``weights/text/MODEL_CARD.md``); other settings: defaults
TEXT_SETTINGS = {"epochs": 2, "goemotions_per_epoch": 10_000, "lora_r": 32, "lora_alpha": 64.0}
#: what is not shipped: the text recipe's resumable stages (frozen-block cache ~0.9 GB,
#: checkpoints) and embeddings, the voice ensemble members' CVs (with fold networks) and finals
WORK_DIR = Path(".cache/emofuse")


def train_default(
    data_root: Path, out_dir: Path | None = None, only: Iterable[str] = STEPS
) -> dict:
    """Train the chosen steps from ``data_root`` (the shared data layout) into ``out_dir``."""
    steps = [s.strip() for s in only if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        raise UsageError(f"unknown step(s) {unknown}; choose from {', '.join(STEPS)}")
    data_root, out_dir = Path(data_root), Path(out_dir or DEFAULT_WEIGHTS)
    if not data_root.is_dir():
        raise DataError(f"data folder not found: {data_root}")
    console = Console(stderr=True)
    report = {}
    if "face" in steps:
        from .face import SHIPPED_SETTINGS, train_face

        console.rule("face: FER2013")
        report["face"] = train_face(data_root / "fer2013", out_dir / "face", **SHIPPED_SETTINGS)
    voice_cv = out_dir / "voice" / "cv.json"
    if "voice" in steps:
        from .voice_ensemble import train_ensemble

        console.rule("voice: RAVDESS 5-fold actor CV of the ensemble's recipes, then all 20 actors")
        report["voice"] = train_ensemble(
            data_root / "ravdess", out_dir / "voice", WORK_DIR / "runs" / "voice"
        )
    if "text" in steps:
        from .text_finetune import FinetuneSettings, train_text_finetune

        console.rule("text: MiniLM fine-tuned (LoRA, dialogue context) on MELD + GoEmotions")
        report["text"] = train_text_finetune(
            data_root,
            out_dir / "text",
            WORK_DIR / "runs" / "text",
            FinetuneSettings.from_dict(TEXT_SETTINGS),
            cache_dir=WORK_DIR,
        )
    if "fusion" in steps:
        from .fusion import tune_fusion

        console.rule("late fusion weights")
        report["fusion"] = tune_fusion(out_dir, data_root, voice_cv)
        console.print(report["fusion"])
    return report
