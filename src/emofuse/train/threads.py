"""Torch thread counts for training on a shared machine.

On a busy machine one thread often beats oversubscribed ones; on an idle one, all threads
win. :class:`ThreadTuner` times a few steps with each every ``period`` steps and keeps the
faster (thread counts can change float rounding: pin them for bit-for-bit runs).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import torch


class ThreadTuner:
    """Every ``period`` steps, time a few steps with 1 and with all threads; keep the faster.

    ``fixed`` pins the count instead; ``off`` leaves torch's setting alone.
    """

    def __init__(self, fixed: int | None, period: int = 120, probes: int = 3, off: bool = False):
        self.off = off
        self.choices = [fixed] if fixed else sorted({1, os.cpu_count() or 1})
        self.period, self.probes = period, probes
        self.times: dict[int, list[float]] = {c: [] for c in self.choices}
        self.best = self.choices[-1]

    def pick(self, step: int) -> int:
        if self.off:
            return torch.get_num_threads()
        k = step % self.period
        probing = len(self.choices) > 1 and k < self.probes * len(self.choices)
        if k == 0:
            self.times = {c: [] for c in self.choices}
        n = self.choices[k % len(self.choices)] if probing else self.best
        torch.set_num_threads(n)
        return n

    def record(self, step: int, n: int, seconds: float) -> None:
        if self.off:
            return
        if len(self.choices) > 1 and step % self.period < self.probes * len(self.choices):
            self.times[n].append(seconds)
            if all(len(t) == self.probes for t in self.times.values()):
                self.best = min(self.times, key=lambda c: float(np.median(self.times[c])))


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (``None``: unchanged), then restore."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
