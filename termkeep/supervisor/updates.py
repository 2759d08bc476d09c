"""What a supervisor tells its listeners: status changes and plain-words notices, and the
bounded stream ``Supervisor.updates()`` hands out."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from termkeep.supervisor.state import Status

UPDATE_QUEUE_LIMIT = 256
"""Updates an ``updates()`` reader may fall behind by; older ones are dropped first."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A plain-words message for the user, e.g. ``reattached after 0.4 s``."""

    text: str


type Update = Status | Notice


class UpdateStream:
    """An async iterator of updates; registered at creation so nothing is missed."""

    def __init__(self, registry: set[UpdateStream]) -> None:
        self._registry = registry
        self._queue: asyncio.Queue[Update | None] = asyncio.Queue()
        self._finished = False

    def put(self, update: Update) -> None:
        if self._queue.qsize() >= UPDATE_QUEUE_LIMIT:
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
        self._queue.put_nowait(update)

    def finish(self) -> None:
        self._registry.discard(self)
        if not self._finished:
            self._finished = True
            self._queue.put_nowait(None)

    def __aiter__(self) -> UpdateStream:
        return self

    async def __anext__(self) -> Update:
        update = await self._queue.get()
        if update is None:
            raise StopAsyncIteration
        return update
