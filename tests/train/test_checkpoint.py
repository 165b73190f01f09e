"""Checkpoints: an exact round trip of model, optimizer, schedule and generators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emofuse.errors import DataError
from emofuse.train.checkpoint import Checkpoint


def _setup():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    return model, opt, sched, torch.Generator().manual_seed(1), np.random.default_rng(2)


def _step(model, opt, sched, g, rng):
    x = torch.randn(4, 3, generator=g) + float(rng.normal()) + torch.randn(4, 3)
    model(x).pow(2).mean().backward()
    opt.step()
    opt.zero_grad()
    sched.step()


def test_round_trip_continues_identically(tmp_path):
    model, opt, sched, g, rng = _setup()
    for _ in range(3):
        _step(model, opt, sched, g, rng)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    Checkpoint.capture(model, opt, sched, (g, rng), best, {"epoch": 3}).save(tmp_path / "c.st")
    for _ in range(2):
        _step(model, opt, sched, g, rng)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    model2, opt2, sched2, g2, rng2 = _setup()
    ck = Checkpoint.load(tmp_path / "c.st")
    ck.restore(model2, opt2, sched2, (g2, rng2))
    assert ck.loop == {"epoch": 3} and all(torch.equal(best[k], ck.best[k]) for k in best)
    for _ in range(2):
        _step(model2, opt2, sched2, g2, rng2)
    assert all(torch.equal(expected[k], v) for k, v in model2.state_dict().items())
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_unreadable_or_mismatched_checkpoints_are_data_errors(tmp_path):
    (tmp_path / "bad.st").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="unreadable"):
        Checkpoint.load(tmp_path / "bad.st")
    model, opt, sched, g, rng = _setup()
    Checkpoint.capture(model, opt, sched, (g,)).save(tmp_path / "c.st")
    with pytest.raises(DataError, match="generators"):
        Checkpoint.load(tmp_path / "c.st").restore(model, opt, sched, (g, rng))
