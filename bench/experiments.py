"""Run the research recipes on ../shared/data and refresh docs/experiments.md from their runs.

    python bench/experiments.py                       # recipes (a)-(c) into runs/, then docs
    python bench/experiments.py --only meld_text      # one recipe
    python bench/experiments.py --docs-only           # rebuild the docs from finished runs

Each run is ``emofuse train recipes/<name>.yaml -o runs/<name> --data ../shared/data`` (it
resumes when interrupted). The docs get the runs' Markdown tables between
``<!-- BEGIN <name>/<table> -->`` and ``<!-- END <name>/<table> -->`` markers, a line of
run facts under ``<!-- BEGIN <name>/facts -->``, and the plots copied to
``docs/experiments/<name>/`` (plots and tables only: never data).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

RECIPES = ("paired_fusion", "meld_text", "emobank_vad")
DOC = ROOT / "docs" / "experiments.md"


def run(name: str, data: Path, runs: Path) -> float:
    from emofuse.experiments import Recipe, run_experiment

    recipe = Recipe.read(ROOT / "recipes" / f"{name}.yaml", {"data_root": str(data.resolve())})
    started = time.perf_counter()
    run_experiment(recipe, runs / name, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - started
    print(f"{name}: {seconds:.0f} s", flush=True)
    return seconds


def facts(run_dir: Path) -> str:
    m = json.loads((run_dir / "metrics.json").read_text())
    p = m["protocol"]
    protocol = p["name"] + (f", k={p['k']} by {p['group']}" if p["name"] == "group_kfold" else "")
    return (
        f"{m['data']['items']} items; protocol {protocol} ({len(m['folds'])} folds); "
        f"headline {m['headline']}; wall time {m['seconds_total'] / 60:.1f} min on this shared "
        "2-core machine (every finished invocation, cached features included)."
    )


def refresh_docs(runs: Path, names: tuple[str, ...]) -> None:
    text = DOC.read_text()
    for name in names:
        run_dir = runs / name
        if not (run_dir / "metrics.json").is_file():
            print(f"skip {name}: no finished run in {run_dir}")
            continue
        blocks = {"facts": facts(run_dir)}
        for table in sorted((run_dir / "tables").glob("*.md")):
            blocks[table.stem] = table.read_text().strip()
        for key, body in blocks.items():
            pattern = re.compile(
                rf"(<!-- BEGIN {name}/{key} -->\n).*?(\n<!-- END {name}/{key} -->)", re.S
            )
            text = pattern.sub(lambda mt, b=body: mt.group(1) + b + mt.group(2), text)
        target = ROOT / "docs" / "experiments" / name
        target.mkdir(parents=True, exist_ok=True)
        for png in sorted((run_dir / "plots").glob("*.png")):
            shutil.copyfile(png, target / png.name)
    DOC.write_text(text)
    print(f"wrote {DOC}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--only", nargs="*", choices=RECIPES, default=list(RECIPES))
    parser.add_argument("--docs-only", action="store_true")
    args = parser.parse_args()
    if not args.docs_only:
        for name in args.only:
            run(name, args.data, args.runs)
    refresh_docs(args.runs, tuple(args.only))


if __name__ == "__main__":
    main()
