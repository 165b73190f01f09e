"""Copy the benchmark results into README.md, between ``<!-- bench:NAME -->`` markers.

Each marked block is replaced by ``bench/results/NAME.md`` without its title line, so the
README's performance tables are always the last benchmark run's (``make bench`` ends with
this). ``onnx`` is rendered from the exports' ``onnx.json`` files.

    python bench/readme.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def onnx_table() -> str:
    from emofuse.models.bundled import find_text_export
    from emofuse.models.onnx.runtime import INFO_FILE

    files = [ROOT / "src" / "emofuse" / "weights" / m / "onnx.json" for m in ("face", "voice")]
    text = find_text_export()
    if text is None:  # the README would lose its text rows: export first
        raise SystemExit("no current ONNX export of the text model: run `emofuse export-onnx`")
    files.append(text / INFO_FILE)
    lines = [
        "| network | batch | torch ms | onnxruntime ms | speed-up | auto uses |",
        "|---|---|---|---|---|---|",
    ]
    for path in files:
        info = json.loads(path.read_text())
        name = info.get("model", path.parent.name)
        for case, t in info["timings"].items():
            auto = info.get("backend_by_batch", {}).get(str(t.get("batch")), "onnx")
            lines.append(
                f"| {name} | {case} | {t['torch_ms']:.2f} | {t['onnx_ms']:.2f} "
                f"| {t['torch_ms'] / t['onnx_ms']:.1f}x | {auto} |"
            )
    return "\n".join(lines)


def block(name: str) -> str:
    if name == "onnx":
        return onnx_table()
    text = (RESULTS / f"{name}.md").read_text().strip().splitlines()
    return "\n".join(text[1:] if text and text[0].startswith("# ") else text).strip()


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    pattern = re.compile(r"(<!-- bench:(\w+) -->\n)(.*?)(<!-- /bench:\2 -->)", re.S)
    names = []

    def fill(m: re.Match) -> str:
        names.append(m.group(2))
        return f"{m.group(1)}{block(m.group(2))}\n{m.group(4)}"

    readme.write_text(pattern.sub(fill, text))
    print("updated README blocks:", ", ".join(names))


if __name__ == "__main__":
    main()
