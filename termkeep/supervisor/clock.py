"""Time for the supervisor, injectable so tests can drive it without waiting.

The supervisor only ever asks two things of time: what the monotonic time is now, and to
sleep until a deadline. ``RealClock`` answers with ``time.monotonic``; ``FakeClock`` answers
with a number the test moves forward, so timer-driven behaviour (stall detection, backoff) is
tested exactly and instantly.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock the supervisor can read and sleep on."""

    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``now() >= deadline`` (at once when it already is)."""
        ...


_WAKE_SLACK = 0.001


class RealClock:
    """The machine's monotonic clock. Every instance is the same clock, and compares equal,
    so work keyed by clock (the shared network watch) is shared between them."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RealClock)

    def __hash__(self) -> int:
        return hash(RealClock)

    def now(self) -> float:
        """``time.monotonic()``, the same clock asyncio's event loop uses."""
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``deadline``.

        asyncio may wake a timer up to one clock resolution (nanoseconds here) early; the
        small slack makes ``now() >= deadline`` hold on return, which callers rely on.
        """
        await asyncio.sleep(max(0.0, deadline - self.now()) + _WAKE_SLACK)


class FakeClock:
    """A clock that only moves when the test calls ``advance``; for tests."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The time the test has moved the clock to."""
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        """Block until ``advance`` moves the clock to ``deadline`` or beyond."""
        if deadline <= self._now:
            # Still yield, as a real sleep would, so a loop over sleep_until cannot starve
            # the event loop.
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), waiter))
        await waiter

    def advance(self, seconds: float) -> None:
        """Move the clock forward and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back; pass seconds >= 0")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, waiter = heapq.heappop(self._sleepers)
            if not waiter.done():
                waiter.set_result(None)

    @property
    def next_deadline(self) -> float | None:
        """The earliest deadline someone is sleeping on, if any (cancelled sleeps excluded)."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None
