"""Training speed of the face network under bfloat16 autocast vs float32, one CPU thread.

Times forward + backward + AdamW step on a batch of 128 random 48x48 crops, alternating the
two precisions in warmed-up blocks so load changes hit both; writes bench/results/face_bf16.md.

    python bench/face_bf16.py
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch

from emofuse.models.face_cnn import FaceCNN, FaceCNNConfig
from emofuse.train.face import SHIPPED_SETTINGS
from emofuse.utils.io import write_atomic

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = {"previous (1-1-1-1-1)": {}, "shipped (1-2-2-2-1)": SHIPPED_SETTINGS["config"]}


def step_ms(net: torch.nn.Module, bf16: bool, steps: int = 5) -> float:
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
    x = torch.randn(128, 1, 48, 48).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (128,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits.float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps * 1e3


def main() -> None:
    torch.set_num_threads(1)
    rows = {}
    for name, config in NETWORKS.items():
        net = FaceCNN(FaceCNNConfig(**config)).to(memory_format=torch.channels_last)
        times: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for _ in range(3):  # alternating blocks
            times["fp32"].append(step_ms(net, False))
            times["bf16"].append(step_ms(net, True))
        med = {k: statistics.median(v) for k, v in times.items()}
        rows[name] = {**med, "ratio": med["bf16"] / med["fp32"]}
        print(name, rows[name], flush=True)
    lines = [
        "# Face training step: bfloat16 autocast vs float32",
        "",
        "One CPU thread, batch 128, forward + backward + AdamW step, median of 3 alternating "
        "blocks of 5 steps (`python bench/face_bf16.py`).",
        "",
        "| network | fp32 ms | bf16 ms | bf16 / fp32 |",
        "|---|---|---|---|",
        *[
            f"| {n} | {r['fp32']:.0f} | {r['bf16']:.0f} | {r['ratio']:.2f} |"
            for n, r in rows.items()
        ],
    ]
    out = ROOT / "bench" / "results"
    write_atomic(out / "face_bf16.md", ("\n".join(lines) + "\n").encode())
    write_atomic(out / "face_bf16.json", json.dumps(rows, indent=2).encode())


if __name__ == "__main__":
    main()
