"""The real ``Link``s: a PTY channel over an SSH connection (``SshLink``), or the bare
connection that carries ``termkeep tunnel``'s forwards (``ConnectionLink``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from typing import override

import asyncssh

from termkeep.transport import tmux
from termkeep.transport.classify import classify, describe, side_channel_failed
from termkeep.transport.link import (
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
)
from termkeep.transport.ssh.hops import Hop, close_hops


class PtyChannel(asyncssh.SSHClientSession[bytes]):
    """Forwards bytes to the sink and remembers how the channel closed. With a ``scanner``
    the attach report is taken out of the first bytes and resolves ``report``."""

    def __init__(self, on_data: DataSink, scanner: tmux.AttachReportScanner | None = None) -> None:
        self._on_data = on_data
        self._scanner = scanner
        loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[BaseException | None] = loop.create_future()
        self.report: asyncio.Future[tmux.AttachReport] = loop.create_future()

    @override
    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        """Both stdout and stderr go to the screen, as in a terminal."""
        if self._scanner is not None:
            if self._scanner.report is tmux.AttachReport.NO_TMUX:
                return  # this channel only said so and exits; a login shell follows
            if not self.report.done():
                data = self._scan(self._scanner, data)
        if data:
            self._on_data(data)

    def _scan(self, scanner: tmux.AttachReportScanner, data: bytes) -> bytes:
        try:
            shown = scanner.feed(data)
        except ValueError as exc:
            self.report.set_exception(ConnectFailedError(Cause.PROTOCOL, str(exc)))
            return b""
        if scanner.report is not None:
            self.report.set_result(scanner.report)
            if scanner.report is tmux.AttachReport.NO_TMUX:
                return b""
        return shown

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        """``exc`` is None for a clean channel close, else why the connection died."""
        if self._scanner is not None and not self.report.done():
            self.report.set_exception(
                exc or ConnectFailedError(Cause.SERVER_CLOSED, "the attach command ended early")
            )
        if not self.closed.done():
            self.closed.set_result(exc)


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
    """A ``Link`` over a real asyncssh connection and PTY channel."""

    def __init__(
        self,
        hops: Sequence[Hop],
        chan: asyncssh.SSHClientChannel[bytes],
        channel: PtyChannel,
        *,
        tmux_session: str | None,
        reattached_existing: bool,
        probe_timeout: float,
    ) -> None:
        super().__init__(hops[-1].conn)
        self._hops = list(hops)
        self._chan = chan
        self._channel = channel
        self._tmux_session = tmux_session
        self._reattached_existing = reattached_existing
        self._probe_timeout = probe_timeout
        self._closed_locally = False
        # Decided as soon as the channel closes, while the connection can still ask tmux.
        self._ending = asyncio.ensure_future(self._decide_ending())

    @property
    def tmux(self) -> bool:
        """False when the server has no tmux and this is a plain login shell."""
        return self._tmux_session is not None

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
        holds keys while not attached, so nothing typed after a loss is sent here)."""
        if not self._channel.closed.done() and not self._chan.is_closing():
            self._chan.write(data)

    def resize(self, cols: int, rows: int) -> None:
        """Change the PTY size (sshd signals SIGWINCH to the remote side)."""
        if not self._chan.is_closing():
            self._chan.change_terminal_size(cols, rows)

    async def ping(self) -> float:
        """Round trip of an SSH global request that needs a reply (OpenSSH's keepalive)."""
        return await _ping(self._conn, self._channel.closed.done)

    def close(self) -> None:
        """Drop the connection (and jump hops) without touching the tmux session."""
        self._closed_locally = True
        self._close_hops()

    def _close_hops(self) -> None:
        close_hops(self._hops)

    async def wait_closed(self) -> LinkClosed:
        """Wait until the channel closes, then tell ended, detached and lost apart."""
        return await asyncio.shield(self._ending)

    async def _decide_ending(self) -> LinkClosed:
        exc = await self._channel.closed
        try:
            return await self._ending_after(exc)
        finally:
            self._close_hops()

    async def _ending_after(self, exc: BaseException | None) -> LinkClosed:
        if self._closed_locally:
            return LinkClosed(Ending.LOST, Cause.LOCAL, "closed by termkeep")
        if exc is not None:
            return LinkClosed(Ending.LOST, classify(exc), describe(exc))
        if self._tmux_session is None:
            return LinkClosed(Ending.ENDED, None, "the shell exited")
        try:
            alive = await self._session_alive(self._tmux_session)
        except SideChannelError as probe_error:
            return LinkClosed(Ending.LOST, probe_error.cause, probe_error.detail)
        return self._tmux_ending(alive)

    def _tmux_ending(self, alive: bool) -> LinkClosed:
        status = self._chan.get_exit_status()
        verdict = tmux.TmuxExit(status if status is not None and status >= 0 else None, alive)
        if verdict.detached:
            return LinkClosed(Ending.DETACHED, None, "detached from tmux")
        if verdict.ended:
            return LinkClosed(Ending.ENDED, None, "the tmux session ended")
        if alive:
            return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the tmux client stopped")
        return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the tmux server on the host exited")

    async def _session_alive(self, session: str) -> bool:
        result = await self.run(tmux.has_session_command(session), timeout=self._probe_timeout)
        return result.exit_status == tmux.ProbeResult.EXISTS


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

    def resize(self, cols: int, rows: int) -> None:
        """No PTY to resize."""

    async def ping(self) -> float:
        return await _ping(self._conn, lambda: False)

    def close(self) -> None:
        self._closed_locally = True
        close_hops(self._hops)

    async def wait_closed(self) -> LinkClosed:
        """A bare connection only ever ends by being lost (or closed by termkeep)."""
        exc = await asyncio.shield(self._lost)
        close_hops(self._hops)
        if self._closed_locally:
            return LinkClosed(Ending.LOST, Cause.LOCAL, "closed by termkeep")
        if exc is None:
            return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the server closed the connection")
        return LinkClosed(Ending.LOST, classify(exc), describe(exc))
