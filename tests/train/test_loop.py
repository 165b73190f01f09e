"""The shared fit loop: kill -9 and resume bit for bit, selection, patience, schedules, budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from emofuse.errors import UsageError
from emofuse.train.loop import CHECKPOINT_FILE, fit, lr_warmup_cosine

SRC = Path(__file__).resolve().parents[2] / "src"

#: a tiny job with every source of randomness a recipe has: dropout (torch's global
#: generator), a torch generator for the order, a numpy one for augmentation, OneCycleLR
JOB = """
import json, os, signal, sys
import numpy as np, torch
from safetensors.torch import save_file
from emofuse.train.loop import fit

ckpt, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(1)
torch.manual_seed(0)
x, y = torch.randn(96, 6), torch.randint(0, 3, (96,))
model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 3))
g, rng = torch.Generator().manual_seed(1), np.random.default_rng(2)
opt = torch.optim.AdamW(model.parameters(), lr=0.05)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=6 * 6)

def batches(epoch):
    for i, idx in enumerate(torch.randperm(96, generator=g).split(16)):
        if epoch == kill_at and i == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # mid-epoch, like a power cut
        noise = torch.from_numpy(rng.normal(0, 0.1, (len(idx), 6)).astype("float32"))
        yield x[idx] + noise, y[idx]

def loss(m, b):
    return torch.nn.functional.cross_entropy(m(b[0]), b[1])

def evaluate(m, epoch):
    with torch.no_grad():
        return float((m(x).argmax(1) == y).float().mean())

r = fit(model, batches, loss, optimizer=opt, epochs=6, steps_per_epoch=6, schedule=sched,
        evaluate=evaluate, rngs=(g, rng), checkpoint=ckpt, progress=False)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)
print(json.dumps({"best": r.best_epoch, "resumed": r.resumed_from,
                  "history": [{k: v for k, v in h.items() if k != "seconds"} for h in r.history]}))
