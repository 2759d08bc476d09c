"""A loopback TCP relay that can stop forwarding, to show a network drop without root.

The demo puts this relay between termkeep and its local SSH server. ``blackhole()`` makes it
behave like a Wi-Fi drop: nothing is forwarded in either direction and nothing is answered,
no error and no reset, so the client only notices by silence. ``restore()`` lets the held
bytes through again and new connections get through.

It can also add latency: with ``one_way_delay`` every chunk is held that long before it is
forwarded, in each direction (so the round trip grows by twice that), in order, without
slowing the flow down otherwise. ``termkeep demo --rtt 200`` uses it to show a slow link.

It is a user-space stand-in: it does not reproduce TCP's retransmission backoff, which the
integration tests get from real kernel faults in a network namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

_CHUNK = 64 * 1024


@dataclass(eq=False, slots=True)
class _Pipe:
    """One accepted client connection and its upstream connection."""

    client_writer: asyncio.StreamWriter
    upstream_writer: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in (self.client_writer, self.upstream_writer):
            if writer is not None:
                writer.close()


class FaultRelay:
    """Forwards ``127.0.0.1:<port>`` to an upstream address until told to drop everything."""

    def __init__(
        self, upstream_host: str, upstream_port: int, *, one_way_delay: float = 0.0
    ) -> None:
        if one_way_delay < 0:
            raise ValueError(f"a delay cannot be negative, got {one_way_delay}")
        self.one_way_delay = one_way_delay
        """Seconds each chunk is held in each direction (the RTT grows by twice this)."""
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._pipes: set[_Pipe] = set()

    @property
    def port(self) -> int:
        """The loopback port clients connect to."""
        if self._server is None:
            raise RuntimeError("relay not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def blackholed(self) -> bool:
        """Whether traffic is being silently dropped right now."""
        return not self._flowing.is_set()

    async def start(self) -> None:
        """Listen on a random loopback port (loopback only: the relay is never reachable from
        another machine)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    def blackhole(self) -> None:
        """Stop forwarding in both directions; bytes wait, as they would in a dead network."""
        self._flowing.clear()

    def restore(self) -> None:
        """Forward again."""
        self._flowing.set()

    async def close(self) -> None:
        """Stop listening and drop every relayed connection."""
        for pipe in list(self._pipes):
            pipe.close()
        self._pipes.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pipe = _Pipe(client_writer=writer)
        self._pipes.add(pipe)
        try:
            # A dropped network also swallows the SYN: hold new connections until restored.
            await self._flowing.wait()
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            pipe.upstream_writer = up_writer
            pipe.tasks = [
                asyncio.create_task(self._forward(reader, up_writer)),
                asyncio.create_task(self._forward(up_reader, writer)),
            ]
            await asyncio.wait(pipe.tasks, return_when=asyncio.FIRST_COMPLETED)
        except OSError:
            pass
        finally:
            pipe.close()
            self._pipes.discard(pipe)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Chunks wait in a queue until they are due, so reading goes on meanwhile: a delay
        # adds latency, not a one-chunk-per-delay throughput cap.
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        sender = asyncio.create_task(self._send_when_due(queue, writer))
        loop = asyncio.get_running_loop()
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await reader.read(_CHUNK):
                    queue.put_nowait((loop.time() + self.one_way_delay, data))
            queue.put_nowait(None)
            await sender
        finally:
            sender.cancel()

    async def _send_when_due(
        self, queue: asyncio.Queue[tuple[float, bytes] | None], writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):
            while (item := await queue.get()) is not None:
                due, data = item
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
            writer.write_eof()
