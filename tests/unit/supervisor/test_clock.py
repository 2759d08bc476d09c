"""The clocks: the real one keeps its promise (now >= deadline after sleep_until), the fake
one wakes sleepers exactly when the test moves time past their deadline."""

from __future__ import annotations

import asyncio

import pytest

from termkeep.supervisor.clock import FakeClock, RealClock
from tests.unit.supervisor.scripted import settle


async def test_the_real_clock_sleeps_at_least_until_the_deadline() -> None:
    clock = RealClock()
    for offset in (0.0, 0.002, 0.01):
        deadline = clock.now() + offset
        await clock.sleep_until(deadline)
        assert clock.now() >= deadline


async def test_the_real_clock_returns_for_a_deadline_in_the_past() -> None:
    clock = RealClock()
    past = clock.now() - 10
    await asyncio.wait_for(clock.sleep_until(past), timeout=5)
    assert clock.now() > past


async def test_the_fake_clock_wakes_sleepers_in_deadline_order_only_when_advanced() -> None:
    clock = FakeClock(start=100.0)
    woke: list[str] = []

    async def sleeper(name: str, deadline: float) -> None:
        await clock.sleep_until(deadline)
        woke.append(name)

    tasks = [
        asyncio.create_task(sleeper("late", 105.0)),
        asyncio.create_task(sleeper("early", 101.0)),
    ]
    await settle()
    assert woke == []
    assert clock.next_deadline == 101.0
    clock.advance(1.0)
    await settle()
    assert woke == ["early"]
    clock.advance(10.0)
    await settle()
    assert woke == ["early", "late"]
    assert clock.now() == 111.0
    assert clock.next_deadline is None
    await asyncio.gather(*tasks)


async def test_a_cancelled_fake_sleep_is_not_a_pending_deadline() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep_until(clock.now() + 5))
    await settle()
    assert clock.next_deadline == clock.now() + 5
    task.cancel()
    await settle()
    assert clock.next_deadline is None


def test_the_fake_clock_cannot_go_back() -> None:
    with pytest.raises(ValueError, match="cannot go back"):
        FakeClock().advance(-1)