"""


def _run(tmp_path: Path, ckpt: str, out: str, kill_at: int) -> subprocess.CompletedProcess:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / ckpt), str(tmp_path / out), str(kill_at)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.timeout(300)
def test_resumed_after_kill_9_equals_an_uninterrupted_run(tmp_path):
    straight = _run(tmp_path, "ck_a", "a.safetensors", kill_at=0)
    assert straight.returncode == 0, straight.stderr
    killed = _run(tmp_path, "ck_b", "b.safetensors", kill_at=4)
    assert killed.returncode == -9 and not (tmp_path / "b.safetensors").exists()
    assert (tmp_path / "ck_b" / CHECKPOINT_FILE).is_file()
    assert not list((tmp_path / "ck_b").glob(".*"))  # no half-written checkpoint left
    resumed = _run(tmp_path, "ck_b", "b.safetensors", kill_at=0)
    assert resumed.returncode == 0, resumed.stderr
    a, b = json.loads(straight.stdout), json.loads(resumed.stdout)
    assert b["resumed"] == 3 and a["resumed"] == 0  # epochs 1-3 were read back
    assert a["history"] == b["history"] and a["best"] == b["best"]
    wa, wb = load_file(str(tmp_path / "a.safetensors")), load_file(str(tmp_path / "b.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def _tiny(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 4), torch.tensor([0, 1] * 4)

    def batches(epoch):
        yield x[:4], y[:4]
        yield x[4:], y[4:]

    def loss(m, b):
        return torch.nn.functional.cross_entropy(m(b[0]), b[1])

    return model, opt, batches, loss


def test_keeps_the_best_epoch_and_stops_on_patience():
    model, opt, batches, loss = _tiny()
    scores, states = [0.1, 0.5, 0.3, 0.4, 0.2, 0.9], {}

    def evaluate(m, epoch):
        states[epoch] = {k: v.clone() for k, v in m.state_dict().items()}
        return {"score": scores[epoch - 1], "acc": scores[epoch - 1]}

    r = fit(model, batches, loss, optimizer=opt, epochs=6, steps_per_epoch=2,
            evaluate=evaluate, patience=2, progress=False)  # fmt: skip
    assert r.best_epoch == 2 and r.best_score == 0.5 and r.stopped == "patience"
    assert [h["epoch"] for h in r.history] == [1, 2, 3, 4]
    assert r.history[1]["acc"] == 0.5 and r.history[0]["items"] == 8
    assert all(torch.equal(model.state_dict()[k], states[2][k]) for k in states[2])
    assert not model.training


def test_tuple_scores_compare_in_order_and_ties_keep_the_first():
    model, opt, batches, loss = _tiny()
    scores = [(0.5, -1.0), (0.5, -0.5), (0.5, -0.5), (0.4, 0.0)]
    r = fit(model, batches, loss, optimizer=opt, epochs=4, steps_per_epoch=2,
            evaluate=lambda m, e: scores[e - 1], progress=False)  # fmt: skip
    assert r.best_epoch == 2 and r.best_score == [0.5, -0.5]


def test_progress_schedule_sets_each_steps_learning_rate():
    model, opt, batches, loss = _tiny()
    seen = []

    def recording_loss(m, b):
        seen.append(opt.param_groups[0]["lr"])
        return loss(m, b)

    fit(model, batches, recording_loss, optimizer=opt, epochs=3, steps_per_epoch=2,
        schedule=lr_warmup_cosine, progress=False)  # fmt: skip
    expected = [0.1 * lr_warmup_cosine(s / 6) for s in range(6)]
    assert seen == expected and seen[0] < seen[1]  # warm-up


def test_time_budget_stops_before_a_step():
    model, opt, batches, loss = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    r = fit(model, batches, loss, optimizer=opt, epochs=3, steps_per_epoch=2,
            time_budget=1e-9, progress=False)  # fmt: skip
    assert r.stopped == "budget" and r.best_epoch is None and r.history == []
    assert all(torch.equal(model.state_dict()[k], before[k]) for k in before)


def test_checkpoint_of_another_run_is_refused_and_a_finished_one_reused(tmp_path):
    model, opt, batches, loss = _tiny()
    fit(model, batches, loss, optimizer=opt, epochs=2, steps_per_epoch=2,
        checkpoint=tmp_path, signature={"lr": 0.1}, progress=False)  # fmt: skip
    done = {k: v.clone() for k, v in model.state_dict().items()}
    model, opt, batches, loss = _tiny()
    with pytest.raises(UsageError, match="another run"):
        fit(model, batches, loss, optimizer=opt, epochs=2, steps_per_epoch=2,
            checkpoint=tmp_path, signature={"lr": 0.2}, progress=False)  # fmt: skip
    calls = []
    counting = lambda m, b: calls.append(1) or loss(m, b)  # noqa: E731
    r = fit(model, batches, counting, optimizer=opt, epochs=2, steps_per_epoch=2,
            checkpoint=tmp_path, signature={"lr": 0.1}, progress=False)  # fmt: skip
    assert calls == [] and r.resumed_from == 2 and r.best_epoch == 2
    assert all(torch.equal(model.state_dict()[k], done[k]) for k in done)


def test_bad_arguments_and_an_empty_epoch():
    model, opt, _, loss = _tiny()
    with pytest.raises(UsageError):
        fit(model, lambda e: [], loss, optimizer=opt, epochs=1, steps_per_epoch=0)
    with pytest.raises(UsageError):
        fit(model, lambda e: [], loss, optimizer=opt, epochs=1, steps_per_epoch=1, patience=0)
    r = fit(model, lambda e: [], loss, optimizer=opt, epochs=2, steps_per_epoch=1, progress=False)
    assert r.stopped == "empty" and r.best_epoch is None


def test_progress_bar_runs(capsys):
    model, opt, batches, loss = _tiny()
    r = fit(model, batches, loss, optimizer=opt, epochs=1, steps_per_epoch=2,
            evaluate=lambda m, e: 0.5, items_per_epoch=8, name="tiny")  # fmt: skip
    assert r.history[0]["score"] == 0.5
    assert "tiny epoch" in capsys.readouterr().err
    assert np.isfinite(r.history[0]["loss"])
