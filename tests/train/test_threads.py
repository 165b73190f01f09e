"""Thread control during training: pinned, tuned or left alone, always restored."""

from __future__ import annotations

import torch

from emofuse.train.threads import ThreadTuner, torch_threads


def test_torch_threads_restores_the_count():
    old = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old
    with torch_threads(None):
        assert torch.get_num_threads() == old


def test_tuner_pins_probes_and_keeps_the_faster():
    old = torch.get_num_threads()
    try:
        assert ThreadTuner(1).pick(0) == 1 and torch.get_num_threads() == 1
        off = ThreadTuner(None, off=True)
        torch.set_num_threads(old)
        assert off.pick(0) == old
        tuner = ThreadTuner(None, period=10, probes=2)
        tuner.choices, tuner.times, tuner.best = [1, 2], {1: [], 2: []}, 2
        for step in range(4):  # probing: 1, 2, 1, 2; one thread is "faster"
            n = tuner.pick(step)
            tuner.record(step, n, 0.1 if n == 1 else 0.2)
        assert tuner.best == 1 and tuner.pick(5) == 1
    finally:
        torch.set_num_threads(old)
