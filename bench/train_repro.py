"""Short deterministic trainings of the bundled recipes: weight hashes and metrics, to diff.

A refactor of ``emofuse.train`` must not change what the recipes compute. Run this before
and after it and compare: every weight hash and metric should be identical (times and
progress fields are left out)::

    python bench/train_repro.py -o before.json           # on the old code
    python bench/train_repro.py -o after.json            # on the new code
    python bench/train_repro.py --compare before.json after.json

face: 2 epochs on 600 FER2013 images per split; voice: actors 1-3 with actor 4 for
selection (2 epochs), a 2-fold CV on actors 1-4 (1 epoch) and a fixed-epoch fit on actors
1-2; text: 300 texts per corpus and split, 3 epochs; fusion: the shipped face/text models
and voice CV, 300 items per pool. One torch thread. About 1.5 minutes on 2 idle cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "emofuse" / "weights"
VOLATILE = {"seconds", "train_seconds", "time_budget_s"}


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _artefact(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob("*.safetensors"))
    }
    out["model.json"] = _strip(json.loads((folder / "model.json").read_text()))
    return out


def run(data: Path, work: Path) -> dict[str, Any]:
    import torch

    from emofuse.train.face import evaluate_face, train_face
    from emofuse.train.fusion import tune_fusion
    from emofuse.train.text import evaluate_text, train_text
    from emofuse.train.voice import Recipe, cross_validate_voice, evaluate_voice, train_voice

    torch.set_num_threads(1)
    report: dict[str, Any] = {}
    fer, ravdess = data / "fer2013", data / "ravdess"
    info = train_face(fer, work / "face", epochs=2, limit=600, threads=1, progress=False)
    report["face"] = {
        "artefact": _artefact(work / "face"),
        "selected_epoch": info["selected_epoch"],
        "evaluate": evaluate_face(work / "face", fer, limit=300),
    }
    s = train_voice(ravdess, work / "voice", recipe=Recipe(epochs=2), train_actors=[1, 2, 3],
                    val_actors=[4], progress=False)  # fmt: skip
    cv_json = work / "cv" / "cv.json"
    cross_validate_voice(ravdess, cv_json, recipe=Recipe(epochs=1, n_variants=2), folds=2,
                         actors=[1, 2, 3, 4], progress=False)  # fmt: skip
    train_voice(ravdess, work / "voice_all", recipe=Recipe(epochs=1, n_variants=2, seed=1),
                train_actors=[1, 2], progress=False, cv_json=cv_json)  # fmt: skip
    report["voice"] = {
        "artefact": _artefact(work / "voice"),
        "best_epoch": s["best_epoch"],
        "cv": _strip(json.loads(cv_json.read_text())),
        "artefact_all": _artefact(work / "voice_all"),
        "evaluate": evaluate_voice(work / "voice", ravdess, actors=[4], snr_db=10.0),
    }
    train_text(data, work / "text", limit=300, epochs=3, cache_dir=work / "cache", progress=False)
    report["text"] = {
        "artefact": _artefact(work / "text"),
        "evaluate": evaluate_text(work / "text", data, limit=300),
        "evaluate_cached": evaluate_text(work / "text", data, cache_dir=work / "cache", limit=300),
    }
    weights = work / "weights"
    for m in ("face", "text"):
        shutil.copytree(WEIGHTS / m, weights / m)
    (weights / "voice").mkdir(parents=True)
    shutil.copy(WEIGHTS / "voice" / "cv.json", weights / "voice" / "cv.json")
    tune_fusion(weights, data, weights / "voice" / "cv.json", limit=300)
    report["fusion"] = json.loads((weights / "fusion.json").read_text())
    return report


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two reports differ (``only in`` one, or different values)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'second' if k not in a else 'first'}")
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {str(a)[:60]} != {str(b)[:60]}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("-o", "--out", type=Path, default=Path("train_repro.json"))
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = parser.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        diff = differences(a, b)
        print("\n".join(diff) if diff else "identical")
        sys.exit(1 if diff else 0)
    if not args.data.is_dir():
        raise SystemExit(f"error: data folder not found: {args.data}")
    with tempfile.TemporaryDirectory() as work:
        report = run(args.data, Path(work))
    args.out.write_text(json.dumps(report, indent=1, sort_keys=True, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
