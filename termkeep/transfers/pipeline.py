"""Moving a file's bytes with many SFTP requests in flight, and knowing where to resume.

Each block is one request. Requests complete out of order, and when the link drops the ones
in flight are lost with it: the server may have written block 7 but not block 5. So the
resume point is never the remote file's size but ``AckedRanges.acked``: the offset up to
which every block was acknowledged. No block is sent that ends more than one window
(``requests`` blocks) past that offset, so a resume sends at most one window again;
``Resends`` counts exactly how much.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from termkeep.transport.remote_files import RemoteFile

DEFAULT_REQUESTS = 64
"""Requests in flight. With 255 KiB blocks that is 16 MiB: enough for 80 MB/s at a 200 ms
round trip, and what a resume sends again at most."""


class AckedRanges:
    """Which byte ranges are done; ``acked`` is the end of the done prefix."""

    def __init__(self, start: int) -> None:
        self.acked = start
        self._ahead: dict[int, int] = {}
        self._ahead_bytes = 0

    @property
    def done_bytes(self) -> int:
        """Bytes done so far, the prefix and those acknowledged beyond it."""
        return self.acked + self._ahead_bytes

    def done(self, offset: int, end: int) -> None:
        """``[offset, end)`` was acknowledged. Ranges tile the file: each byte is reported
        once per attempt."""
        if offset != self.acked:
            self._ahead[offset] = end
            self._ahead_bytes += end - offset
            return
        self.acked = end
        while (following := self._ahead.pop(self.acked, None)) is not None:
            self._ahead_bytes -= following - self.acked
            self.acked = following


@dataclass(slots=True)
class Resends:
    """Bytes put on the wire more than once across the attempts of one transfer."""

    high_water: int = 0
    """The end of the furthest byte ever sent."""
    resent: int = 0

    def sending(self, offset: int, end: int) -> None:
        self.resent += max(0, min(end, self.high_water) - offset)
        self.high_water = max(self.high_water, end)


type BlockIo = Callable[[int, int], Awaitable[int]]
"""Moves up to ``size`` bytes at ``offset``; returns how many it moved (fewer means "ask
again for the rest"; 0 means the source ended early)."""
type Progress = Callable[[int], None]
"""Hears the bytes done so far after each block."""


class SourceShrankError(Exception):
    """The source ended before the size it had when the transfer started."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"the file ended at byte {offset}, before its expected size")
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Plan:
    """What to move: ``[start, size)`` in blocks of ``block`` bytes, ``requests`` at once."""

    start: int
    size: int
    block: int
    requests: int = DEFAULT_REQUESTS


async def pump(
    plan: Plan, io: BlockIo, ranges: AckedRanges, resends: Resends, progress: Progress
) -> None:
    """Move ``plan``'s bytes with ``io``, ``plan.requests`` blocks in flight, recording
    what completed in ``ranges``. On the first failure the other requests are cancelled and
    the failure raised: ``ranges.acked`` is then where to resume."""
    pending: set[asyncio.Task[tuple[int, int, int]]] = set()
    queue: list[tuple[int, int]] = []  # ranges to send again after a short read or write
    next_offset = plan.start

    async def one(offset: int, size: int) -> tuple[int, int, int]:
        return offset, size, await io(offset, size)

    window = plan.requests * plan.block

    def next_block() -> tuple[int, int] | None:
        """The next new block, if it ends within one window of the acknowledged prefix: a
        slow block holds the ones after it back, so a resume never sends more than that
        window again (counting only requests in flight would not bound it)."""
        size = min(plan.block, plan.size - next_offset)
        if size <= 0 or next_offset + size > ranges.acked + window:
            return None
        return next_offset, size

    def issue() -> None:
        nonlocal next_offset
        while len(pending) < plan.requests:
            if queue:  # the rest of a short read: asked for, never sent
                offset, size = queue.pop()
            elif (block := next_block()) is not None:
                offset, size = block
                next_offset += size
                resends.sending(offset, offset + size)
            else:
                return
            pending.add(asyncio.ensure_future(one(offset, size)))

    try:
        issue()
        while pending:
            finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                pending.discard(task)
                offset, size, moved = task.result()  # the first failure ends the pump
                if moved <= 0:
                    raise SourceShrankError(offset)
                ranges.done(offset, offset + moved)
                if moved < size:
                    queue.append((offset + moved, size - moved))
            progress(ranges.done_bytes)
            issue()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


def upload_io(local_fd: int, remotes: Sequence[RemoteFile], block: int) -> BlockIo:
    """Blocks read from the local file and written to the remote one, block by block in
    turn over ``remotes`` (handles of the same file on several SFTP channels: the server
    grants each channel its own window, 2 MiB for OpenSSH, which alone caps an upload at
    10 MB/s over a 200 ms round trip)."""

    async def io(offset: int, size: int) -> int:
        data = os.pread(local_fd, size, offset)
        if data:
            await remotes[(offset // block) % len(remotes)].write(offset, data)
        return len(data)

    return io


def download_io(remote: RemoteFile, local_fd: int) -> BlockIo:
    """Blocks read from the remote file and written to the local one (a local write is
    done when ``pwrite`` returns: the page cache has it)."""

    async def io(offset: int, size: int) -> int:
        data = await remote.read(offset, size)
        written = 0
        while written < len(data):
            written += os.pwrite(local_fd, data[written:], offset + written)
        return len(data)

    return io
