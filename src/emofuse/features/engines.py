"""Where batch work runs: in this process, a local process pool or Ray Data.

One implementation for every batch job (feature extraction, batch prediction). A job is a
:class:`WorkerSpec` (plain data: the ``"module:attr"`` of a factory and its keyword
arguments) plus an iterable of ``(tag, payload)`` pairs. Each worker builds its callable
once, ``worker = import_path(factory)(**kwargs)``, then returns ``worker(payload)`` for each
payload it gets; the driver hands every result to ``sink(tag, result)`` as it arrives (in
completion order: the sink puts it in place). Payloads and results are plain data (JSON
types) and numpy arrays, never pickled objects of ours: Ray moves them packed as ``.npz``.
The engines layer knows nothing of what the workers do, so a higher layer (inference)
passes its own factory down without this layer importing it.

>>> out = []
>>> spec = WorkerSpec("mypkg.work:Worker", {"model": "m/"})  # Worker(model="m/")(payload)
>>> run_batches(spec, [("a", 1)], lambda tag, r: out.append((tag, r)), workers=0,
...             inline=lambda payload: payload + 1)   # in this process: no spec needed
>>> out
[('a', 2)]

``engine="local"``: ``workers`` processes (``0``: in this process, with ``inline`` when
given); at most two payloads per worker are in flight, so memory stays bounded.
``engine="ray"``: Ray Data actors; ``address`` names a cluster (``"auto"``,
``"host:port"``), else a local Ray (``workers`` CPUs) is started and shut down.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MissingExtraError, UsageError
from ..utils.registry import import_path

ENGINES = ("local", "ray")
Sink = Callable[[Any, Any], None]


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process builds its callable from: ``import_path(factory)(**kwargs)``.

    ``factory`` comes from code (a module of emofuse or of a caller), never from a file.
    """

    factory: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Callable[[Any], Any]:
        return import_path(self.factory)(**self.kwargs)


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    return engine


def run_batches(
    spec: WorkerSpec,
    payloads: Iterable[tuple[Any, Any]],
    sink: Sink,
    *,
    engine: str = "local",
    workers: int = 2,
    address: str | None = None,
    inline: Callable[[Any], Any] | None = None,
) -> None:
    """Run ``spec``'s worker on every payload of ``(tag, payload)`` pairs; ``sink(tag, result)``.

    ``inline``: the callable to use in this process when ``workers == 0`` (e.g. an
    already loaded model); without it one is built from ``spec``.
    """
    check_engine(engine)
    if engine == "ray":
        _run_ray(spec, payloads, sink, workers=workers, address=address)
    elif workers <= 0:
        worker = inline if inline is not None else spec.build()
        for tag, payload in payloads:
            sink(tag, worker(payload))
    else:
        _run_pool(spec, payloads, sink, workers)


# ---- local process pool -----------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(spec: WorkerSpec) -> None:
    _WORKER["fn"] = spec.build()


def _call_worker(payload: Any) -> Any:
    return _WORKER["fn"](payload)


def _run_pool(spec: WorkerSpec, payloads: Iterable, sink: Sink, workers: int) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork after torch/BLAS threads started
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(spec,)
    ) as pool:
        running: dict[Future, Any] = {}
        for tag, payload in payloads:  # at most 2 payloads per worker in flight
            running[pool.submit(_call_worker, payload)] = tag
            if len(running) >= 2 * workers:
                _drain(running, sink)
        while running:
            _drain(running, sink)


def _drain(running: dict[Future, Any], sink: Sink) -> None:
    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
    for fut in done:
        sink(running.pop(fut), fut.result())


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


class RayWorker:
    """Ray Data callable class: builds the worker once per actor, runs one payload a row."""

    def __init__(self, factory: str, kwargs: dict[str, Any]):
        self.fn = WorkerSpec(factory, kwargs).build()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = [pack(self.fn(unpack(data))) for data in batch["payload"]]
        return {"i": np.asarray(batch["i"]), "result": np.array(out, dtype=object)}


def _run_ray(
    spec: WorkerSpec, payloads: Iterable, sink: Sink, *, workers: int, address: str | None
) -> None:
    pending = list(payloads)  # plain data (texts, paths), not media
    if not pending:
        return
    with ray_session(address, workers) as ray:
        items = [{"i": k, "payload": pack(p)} for k, (_, p) in enumerate(pending)]
        ds = ray.data.from_items(items, override_num_blocks=min(len(items), 200))
        ds = ds.map_batches(
            RayWorker,
            fn_constructor_kwargs={"factory": spec.factory, "kwargs": spec.kwargs},
            batch_size=1,
            concurrency=max(1, workers),
            num_cpus=1,
        )
        for row in ds.iter_rows():
            sink(pending[int(row["i"])][0], unpack(row["result"]))


# ---- transport: plain data + arrays as one .npz, no pickle -------------------------------


def pack(obj: Any) -> bytes:
    """``obj`` (JSON types, tuples as lists, numpy arrays anywhere) as ``.npz`` bytes."""
    arrays: dict[str, np.ndarray] = {}

    def strip(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            arrays[f"a{len(arrays)}"] = x
            return {"__array__": f"a{len(arrays) - 1}"}
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [strip(v) for v in x]
        return x

    doc = json.dumps(strip(obj)).encode()
    buf = io.BytesIO()
    np.savez(buf, __json__=np.frombuffer(doc, np.uint8), **arrays)
    return buf.getvalue()


def unpack(data: bytes) -> Any:
    """The inverse of :func:`pack` (arrays loaded without pickle)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    doc = json.loads(arrays.pop("__json__").tobytes())

    def fill(x: Any) -> Any:
        if isinstance(x, dict):
            if set(x) == {"__array__"}:
                return arrays[x["__array__"]]
            return {k: fill(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fill(v) for v in x]
        return x

    return fill(doc)
