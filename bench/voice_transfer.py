"""Voice recipe transfer runs (issue 16): actor CV with recording conditions + statement hold-out.

Fold by fold, for one recipe: the actor-independent CV folds (clean, white noise at 20/10 dB,
telephone, reverb, MP3 16 kbit/s, -26 dB), then the statement hold-out folds (train on
statement 1 of the other actors). Resumable: rerun the same command after a kill::

    OMP_NUM_THREADS=1 nice -n 10 python bench/voice_transfer.py baseline -o runs/voice16
    OMP_NUM_THREADS=1 nice -n 10 python bench/voice_transfer.py transfer -o runs/voice16
    python bench/voice_transfer.py transfer -o runs/voice16 --no-mixup --epochs 15 --folds 1,2
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from emofuse.train.voice_cv import cross_validate_voice
from emofuse.train.voice_data import CONDITIONS
from emofuse.train.voice_recipe import TRANSFER_RECIPE, Recipe
from emofuse.train.voice_transfer import statement_holdout_voice

OFF = {"mixup": 0.0, "pitch_semitones": 0.0, "reverb_p": 0.0, "band_p": 0.0, "codec_p": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", choices=["baseline", "transfer"])
    parser.add_argument("-o", "--out", type=Path, default=Path("runs/voice16"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ravdess"))
    parser.add_argument("--folds", default="1,2,3,4,5", help="folds to run (1-based)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--without", default="", help="comma list of additions to switch off")
    parser.add_argument("--no-statement", action="store_true")
    parser.add_argument("--name", default=None, help="run name (default: recipe[-without])")
    parser.add_argument("--gain-dbfs", type=float, default=None, help="gain_norm to this level")
    parser.add_argument("--seed", type=int, default=None, help="recipe seed (default: 0)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    fields = dict(TRANSFER_RECIPE) if args.recipe == "transfer" else {}
    for name in filter(None, args.without.split(",")):
        fields[name] = False if name == "gain_norm" else OFF[name]
    if args.epochs:
        fields["epochs"] = args.epochs
    if args.gain_dbfs is not None:
        fields.update(gain_norm=True, gain_dbfs=args.gain_dbfs)
    if args.seed is not None:
        fields["seed"] = args.seed
    recipe = Recipe(**fields)
    gain = f"gain{args.gain_dbfs:g}" if args.gain_dbfs is not None else ""
    seed = f"seed{args.seed}" if args.seed is not None else ""
    parts = [args.recipe, args.without.replace(",", "-"), gain, seed]
    name = args.name or "-".join(filter(None, parts))
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    folds = [int(f) for f in args.folds.split(",")]
    for k in folds:  # every CV fold first: the headline figure, then the statement hold-out
        cross_validate_voice(
            args.data,
            out / "cv.json",
            recipe=recipe,
            only_folds=[k],
            conditions=list(CONDITIONS),
            progress=False,
        )
    for k in folds if not args.no_statement else []:
        statement_holdout_voice(
            args.data, out / "statement.json", recipe=recipe, only_folds=[k], progress=False
        )


if __name__ == "__main__":
    main()
