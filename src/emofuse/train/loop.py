"""One torch fit loop for every recipe: batches, loss, LR schedule, selection, checkpoints.

The recipe builds the model, the optimizer and the schedule, and passes three callables:
``batches(epoch)`` yields the epoch's batches (tuples ending with the targets),
``loss(model, batch)`` returns the batch's mean loss, and ``evaluate(model, epoch)``
returns a selection score (higher is better; a number, a tuple, or a dict with ``"score"``
and more fields for the history). The loop keeps the best epoch's weights (the first
epoch, then any strictly better one), stops early after ``patience`` epochs without
improvement or when ``time_budget`` is spent, writes a checkpoint after every epoch
(atomically) and resumes from it after a ``kill -9``, bit for bit: give it every random
generator the batches draw from (``rngs``; torch's global one is always kept)::

    >>> result = fit(model, batches, loss, optimizer=opt, epochs=20, steps_per_epoch=50,
    ...              schedule=sched, evaluate=holdout_score, rngs=(g,),
    ...              checkpoint="runs/x/checkpoint")                     # doctest: +SKIP
    >>> result.best_epoch, result.history[-1]["loss"]                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from ..errors import UsageError
from ..utils.progress import training_progress
from .checkpoint import Checkpoint, Rng
from .threads import ThreadTuner

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "fit.safetensors"
#: an LR schedule: a torch scheduler stepped after every batch, or a function of the
#: training progress p in [0, 1] giving a factor on each group's initial learning rate
Schedule = torch.optim.lr_scheduler.LRScheduler | Callable[[float], float] | None


@dataclass
class FitResult:
    """What :func:`fit` did; the model holds the ``best_epoch`` weights on return."""

    best_epoch: int | None
    best_score: Any
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = "epochs"  # epochs | budget | patience | empty
    resumed_from: int = 0  # epochs read from a checkpoint (0: a fresh start)

    @property
    def epochs(self) -> int:
        return len(self.history)


def _score(out: Any) -> tuple[Any, dict[str, Any]]:
    if isinstance(out, Mapping):
        fields = {k: v for k, v in out.items() if k != "score"}
        return out["score"], fields
    return out, {"score": list(out) if isinstance(out, tuple) else out}


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(
    model: torch.nn.Module,
    batches: Callable[[int], Iterable[Sequence[Any]]],
    loss: Callable[[torch.nn.Module, Sequence[Any]], torch.Tensor],
    *,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    steps_per_epoch: int,
    schedule: Schedule = None,
    evaluate: Callable[[torch.nn.Module, int], Any] | None = None,
    patience: int | None = None,
    time_budget: float | None = None,
    rngs: Sequence[Rng] = (),
    checkpoint: str | Path | None = None,
    signature: Mapping[str, Any] | None = None,
    threads: int | Literal["auto"] | None = None,
    progress: Any = True,
    name: str = "train",
    unit: str = "items",
    items_per_epoch: int | None = None,
) -> FitResult:
    """Train ``model`` for up to ``epochs``; see the module docstring.

    ``steps_per_epoch``: batches per epoch (the schedule's progress is ``step / (epochs *
    steps_per_epoch)``, or the spent fraction of ``time_budget`` seconds if larger; the run
    stops when it reaches 1). Without ``evaluate`` the last epoch is kept. ``checkpoint``:
    a folder for ``fit.safetensors``; a checkpoint there is resumed if its ``signature``
    (plain data naming the run: hyper-parameters, data size) and ``epochs`` match, else
    :class:`~emofuse.errors.UsageError`. ``threads``: torch threads during the fit (an
    int), ``"auto"`` (re-pick 1 or all cores as it goes) or ``None`` (leave as is).
    ``progress``: a Rich bar (``True``), none (``False``) or a running
    :func:`~emofuse.utils.progress.training_progress` to add a task to.
    """
    if epochs < 0 or steps_per_epoch < 1:
        raise UsageError(f"need epochs >= 0, steps_per_epoch >= 1: {epochs}, {steps_per_epoch}")
    if patience is not None and patience < 1:
        raise UsageError(f"patience must be >= 1, got {patience}")
    sig = json.loads(json.dumps({"epochs": epochs, **(signature or {})}, default=str))
    path = Path(checkpoint) / CHECKPOINT_FILE if checkpoint is not None else None
    stepped = isinstance(schedule, torch.optim.lr_scheduler.LRScheduler)
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    result = FitResult(best_epoch=None, best_score=None)
    best: dict[str, torch.Tensor] | None = None
    step, elapsed, done = 0, 0.0, False
    if path is not None and path.is_file():
        ck = Checkpoint.load(path)
        if ck.loop.get("signature") != sig:
            raise UsageError(
                f"{path} is the checkpoint of another run; delete it or use another folder"
            )
        ck.restore(model, optimizer, schedule, rngs)
        best, step, elapsed = ck.best, ck.loop["step"], ck.loop["elapsed"]
        result.history = ck.loop["history"]
        result.best_epoch, result.best_score = ck.loop["best_epoch"], ck.loop["best_score"]
        result.stopped = ck.loop.get("stopped") or "epochs"
        result.resumed_from = len(result.history)
        done = ck.loop.get("stopped") is not None  # it had stopped early: nothing left
    total = epochs * steps_per_epoch
    started = time.time() - elapsed
    with _progress_bar(progress, unit) as bar, _thread_control(threads) as tuner:
        task = None
        if bar is not None:
            task = bar.add_task(name, total=(items_per_epoch or 0) * epochs or None)
            bar.update(task, completed=(items_per_epoch or 0) * result.resumed_from)
        for epoch in range(result.resumed_from + 1, epochs + 1):
            if done:
                break
            model.train()
            loss_sum, seen = 0.0, 0
            it = iter(batches(epoch))
            while True:
                p = step / total
                if time_budget:
                    p = max(p, (time.time() - started) / time_budget)
                if p >= 1.0:
                    done, result.stopped = True, "budget" if time_budget else "epochs"
                    break
                batch = next(it, None)
                if batch is None:
                    break
                if schedule is not None and not stepped:
                    factor = schedule(p)
                    for group in optimizer.param_groups:
                        group["lr"] = group["initial_lr"] * factor
                n_threads, t0 = tuner.pick(step), time.perf_counter()
                value = loss(model, batch)
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                if stepped:
                    schedule.step()
                tuner.record(step, n_threads, time.perf_counter() - t0)
                step += 1
                n = len(batch[-1])
                loss_sum += float(value.detach()) * n
                seen += n
                if bar is not None:
                    bar.update(
                        task,
                        advance=n,
                        description=f"{name} epoch {epoch}/{epochs} loss {loss_sum / seen:.4f}",
                    )
            if seen == 0:  # out of time before the first batch, or no data at all
                result.stopped = result.stopped if done else "empty"
                break
            row: dict[str, Any] = {"epoch": epoch, "items": seen, "loss": loss_sum / seen}
            model.eval()
            if evaluate is not None:
                score, fields = _score(evaluate(model, epoch))
                row.update(fields)
                if result.best_epoch is None or score > _comparable(result.best_score):
                    result.best_epoch, result.best_score = epoch, _plain(score)
                    best = _state(model)
            else:
                result.best_epoch = epoch
            row["seconds"] = round(time.time() - started, 1)
            result.history.append(row)
            _report(bar if evaluate is not None else None, name, row)
            if (
                patience is not None
                and result.best_epoch is not None
                and epoch - result.best_epoch >= patience
            ):
                done, result.stopped = True, "patience"
            if path is not None:
                loop = {
                    "signature": sig,
                    "step": step,
                    "elapsed": time.time() - started,
                    "history": result.history,
                    "best_epoch": result.best_epoch,
                    "best_score": result.best_score,
                    "stopped": result.stopped if done else None,
                }
                Checkpoint.capture(model, optimizer, schedule, rngs, best, loop).save(path)
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return result


def _plain(score: Any) -> Any:
    return list(score) if isinstance(score, tuple) else score


def _comparable(score: Any) -> Any:
    return tuple(score) if isinstance(score, list) else score


def _report(bar: Any, name: str, row: dict[str, Any]) -> None:
    """One line per epoch: on the bar's console (selection runs) or the log."""
    parts = [f"{name} epoch {row['epoch']:3d}"]
    for k, v in row.items():
        if k not in ("epoch", "items", "seconds") and isinstance(v, (int, float)):
            parts.append(f"{k} {v:.4f}")
    line = "  ".join(parts) + f"  ({row['seconds']:.0f} s)"
    bar.console.print(line) if bar is not None else log.info(line)


@contextlib.contextmanager
def _progress_bar(progress: Any, unit: str) -> Iterator[Any]:
    if progress is True:
        with training_progress(True, unit) as bar:
            yield bar
    else:
        yield progress or None


@contextlib.contextmanager
def _thread_control(threads: int | str | None) -> Iterator[ThreadTuner]:
    old = torch.get_num_threads()
    try:
        yield ThreadTuner(None if threads in (None, "auto") else int(threads), off=threads is None)
    finally:
        torch.set_num_threads(old)


def lr_warmup_cosine(p: float, warmup: float = 0.15) -> float:
    """Linear warm-up then cosine decay over training progress ``p`` in ``[0, 1]``."""
    if p < warmup:
        return 0.02 + 0.98 * p / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (p - warmup) / (1 - warmup)))) + 1e-3
