"""Training checkpoints in one safetensors file: tensors plus a JSON header, never pickle.

A checkpoint holds everything a fit needs to continue bit for bit: the model and the best
weights so far, the optimizer's and the LR schedule's state, the random generators' states
(torch's global one and those the recipe passes) and the loop's own progress. The file is
written atomically, so a ``kill -9`` leaves the previous epoch's checkpoint or the new one.

>>> state = Checkpoint.capture(model, optimizer, schedule, rngs)  # doctest: +SKIP
>>> state.save("runs/x/checkpoint/fit.safetensors")             # doctest: +SKIP
>>> Checkpoint.load("runs/x/checkpoint/fit.safetensors").restore(
...     model, optimizer, schedule, rngs)                         # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ..utils.io import write_atomic

#: a random generator whose state a checkpoint keeps
Rng = torch.Generator | np.random.Generator
_HEADER = "emofuse.fit"


def _split(prefix: str, obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """``obj`` as JSON-ready data; its tensors move to ``tensors`` under ``prefix`` keys."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().clone().contiguous().cpu()
        return {"__tensor__": prefix}
    if isinstance(obj, Mapping):
        return {"__map__": [[k, _split(f"{prefix}.{k}", v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_split(f"{prefix}.{i}", v, tensors) for i, v in enumerate(obj)]
    return obj


def _join(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of :func:`_split` (tuples come back as lists; mapping keys keep their type)."""
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__map__" in obj:
        return {k: _join(v, tensors) for k, v in obj["__map__"]}
    if isinstance(obj, list):
        return [_join(v, tensors) for v in obj]
    return obj


def rng_states(rngs: Sequence[Rng]) -> list[Any]:
    """The states of torch's global generator followed by each of ``rngs``."""
    states: list[Any] = [torch.get_rng_state()]
    for g in rngs:
        states.append(g.get_state() if isinstance(g, torch.Generator) else g.bit_generator.state)
    return states


def set_rng_states(rngs: Sequence[Rng], states: Sequence[Any]) -> None:
    if len(states) != len(rngs) + 1:
        raise DataError(f"checkpoint holds {len(states) - 1} generators, the fit has {len(rngs)}")
    torch.set_rng_state(states[0])
    for g, s in zip(rngs, states[1:], strict=True):
        if isinstance(g, torch.Generator):
            g.set_state(s)
        else:
            g.bit_generator.state = s


@dataclass
class Checkpoint:
    """The state of a fit after an epoch; :meth:`save`/:meth:`load` round-trip it exactly."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    schedule: dict[str, Any] | None
    rngs: list[Any]
    best: dict[str, torch.Tensor] | None = None
    loop: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def capture(
        cls,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: Any,
        rngs: Sequence[Rng],
        best: dict[str, torch.Tensor] | None = None,
        loop: dict[str, Any] | None = None,
    ) -> Checkpoint:
        sched = schedule.state_dict() if hasattr(schedule, "state_dict") else None
        return cls(
            model=dict(model.state_dict()),
            optimizer=optimizer.state_dict(),
            schedule=sched,
            rngs=rng_states(rngs),
            best=best,
            loop=dict(loop or {}),
        )

    def restore(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: Any,
        rngs: Sequence[Rng],
    ) -> None:
        """Load every state into the live objects of a fit built the same way."""
        model.load_state_dict(self.model)
        optimizer.load_state_dict(self.optimizer)
        if self.schedule is not None and hasattr(schedule, "load_state_dict"):
            schedule.load_state_dict(self.schedule)
        set_rng_states(rngs, self.rngs)

    def save(self, path: str | Path) -> None:
        from safetensors.torch import save

        tensors: dict[str, torch.Tensor] = {}
        header = {
            "model": _split("model", self.model, tensors),
            "optimizer": _split("optimizer", self.optimizer, tensors),
            "schedule": _split("schedule", self.schedule, tensors),
            "rngs": [
                _split(f"rng.{i}", s if isinstance(s, torch.Tensor) else {"numpy": s}, tensors)
                for i, s in enumerate(self.rngs)
            ],
            "best": _split("best", self.best, tensors),
            "loop": self.loop,
        }
        write_atomic(path, save(tensors, metadata={_HEADER: json.dumps(header)}))

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                header = json.loads((f.metadata() or {})[_HEADER])
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        except (OSError, KeyError, ValueError, SafetensorError) as e:
            raise DataError(f"unreadable training checkpoint {path}: {e}") from None
        rngs = [_join(s, tensors) for s in header["rngs"]]
        return cls(
            model=_join(header["model"], tensors),
            optimizer=_join(header["optimizer"], tensors),
            schedule=_join(header["schedule"], tensors),
            rngs=[s["numpy"] if isinstance(s, dict) and "numpy" in s else s for s in rngs],
            best=_join(header["best"], tensors),
            loop=header["loop"],
        )
