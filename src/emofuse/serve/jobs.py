"""Model work for HTTP requests: a bounded number at once, cancelled when the client leaves.

>>> jobs = Jobs(workers=2, queue=8)                              # doctest: +SKIP
>>> await jobs.run(request, analyze_upload, rec, ...)             # doctest: +SKIP

The work runs in a thread and gets a ``cancelled()`` callable as its last argument; it calls
it between steps (a frame, a window, a batch of texts), and :class:`Cancelled` ends the job.
More than ``workers + queue`` jobs at once are refused with :class:`Busy` (HTTP 503).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..errors import EmofuseError

T = TypeVar("T")
POLL_S = 0.2


class Busy(EmofuseError):
    """Too many requests at once (HTTP 503)."""


class Cancelled(EmofuseError):
    """The client left before its job finished."""


class Jobs:
    """At most ``workers`` jobs run and ``queue`` wait; the rest get :class:`Busy`."""

    def __init__(self, workers: int = 2, queue: int = 8):
        self.workers, self.queue = max(1, workers), max(0, queue)
        self._slots = asyncio.Semaphore(self.workers)
        self.active = 0  # running + waiting
        self.cancelled = 0  # jobs stopped because their client left

    async def run(self, request: Request, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args, cancelled)`` in a worker thread; stops when ``request``'s client leaves."""
        if self.active >= self.workers + self.queue:
            raise Busy(f"busy: {self.active} requests in progress; try again shortly")
        self.active += 1
        stop = threading.Event()

        def cancelled() -> None:
            if stop.is_set():
                raise Cancelled("the client disconnected")

        try:
            async with self._slots:
                if await request.is_disconnected():  # left while waiting for a slot
                    self.cancelled += 1
                    raise Cancelled("the client disconnected")
                task = asyncio.ensure_future(run_in_threadpool(fn, *args, cancelled))
                while not task.done():
                    await asyncio.wait({task}, timeout=POLL_S)
                    if not task.done() and await request.is_disconnected():
                        stop.set()
                        self.cancelled += 1
                return await task
        finally:
            self.active -= 1
