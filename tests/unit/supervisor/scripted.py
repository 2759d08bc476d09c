"""A Link and a Connector that the test scripts, for driving the runner without sockets.

This is the one stand-in the supervisor's unit tests use: the real-network behaviour is
covered by the integration tests with sshd and tmux. Every connection attempt waits until
the test says how it ends (``attach`` or ``fail``), and every link does what the test tells
it: send bytes, answer pings or stay silent, end in one of the three ways.
"""

from __future__ import annotations

import asyncio

from termkeep.supervisor.clock import FakeClock
from termkeep.transport.link import (
    Cause,
    CommandResult,
    ConnectFailedError,
    DataSink,
    Ending,
    HelperShell,
    LinkClosed,
    ReachedSink,
    RemoteListener,
    SideChannelError,
    Stage,
    Stream,
)
from termkeep.transport.remote_files import RemoteFiles


def _no_side_channels() -> SideChannelError:
    return SideChannelError("a scripted link has no side channels", Cause.PROTOCOL, "none")


class ScriptedLink:
    """One attached connection under the test's control."""

    def __init__(
        self, sink: DataSink, size: tuple[int, int], *, tmux: bool, reattached_existing: bool
    ) -> None:
        self._sink = sink
        self._tmux = tmux
        self._reattached_existing = reattached_existing
        self.written = bytearray()
        self.replies = bytearray()
        self.sizes = [size]
        self.pings = 0
        self.rtt = 0.05
        self.closed_locally = False
        self.reset_locally = False
        self.unreceived = b""
        """What ``abandon`` gives back: keys written that the server never received."""
        self.abandoning: asyncio.Future[None] | None = None
        """When set, ``abandon`` waits for it (an acknowledgement that may be on its way)."""
        self.broken = False
        """When True, write() raises as a dying transport might."""
        self._ended: asyncio.Future[LinkClosed] = asyncio.get_running_loop().create_future()
        self._answering = asyncio.Event()
        self._answering.set()

    @property
    def tmux(self) -> bool:
        return self._tmux

    @property
    def reattached_existing(self) -> bool:
        return self._reattached_existing

    def write(self, data: bytes) -> None:
        if self.broken:
            raise BrokenPipeError("the transport under this link is gone")
        self.written += data

    def write_reply(self, data: bytes) -> None:
        # The server sees one stream; replies are told apart from keys by ``replies``.
        self.write(data)
        self.replies += data

    def resize(self, cols: int, rows: int) -> None:
        self.sizes.append((cols, rows))

    async def ping(self) -> float:
        self.pings += 1
        # A silent link holds the reply back until it answers again or is gone.
        await self._answering.wait()
        if self.ended:
            raise ConnectFailedError(Cause.SERVER_CLOSED, "closed during a ping")
        return self.rtt

    @property
    def responsive(self) -> bool:
        """Whether pings are answered; turning it back on answers the waiting ones."""
        return self._answering.is_set()

    @responsive.setter
    def responsive(self, value: bool) -> None:
        if value:
            self._answering.set()
        else:
            self._answering.clear()

    def close(self) -> None:
        self.closed_locally = True
        self.end(Ending.LOST, Cause.LOCAL)

    async def abandon(self) -> bytes:
        try:
            if self.abandoning is not None:
                await self.abandoning
            return self.unreceived
        finally:
            self.reset()

    def reset(self) -> None:
        self.reset_locally = True
        self.end(Ending.LOST, Cause.LOCAL)

    async def wait_closed(self) -> LinkClosed:
        return await asyncio.shield(self._ended)

    # No side channels: the supervisor never uses them, and what does is tested against sshd.

    @property
    def connection_closed(self) -> bool:
        return self.ended

    async def run(self, *_args: object, **_options: object) -> CommandResult:
        raise _no_side_channels()

    async def open_helper(self, *_args: object) -> HelperShell:
        raise _no_side_channels()

    async def open_files(self) -> RemoteFiles:
        raise _no_side_channels()

    async def open_channel(self, *_args: object, **_options: object) -> Stream:
        raise _no_side_channels()

    async def listen_remote(self, *_args: object, **_options: object) -> RemoteListener:
        raise _no_side_channels()

    # The server's side, driven by the test.

    def send(self, data: bytes) -> None:
        """The server sends ``data``."""
        self._sink(data)

    def end(self, ending: Ending, cause: Cause | None = None, detail: str = "") -> None:
        """The link ends in the given way."""
        if not self._ended.done():
            self._ended.set_result(LinkClosed(ending, cause, detail))
        self._answering.set()  # waiting pings fail now

    @property
    def ended(self) -> bool:
        return self._ended.done()


class Attempt:
    """One call of the connector, pending until the test decides its outcome."""

    def __init__(
        self,
        sink: DataSink,
        size: tuple[int, int],
        started_at: float,
        reached: ReachedSink | None,
    ) -> None:
        self.sink = sink
        self.size = size
        self.reached = reached
        """Call it to say the server answered this attempt's SYN."""
        self.started_at = started_at
        self.link: ScriptedLink | None = None
        self.outcome: asyncio.Future[ScriptedLink] = asyncio.get_running_loop().create_future()

    def attach(self, *, tmux: bool = True, reattached_existing: bool = True) -> ScriptedLink:
        """The attempt connects and attaches."""
        self.link = ScriptedLink(
            self.sink, self.size, tmux=tmux, reattached_existing=reattached_existing
        )
        self.outcome.set_result(self.link)
        return self.link

    def fail(self, cause: Cause, detail: str = "", stage: Stage = Stage.ACCEPTED) -> None:
        """The attempt fails with ``cause`` at ``stage``."""
        self.outcome.set_exception(ConnectFailedError(cause, detail, stage))

    def crash(self, error: Exception) -> None:
        """The attempt fails with something that is not a ConnectFailedError (a bug)."""
        self.outcome.set_exception(error)

    @property
    def pending(self) -> bool:
        """Neither attached, failed nor cancelled yet."""
        return not self.outcome.done()

    @property
    def cancelled(self) -> bool:
        """The supervisor gave up on this attempt."""
        return self.outcome.cancelled()


class ScriptedConnector:
    """A Connector whose every attempt is an ``Attempt`` the test resolves."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.attempts: list[Attempt] = []

    def __call__(
        self, on_data: DataSink, size: tuple[int, int], reached: ReachedSink | None = None, /
    ) -> asyncio.Future[ScriptedLink]:
        # A plain future, not a coroutine: when the test attaches, the connect has finished
        # at that very moment, which lets a test race it against a cancellation.
        attempt = Attempt(on_data, size, self._clock.now(), reached)
        self.attempts.append(attempt)
        return attempt.outcome


WITHIN = 5.0
"""Real seconds a scripted supervisor gets to reach what a test waits for (wait_until_async)."""
TURN = 0.001
"""How often such a wait looks: a scripted supervisor moves in loop turns, not in time."""


async def settle() -> None:
    """Let every ready task run (a bounded number of loop turns)."""
    for _ in range(20):
        await asyncio.sleep(0)
