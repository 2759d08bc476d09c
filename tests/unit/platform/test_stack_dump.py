"""The stack dump behind SIGUSR1: where each task is parked, without any value."""

from __future__ import annotations

import asyncio

from termkeep.platform.stack_dump import task_stacks, thread_stacks


async def _parked_on(event: asyncio.Event) -> None:
    await _waiting_for(event)


async def _waiting_for(event: asyncio.Event) -> None:
    await event.wait()


async def test_a_parked_task_is_shown_down_to_the_await_it_waits_on() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(_parked_on(event), name="message pump Input(value='hunter2')")
    await asyncio.sleep(0)
    try:
        text = "\n".join(task_stacks(asyncio.get_running_loop()))
    finally:
        event.set()
        await task
    block = text.split("task message pump Input _parked_on\n", 1)[1].split("\ntask ", 1)[0]
    functions = [line.rsplit(" in ", 1)[1] for line in block.splitlines() if " in " in line]
    assert functions == ["_parked_on", "_waiting_for", "wait"], block
    assert block.splitlines()[-1] == "  awaiting FutureIter"
    assert "hunter2" not in text  # a widget's repr in a pump's name is cut


async def test_the_running_task_says_so() -> None:
    text = "\n".join(task_stacks(asyncio.get_running_loop()))
    assert "awaiting nothing (running)" in text, text


def test_every_thread_is_listed_with_its_frames() -> None:
    text = "\n".join(thread_stacks())
    assert "thread MainThread" in text
    assert "in test_every_thread_is_listed_with_its_frames" in text
