"""Bounded, cancellable model work: a departed client's job stops; too many jobs get 503."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

pytest.importorskip("fastapi")

from emofuse.serve.jobs import Busy, Cancelled, Jobs


class FakeRequest:
    """A request whose client leaves after ``leave_after`` seconds (never when None)."""

    def __init__(self, leave_after: float | None = None):
        self.t0, self.leave_after = time.monotonic(), leave_after

    async def is_disconnected(self) -> bool:
        return self.leave_after is not None and time.monotonic() - self.t0 > self.leave_after


def slow_work(steps: list[int], n: int = 100, cancelled=lambda: None) -> str:
    for i in range(n):
        cancelled()
        steps.append(i)
        time.sleep(0.02)
    return "done"


def test_a_departed_client_stops_its_job():
    jobs, steps = Jobs(), []
    with pytest.raises(Cancelled):
        asyncio.run(jobs.run(FakeRequest(leave_after=0.1), slow_work, steps, 100))
    assert 0 < len(steps) < 50 and jobs.cancelled == 1 and jobs.active == 0


def test_a_present_client_gets_its_result():
    steps = []
    assert asyncio.run(Jobs().run(FakeRequest(), slow_work, steps, 5)) == "done"
    assert steps == [0, 1, 2, 3, 4]


def test_too_many_jobs_are_refused():
    jobs = Jobs(workers=1, queue=1)
    gate = threading.Event()

    def wait(cancelled):
        gate.wait(5)
        return "ok"

    async def three():
        first = asyncio.ensure_future(jobs.run(FakeRequest(), wait))
        second = asyncio.ensure_future(jobs.run(FakeRequest(), wait))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy, match="busy"):
            await jobs.run(FakeRequest(), wait)
        gate.set()
        return await first, await second

    assert asyncio.run(three()) == ("ok", "ok")
    assert jobs.active == 0


def test_analyze_upload_stops_when_the_client_leaves(tiny_models, tmp_path):
    """The real route function: progress ticks call ``cancelled`` between frames and windows."""
    from starlette.datastructures import UploadFile

    from emofuse.inference.recognizer import Recognizer
    from emofuse.serve.app import ServeSettings, analyze_upload
    from tests.fixtures import write_tiny_video

    video = write_tiny_video(tmp_path / "clip.mp4", seconds=4)
    rec, ticks = Recognizer(tiny_models), []

    def cancelled():
        ticks.append(1)
        if len(ticks) > 3:
            raise Cancelled("the client disconnected")

    with video.open("rb") as f, pytest.raises(Cancelled):
        upload = UploadFile(f, filename="clip.mp4")
        analyze_upload(rec, ServeSettings(), upload, None, 1.0, 10.0, "face,voice", cancelled)
    assert len(ticks) == 4  # stopped at the 4th check, not after all 40 frames
