"""Coarse deadlines (service/deadlines.py): asyncio.timeout's behaviour on one timer per
loop, on a real event loop."""

from __future__ import annotations

import asyncio

import pytest

from service import deadlines
from service.deadlines import Deadline

pytestmark = pytest.mark.anyio
TICK = 0.01


@pytest.fixture(autouse=True)
def fast_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tick every 10 ms, so a test waits milliseconds, not quarter seconds."""
    monkeypatch.setattr(deadlines, "TICK_SECONDS", TICK)


async def test_a_block_still_waiting_at_its_deadline_raises_timeout_error() -> None:
    """Interrupted after `seconds`, at most a tick late (the test allows ten ticks)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(TimeoutError), Deadline(0.05):
        await asyncio.Event().wait()
    assert 0.05 <= loop.time() - began < 0.05 + 10 * TICK


async def test_a_block_done_in_time_leaves_its_task_alone() -> None:
    """No TimeoutError, and no cancellation reaches the task afterwards."""
    with Deadline(0.05):
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)  # past the deadline: a stray cancel would land here
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_entering_again_keeps_the_first_deadline() -> None:
    """One budget over several waits (a body read in chunks): the second wait gets only
    what the first left."""
    deadline = Deadline(0.08)
    with deadline:
        await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError), deadline:
        await asyncio.sleep(1)


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    """Someone else's cancel (a shutdown, a client gone) is not turned into a timeout."""

    async def wait() -> None:
        with Deadline(5):
            await asyncio.Event().wait()

    task = asyncio.create_task(wait())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_many_waits_share_one_timer_that_stops_when_none_remain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hundred concurrent waits arm the loop's timer once a tick, not once each; with
    nothing left to watch the clock stops."""
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    call_later = loop.call_later

    def counting(delay: float, callback: object, *args: object) -> asyncio.TimerHandle:
        if getattr(callback, "__self__", None) is deadlines._clocks.get(loop):
            armed.append(delay)  # the clock's own timer, not the sleeps'
        return call_later(delay, callback, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "call_later", counting)

    async def wait() -> None:
        with Deadline(5):
            await asyncio.sleep(0.001)

    await asyncio.gather(*(wait() for _ in range(100)))
    assert 1 <= len(armed) <= 5, f"{len(armed)} timers for 100 waits"
    await asyncio.sleep(5 * TICK)
    assert deadlines._clocks[loop].timer is None, "the clock kept ticking with nothing to watch"
