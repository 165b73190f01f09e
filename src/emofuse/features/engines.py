"""Where feature extraction runs: a local process pool or Ray Data.

Both engines take batches of plain data (item refs), have each worker build the encoder
once from its name and config (never a pickled encoder object), and hand the vectors back
to the driver, which writes them through the one :class:`~emofuse.features.store.FeatureStore`
code path. Same inputs, same encoder config: same features, whichever engine ran.

``run_local(encoder, batches, sink, workers=2)``; ``workers=0`` encodes in this process
with ``encoder`` itself. ``run_ray(..., address=None)`` starts a local Ray (2 CPUs) unless
``address`` names a cluster (``"auto"`` or ``"host:port"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import numpy as np

from ..errors import EmofuseError, MissingExtraError

Sink = Callable[[Any, "np.ndarray | None", dict[int, str]], None]


# ---- the worker side --------------------------------------------------------------------


def encoder_spec(encoder: Any) -> dict[str, Any]:
    """Plain data a worker rebuilds the encoder from (the module registers it)."""
    cfg = encoder.config
    config = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)
    return {"name": encoder.name, "config": config, "module": type(encoder).__module__}


def build_from_spec(spec: dict[str, Any]) -> Any:
    from ..encoders.base import ENCODERS, build_encoder

    if spec["name"] not in ENCODERS and spec.get("module"):
        importlib.import_module(spec["module"])  # third-party/test encoders register here
    return build_encoder(spec["name"], **spec["config"])


def _message(e: Exception) -> str:
    return str(e) if isinstance(e, EmofuseError) else f"{type(e).__name__}: {e}"


def encode_refs(encoder: Any, refs: list[str]) -> tuple[np.ndarray | None, dict[int, str]]:
    """Load and encode ``refs``: vectors of the items that worked, errors by position."""
    from .inputs import load_input

    inputs, ok, errors = [], [], {}
    for i, ref in enumerate(refs):
        try:
            inputs.append(load_input(encoder.modality, ref))
            ok.append(i)
        except Exception as e:  # an unreadable item is recorded, the batch goes on
            errors[i] = _message(e)
    if not inputs:
        return None, errors
    try:
        return np.asarray(encoder.encode(inputs), dtype=np.float32), errors
    except Exception:  # find the culprit(s) one item at a time
        rows = []
        for i, item in zip(ok, inputs):
            try:
                rows.append(np.asarray(encoder.encode([item]), dtype=np.float32)[0])
            except Exception as e:
                errors[i] = _message(e)
        return (np.stack(rows) if rows else None), errors


_WORKER: dict[str, Any] = {}


def _init_worker(spec: dict[str, Any]) -> None:
    _WORKER["encoder"] = build_from_spec(spec)


def _encode_in_worker(refs: list[str]) -> tuple[np.ndarray | None, dict[int, str]]:
    return encode_refs(_WORKER["encoder"], refs)


# ---- local ------------------------------------------------------------------------------


def run_local(
    encoder: Any, batches: Iterable[Any], sink: Sink, *, workers: int = 2, **_: Any
) -> None:
    """Encode ``batches`` with a pool of ``workers`` processes (0: in this process)."""
    if workers <= 0:
        for batch in batches:
            sink(batch, *encode_refs(encoder, batch.refs))
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork after torch/BLAS threads started
    spec = encoder_spec(encoder)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(spec,)
    ) as pool:
        running: dict[Future, Any] = {}
        for batch in batches:  # at most 2 batches per worker in flight: bounded memory
            running[pool.submit(_encode_in_worker, batch.refs)] = batch
            if len(running) >= 2 * workers:
                _drain(running, sink, FIRST_COMPLETED)
        while running:
            _drain(running, sink, FIRST_COMPLETED)


def _drain(running: dict[Future, Any], sink: Sink, when: str) -> None:
    done, _ = wait(list(running), return_when=when)
    for fut in done:
        sink(running.pop(fut), *fut.result())


# ---- ray --------------------------------------------------------------------------------


@contextlib.contextmanager
def ray_session(address: str | None = None, workers: int = 2) -> Iterator[Any]:
    """Yield the ``ray`` module, connected to ``address`` or to a local Ray it starts
    (and shuts down afterwards); a session already initialised is reused as is."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError("ray", "ray") from None
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            path = os.pathsep.join(p for p in sys.path if p)
            ray.init(
                num_cpus=max(2, workers),
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": {"PYTHONPATH": path}},
            )
        ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


class RayEncoder:
    """Ray Data callable class: builds the encoder once per actor."""

    def __init__(self, spec: dict[str, Any]):
        self.encoder = build_from_spec(spec)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out_x, out_err = [], []
        for refs in batch["refs"]:
            x, errors = encode_refs(self.encoder, json.loads(refs))
            buf = io.BytesIO()
            if x is not None:
                np.save(buf, x, allow_pickle=False)
            out_x.append(buf.getvalue())
            out_err.append(json.dumps(errors))
        return {
            "i": np.asarray(batch["i"]),
            "x": np.array(out_x, dtype=object),
            "errors": np.array(out_err, dtype=object),
        }


def run_ray(
    encoder: Any,
    batches: Iterable[Any],
    sink: Sink,
    *,
    workers: int = 2,
    address: str | None = None,
    **_: Any,
) -> None:
    """Encode ``batches`` with Ray Data actors (``workers`` of them)."""
    pending = list(batches)  # refs only (texts or paths), not media
    if not pending:
        return
    with ray_session(address, workers) as ray:
        items = [{"i": k, "refs": json.dumps(b.refs)} for k, b in enumerate(pending)]
        ds = ray.data.from_items(items, override_num_blocks=min(len(items), 200))
        ds = ds.map_batches(
            RayEncoder,
            fn_constructor_kwargs={"spec": encoder_spec(encoder)},
            batch_size=1,
            concurrency=max(1, workers),
            num_cpus=1,
        )
        for row in ds.iter_rows():
            data = row["x"]
            x = np.load(io.BytesIO(data), allow_pickle=False) if data else None
            errors = {int(k): v for k, v in json.loads(row["errors"]).items()}
            sink(pending[int(row["i"])], x, errors)
