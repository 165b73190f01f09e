"""Cold start of each command: wall time, CPU time and peak memory of a fresh process.

Each command runs as a new process, interleaved round by round with the baselines, so a
busy machine slows all of them alike; every figure is the median over the rounds (peak
memory: the largest). Baselines, measured in the same run:
  * ``python -c "import sentence_transformers"``: what the text path cost before (it
    imported torch, transformers and scipy);
  * ``python -c "pass"``: the interpreter alone.

    python bench/startup.py [--rounds 5]

Writes bench/results/startup.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
BASELINE = "baseline: import sentence_transformers"


def measure(cmd: list[str]) -> dict[str, float]:
    """Wall s, CPU s (user + system) and peak RSS (MiB) of one run of ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def commands() -> dict[str, list[str]]:
    py, cli = sys.executable, [sys.executable, "-m", "emofuse"]
    out = {
        BASELINE: [py, "-c", "import sentence_transformers"],
        "baseline: python -c pass": [py, "-c", "pass"],
        "emofuse --help": [*cli, "--help"],
        "emofuse info": [*cli, "info"],
        'emofuse analyze --text "hello"': [*cli, "analyze", "--text", "hello"],
    }
    clip = SAMPLES / "four_emotions.mp4"
    if clip.is_file():
        out["emofuse analyze clip.mp4 --transcript clip.srt"] = [
            *cli,
            "analyze",
            str(clip),
            "--transcript",
            str(clip.with_suffix(".srt")),
            "--format",
            "json",
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from emofuse.models.bundled import find_text_export

    exported = find_text_export() is not None
    cmds = commands()
    for cmd in cmds.values():  # warm the page cache: cold = a new process, not a cold disk
        measure(cmd)
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in cmds}
    for _ in range(args.rounds):
        for name, cmd in cmds.items():
            runs[name].append(measure(cmd))
    rows = {
        name: {
            "wall_s": round(statistics.median(r["wall_s"] for r in rs), 3),
            "cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 3),
            "peak_rss_mib": round(max(r["rss_mib"] for r in rs), 1),
        }
        for name, rs in runs.items()
    }
    base = rows[BASELINE]
    for row in rows.values():
        row["wall_vs_baseline"] = round(row["wall_s"] / base["wall_s"], 3)
        row["cpu_vs_baseline"] = round(row["cpu_s"] / base["cpu_s"], 3)
    text = rows['emofuse analyze --text "hello"']
    result = {
        "rounds": args.rounds,
        "text_onnx_export": exported,
        "load_average": os.getloadavg()[0],
        "rows": rows,
        "goal": {
            "analyze_text_wall_vs_baseline": text["wall_vs_baseline"],
            "target_ratio": 0.15,
            "analyze_text_peak_rss_mib": text["peak_rss_mib"],
            "target_rss_mib": 250,
        },
    }
    lines = [
        "# Cold start per command (fresh process; median of "
        f"{args.rounds} interleaved rounds, peak RSS: the largest)",
        "",
        "Text model ONNX export present: "
        f"{'yes' if exported else 'no (text falls back to torch)'}; "
        f"load average at the end: {result['load_average']:.1f} on {os.cpu_count()} cores.",
        "",
        "| command | wall s | CPU s | peak RSS MiB | wall vs baseline | CPU vs baseline |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mib']:.0f} "
            f"| {r['wall_vs_baseline']:.3f} | {r['cpu_vs_baseline']:.3f} |"
        )
    lines += [
        "",
        f"Goal: cold `analyze --text` under 0.15x the baseline and under 250 MiB: measured "
        f"{text['wall_vs_baseline']:.3f}x wall ({text['cpu_vs_baseline']:.3f}x CPU), "
        f"{text['peak_rss_mib']:.0f} MiB.",
    ]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup.md").write_text("\n".join(lines) + "\n")
    (out / "startup.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
