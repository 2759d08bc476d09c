"""Where a live process waits: every thread's Python stack and every asyncio task's
coroutine stack, as text, for a hang the process cannot report by itself (a screen that
stops repainting while the event loop runs, a task parked on an await that never ends).

Only code locations are written (file, line, function), never a value or an object's repr,
so nothing typed (a password at a prompt) can end up in the text.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from collections.abc import Iterator
from types import FrameType

MAX_TASK_FRAMES = 40
"""Deeper coroutine chains are cut: the innermost frames say where a task waits."""


def thread_stacks() -> Iterator[str]:
    """One block per thread: its name, then its frames from the outermost."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        yield f"thread {names.get(ident, '?')} ({ident})"
        outermost_first = [walked for walked, _ in traceback.walk_stack(frame)][::-1]
        yield from _locations(outermost_first)


def task_stacks(loop: asyncio.AbstractEventLoop) -> Iterator[str]:
    """One block per task of ``loop``: its name and coroutine, then the chain of awaits down
    to the one it is parked on (Task.get_stack shows only the outermost frame of a suspended
    coroutine, which for every Textual message pump is the same loop)."""
    for task in sorted(asyncio.all_tasks(loop), key=lambda task: task.get_name()):
        coroutine = task.get_coro()
        name = getattr(coroutine, "__qualname__", type(coroutine).__name__)
        yield f"task {_task_name(task)} {name}"
        frames, innermost = _await_chain(coroutine)
        yield from _locations(frames)
        yield f"  awaiting {innermost}"


def _await_chain(awaitable: object) -> tuple[list[FrameType], str]:
    """The frames of ``awaitable`` and of what it awaits, outermost first, and the type of
    the innermost thing awaited (a Future, a sleep, an event's waiter)."""
    frames: list[FrameType] = []
    while len(frames) < MAX_TASK_FRAMES:
        frame = _frame_of(awaitable)
        if frame is None:
            break
        frames.append(frame)
        awaited = _awaited_by(awaitable)
        if awaited is None:
            return frames, "nothing (running)"
        awaitable = awaited
    return frames, type(awaitable).__name__


def _frame_of(awaitable: object) -> FrameType | None:
    for attribute in ("cr_frame", "gi_frame", "ag_frame"):
        frame = getattr(awaitable, attribute, None)
        if isinstance(frame, FrameType):
            return frame
    return None


def _awaited_by(awaitable: object) -> object | None:
    for attribute in ("cr_await", "gi_yieldfrom", "ag_await"):
        awaited: object | None = getattr(awaitable, attribute, None)
        if awaited is not None:
            return awaited
    return None


def _task_name(task: asyncio.Task[object]) -> str:
    """The task's name without an object's repr: Textual names each widget's message pump
    after the widget's repr, which can hold a field's value."""
    return task.get_name().split("(", 1)[0]


def _locations(frames: list[FrameType]) -> Iterator[str]:
    """Each frame's file, line and function; no source line is read (the dump runs on the
    event loop) and no value is shown."""
    summary = traceback.StackSummary.extract(
        ((frame, frame.f_lineno) for frame in frames), lookup_lines=False
    )
    for location in summary:
        yield f"  {location.filename}:{location.lineno} in {location.name}"
