"""Coarse deadlines for the hot path: one timer per event loop, however many wait.

`asyncio.timeout()` costs a timer per use: a TimerHandle created, pushed into the
loop's heap (ordered by a Python `__lt__`), cancelled, and later swept out. A POST
armed two of its own (the body deadline, the wait for a pooled connection) besides
asyncpg's statement timer, which stays (benchmarks/README.md). Deadlines of seconds
need no such precision. Here a wait is an entry in a set; one timer per loop, armed
only while something waits, looks every TICK_SECONDS and cancels the task of each
overdue wait, whose block then raises TimeoutError, as `asyncio.timeout()` does. A
deadline fires up to TICK_SECONDS late.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from weakref import WeakKeyDictionary

TICK_SECONDS = 0.25


class Deadline:
    """`with Deadline(seconds):` around awaits: TimeoutError once `seconds` have passed
    since the first entry (re-entering keeps that time: one budget over several waits).

    Only code inside the block is interrupted; between two entries nothing is watched.
    """

    __slots__ = ("_cancelling", "_clock", "_task", "expired", "seconds", "when")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.when: float | None = None
        """Loop time the block must be done by, fixed at the first entry."""
        self.expired = False
        self._task: asyncio.Task[object] | None = None
        self._clock: _Clock | None = None
        self._cancelling = 0

    def __enter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadline must be entered inside an asyncio task")
        clock = _clock_of(task.get_loop())
        if self.when is None:
            self.when = clock.loop.time() + self.seconds
        self._task, self._clock, self._cancelling = task, clock, task.cancelling()
        clock.watch(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._clock is not None  # noqa: S101  (entered first)
        assert self._task is not None  # noqa: S101
        self._clock.waits.discard(self)
        if not self.expired:
            return
        # As asyncio.timeout: our cancel becomes TimeoutError unless someone else's is pending.
        if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from None

    def expire(self) -> None:
        """Called by the loop's clock once the deadline has passed: interrupt the block."""
        if not self.expired and self._task is not None:
            self.expired = True
            self._task.cancel()


class _Clock:
    """The waits of one event loop and the one timer that checks them."""

    __slots__ = ("loop", "timer", "waits")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waits: set[Deadline] = set()
        self.timer: asyncio.TimerHandle | None = None

    def watch(self, deadline: Deadline) -> None:
        self.waits.add(deadline)
        if self.timer is None:
            self.timer = self.loop.call_later(TICK_SECONDS, self.check)

    def check(self) -> None:
        """Expire every overdue wait; look again in a tick while any remain."""
        self.timer = None
        now = self.loop.time()
        for deadline in [d for d in self.waits if d.when is not None and d.when <= now]:
            deadline.expire()
        if self.waits:
            self.timer = self.loop.call_later(TICK_SECONDS, self.check)


_clocks: WeakKeyDictionary[asyncio.AbstractEventLoop, _Clock] = WeakKeyDictionary()


def _clock_of(loop: asyncio.AbstractEventLoop) -> _Clock:
    clock = _clocks.get(loop)
    if clock is None:
        clock = _clocks[loop] = _Clock(loop)
    return clock
