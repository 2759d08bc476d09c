"""Resolving for each connection attempt: address literals without a lookup thread, and
overlapping lookups of one name shared, so tabs probing through an outage do not each keep a
thread of the app's."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from termkeep.platform.resolve import resolve


class CountingExecutor(ThreadPoolExecutor):
    """Runs what it is given on one thread, counting the calls; ``gate`` holds them back."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls = 0
        self.gate = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1

        def held() -> Any:
            self.gate.wait(10)
            return fn(*args, **kwargs)

        return super().submit(held)


@pytest.fixture
async def executor() -> AsyncIterator[CountingExecutor]:
    counting = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(counting)
    yield counting
    counting.gate.set()
    counting.shutdown(wait=True)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "192.0.2.1"])
async def test_an_address_literal_needs_no_lookup_thread(
    executor: CountingExecutor, address: str
) -> None:
    addresses = await resolve(address, 2222)
    assert {info[4][:2] for info in addresses} == {(address, 2222)}
    assert {info[1] for info in addresses} == {socket.SOCK_STREAM}
    assert executor.calls == 0


async def test_overlapping_lookups_of_one_name_share_one_thread(executor: CountingExecutor) -> None:
    attempts = [asyncio.ensure_future(resolve("localhost", 22)) for _ in range(6)]
    await asyncio.sleep(0.05)
    executor.gate.set()
    results = await asyncio.gather(*attempts)
    assert executor.calls == 1
    assert all(result == results[0] for result in results)
    assert results[0] == socket.getaddrinfo("localhost", 22, type=socket.SOCK_STREAM)


async def test_an_attempt_given_up_leaves_the_others_their_answer(
    executor: CountingExecutor,
) -> None:
    given_up = asyncio.ensure_future(resolve("localhost", 22))
    waiting = asyncio.ensure_future(resolve("localhost", 22))
    await asyncio.sleep(0.05)
    given_up.cancel()
    executor.gate.set()
    assert await waiting
    assert given_up.cancelled()


async def test_a_later_attempt_asks_again(executor: CountingExecutor) -> None:
    executor.gate.set()
    await resolve("localhost", 22)
    await resolve("localhost", 22)
    assert executor.calls == 2
