"""The real ``Link``s: a PTY channel over an SSH connection (``SshLink``), or the bare
connection that carries ``termkeep tunnel``'s forwards (``ConnectionLink``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from typing import override

import asyncssh

from termkeep.platform.tcp import reset_when_closed
from termkeep.transport.classify import classify, describe, side_channel_failed
from termkeep.transport.link import (
    AttachStrategy,
    Cause,
    ChannelRefusedError,
    CommandResult,
    ConnectFailedError,
    DataSink,
    Ending,
    HelperShell,
    LinkClosed,
    RemoteListener,
    SideChannelError,
    Stream,
    StreamHandler,
    TerminalChannel,
)
from termkeep.transport.remote_files import RemoteFiles
from termkeep.transport.ssh.hops import Hop, close_hops
from termkeep.transport.ssh.sent_keys import SentKeys
from termkeep.transport.ssh.sftp import open_sftp


class PtyChannel(asyncssh.SSHClientSession[bytes]):
    """The session's PTY channel (a ``TerminalChannel``): bytes to the sink, keys and sizes
    to the server, and how it closed."""

    def __init__(self, sink: DataSink) -> None:
        self._sink = sink
        self._chan: asyncssh.SSHClientChannel[bytes] | None = None
        self._closed: asyncio.Future[BaseException | None] = (
            asyncio.get_running_loop().create_future()
        )

    def bind(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:
        """The asyncssh channel this session runs on, once it is open."""
        self._chan = chan

    @property
    def _channel(self) -> asyncssh.SSHClientChannel[bytes]:
        if self._chan is None:
            raise RuntimeError("the PTY channel is not open yet")
        return self._chan

    @property
    def closed(self) -> bool:
        return self._closed.done()

    @property
    def exit_status(self) -> int | None:
        status = self._channel.get_exit_status()
        return status if status is not None and status >= 0 else None

    def deliver_to(self, sink: DataSink) -> None:
        self._sink = sink

    async def wait_closed(self) -> BaseException | None:
        # Shielded: a waiter given up (an attach's race with its report) must not cancel it.
        return await asyncio.shield(self._closed)

    def write(self, data: bytes) -> None:
        if not self._closed.done() and not self._channel.is_closing():
            self._channel.write(data)

    def resize(self, cols: int, rows: int) -> None:
        if not self._channel.is_closing():
            self._channel.change_terminal_size(cols, rows)

    def close(self) -> None:
        self._channel.close()

    def abort(self) -> None:
        self._channel.abort()

    @override
    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        """Both stdout and stderr go to the screen, as in a terminal."""
        self._sink(data)

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        """``exc`` is None for a clean channel close, else why the connection died."""
        if not self._closed.done():
            self._closed.set_result(exc)


class _SshHelperShell:
    """A ``HelperShell`` over an asyncssh process."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes]) -> None:
        self._process = process

    @property
    def closed(self) -> bool:
        return self._process.is_closing()

    def write(self, data: bytes) -> None:
        try:
            self._process.stdin.write(data)
        except (asyncssh.Error, OSError) as exc:
            raise side_channel_failed(exc) from exc

    async def read_until(self, marker: bytes) -> bytes:
        try:
            return await self._process.stdout.readuntil(marker)
        except (asyncssh.Error, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise side_channel_failed(exc) from exc

    def close(self) -> None:
        self._process.close()


def _bytes(output: str | bytes | None) -> bytes:
    # The connection is opened with encoding=None, so output is bytes; None when absent.
    if output is None:
        return b""
    return output if isinstance(output, bytes) else output.encode()


class _SideChannels:
    """``SideChannels`` over the link's SSH connection."""

    def __init__(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    @property
    def connection_closed(self) -> bool:
        return self._conn.is_closed()

    async def run(
        self,
        command: str,
        *,
        timeout: float,  # noqa: ASYNC109 - asyncssh closes the channel when it passes
        stdin: bytes | None = None,
    ) -> CommandResult:
        try:
            result = await self._conn.run(
                command, input=stdin, check=False, request_pty=False, timeout=timeout
            )
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise side_channel_failed(exc) from exc
        return CommandResult(result.exit_status, _bytes(result.stdout), _bytes(result.stderr))

    async def open_helper(self, command: str) -> HelperShell:
        try:
            process = await self._conn.create_process(
                command, encoding=None, request_pty=False, stderr=asyncssh.DEVNULL
            )
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise side_channel_failed(exc) from exc
        return _SshHelperShell(process)

    async def open_files(self) -> RemoteFiles:
        return await open_sftp(self._conn)

    async def open_channel(self, host: str, port: int, *, window: int, max_packet: int) -> Stream:
        try:
            return await self._conn.open_connection(
                host, port, window=window, max_pktsize=max_packet
            )
        except asyncssh.ChannelOpenError as exc:
            prohibited = exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED
            raise ChannelRefusedError(exc.reason, prohibited=prohibited) from exc
        except (asyncssh.Error, OSError) as exc:
            raise side_channel_failed(exc) from exc

    async def listen_remote(
        self, host: str, port: int, handler: StreamHandler, *, window: int, max_packet: int
    ) -> RemoteListener:
        def handler_factory(_orig_host: str, _orig_port: int) -> StreamHandler:
            return handler

        try:
            return await self._conn.start_server(
                handler_factory, host, port, window=window, max_pktsize=max_packet
            )
        except asyncssh.ChannelListenError as exc:
            raise ChannelRefusedError(str(exc)) from exc
        except (asyncssh.Error, OSError) as exc:
            raise side_channel_failed(exc) from exc


async def _ping(conn: asyncssh.SSHClientConnection, channel_closed: Callable[[], bool]) -> float:
    """Round trip of an SSH global request that needs a reply (OpenSSH's keepalive); raises
    ConnectFailedError when the connection (or the link's channel) is gone."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    if conn.is_closed():
        raise ConnectFailedError(Cause.SERVER_CLOSED, "the connection is closed")
    # asyncssh has no public call for a global request; its keepalive uses this one.
    await conn._make_global_request(b"keepalive@openssh.com")
    if conn.is_closed() or channel_closed():
        # asyncssh answers pending requests with a failure when the connection drops.
        raise ConnectFailedError(Cause.SERVER_CLOSED, "the connection closed during a ping")
    return loop.time() - started


class SshLink(_SideChannels):
    """A ``Link`` over a real asyncssh connection and PTY channel; ``attach`` is the strategy
    that attached it (None: a plain login shell)."""

    def __init__(
        self,
        hops: Sequence[Hop],
        channel: TerminalChannel,
        *,
        attach: AttachStrategy | None,
        reattached_existing: bool,
    ) -> None:
        super().__init__(hops[-1].conn)
        self._hops = list(hops)
        self._channel = channel
        self._attach = attach
        self._reattached_existing = reattached_existing
        self._closed_locally = False
        # Only the first hop's own socket carries every byte (a ProxyCommand's pipe does
        # not count): with none, a link given up gives nothing back, see sent_keys.
        first = self._hops[0]
        self._sent_keys = SentKeys(first.sock, lambda: _transport_backlog(first.conn))
        # Decided as soon as the channel closes, while the connection can still ask tmux.
        self._ending = asyncio.ensure_future(self._decide_ending())

    @property
    def tmux(self) -> bool:
        """False when the server has no tmux and this is a plain login shell."""
        return self._attach is not None

    @property
    def reattached_existing(self) -> bool:
        """True when the tmux session existed before this attach."""
        return self._reattached_existing

    @property
    def socket(self) -> socket.socket | None:
        """The TCP socket carrying the link (the first hop's when tunneled)."""
        return next((hop.sock for hop in self._hops if hop.sock is not None), None)

    def write(self, data: bytes) -> None:
        """Send keystrokes; dropped silently once the channel is closing (the supervisor
        holds keys while not attached, so nothing typed after a loss is sent here). Where
        they lie in the TCP stream is noted, for ``abandon``."""
        self._sent_keys.write(self._channel.write, data)

    def write_reply(self, data: bytes) -> None:
        """Straight to the channel: key positions are absolute in the TCP stream, so bytes
        sent beside them do not disturb what ``abandon`` finds."""
        self._channel.write(data)

    def resize(self, cols: int, rows: int) -> None:
        """Change the PTY size (sshd signals SIGWINCH to the remote side)."""
        self._channel.resize(cols, rows)

    async def ping(self) -> float:
        """Round trip of an SSH global request that needs a reply (OpenSSH's keepalive)."""
        return await _ping(self._conn, lambda: self._channel.closed)

    def close(self) -> None:
        """Drop the connection (and jump hops) without touching the tmux session."""
        self._closed_locally = True
        self._close_hops()

    def _close_hops(self) -> None:
        close_hops(self._hops)

    async def abandon(self) -> bytes:
        """Give the link up while it may still be alive: the keys its server never received
        (see sent_keys), then a reset, so that nothing queued on it arrives later."""
        try:
            return await self._sent_keys.unreceived()
        finally:
            self.reset()

    def reset(self) -> None:
        """Reset the connection (and jump hops) at once: nothing queued goes out later."""
        self._closed_locally = True
        _reset_hops(self._hops)

    async def wait_closed(self) -> LinkClosed:
        """Wait until the channel closes, then tell ended, detached and lost apart."""
        return await asyncio.shield(self._ending)

    async def _decide_ending(self) -> LinkClosed:
        exc = await self._channel.wait_closed()
        try:
            return await self._ending_after(exc)
        finally:
            self._close_hops()

    async def _ending_after(self, exc: BaseException | None) -> LinkClosed:
        if self._closed_locally:
            return LinkClosed(Ending.LOST, Cause.LOCAL, "closed by termkeep")
        if exc is not None:
            return LinkClosed(Ending.LOST, classify(exc), describe(exc))
        if self._attach is None:
            return LinkClosed(Ending.ENDED, None, "the shell exited")
        try:
            return await self._attach.ending(self, self._channel.exit_status)
        except SideChannelError as probe_error:
            return LinkClosed(Ending.LOST, probe_error.cause, probe_error.detail)


class ConnectionLink(_SideChannels):
    """A ``Link`` that is only the SSH connection: no channel, no PTY, no tmux. It carries
    ``termkeep tunnel``'s forwards, which a fresh connection takes over completely; so, in
    the supervisor's terms, every new link continues the same "session" (``tmux`` and
    ``reattached_existing`` are True: probes may race the old link, nothing is lost)."""

    tmux = True
    reattached_existing = True

    def __init__(self, hops: Sequence[Hop], lost: asyncio.Future[Exception | None]) -> None:
        super().__init__(hops[-1].conn)
        self._hops = list(hops)
        self._lost = lost
        self._closed_locally = False

    def write(self, data: bytes) -> None:
        """Nothing to type into: keys are not read by ``termkeep tunnel``."""

    def write_reply(self, data: bytes) -> None:
        """No terminal, so no query to answer."""

    def resize(self, cols: int, rows: int) -> None:
        """No PTY to resize."""

    async def ping(self) -> float:
        return await _ping(self._conn, lambda: False)

    def close(self) -> None:
        self._closed_locally = True
        close_hops(self._hops)

    async def abandon(self) -> bytes:
        """Reset the connection at once: no keys are ever written to it."""
        self.reset()
        return b""

    def reset(self) -> None:
        self._closed_locally = True
        _reset_hops(self._hops)

    async def wait_closed(self) -> LinkClosed:
        """A bare connection only ever ends by being lost (or closed by termkeep)."""
        exc = await asyncio.shield(self._lost)
        close_hops(self._hops)
        if self._closed_locally:
            return LinkClosed(Ending.LOST, Cause.LOCAL, "closed by termkeep")
        if exc is None:
            return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the server closed the connection")
        return LinkClosed(Ending.LOST, classify(exc), describe(exc))


def _transport_backlog(conn: asyncssh.SSHClientConnection) -> int:
    """Bytes asyncssh handed to the asyncio transport that are not in the kernel yet."""
    # asyncssh offers no public way to the transport; None once the connection is closed.
    transport: asyncio.WriteTransport | None = getattr(conn, "_transport", None)
    return 0 if transport is None else transport.get_write_buffer_size()


def _reset_hops(hops: Sequence[Hop]) -> None:
    """Abort a chain of connections with a TCP reset: nothing they queued goes out later."""
    for hop in hops:
        if hop.sock is not None:
            reset_when_closed(hop.sock)
    for hop in reversed(hops):
        hop.conn.abort()
