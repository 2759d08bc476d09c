"""The forwards of one tab (or of one ``termkeep tunnel`` profile), kept through outages.

The trick that makes a tunnel survive a reconnect: the local listeners (``-L``, ``-D``) belong
to this module, not to an SSH connection. They are bound once, when the tab starts, and stay
bound while links come and go, so the client's port never changes. Each accepted connection
is carried over whatever link is current (``SideChannels.open_channel``, a direct-tcpip
channel); one that arrives while there is none waits, bounded by ``hold_for``, for the next
attach. Remote forwards (``-R``) live on the server, so they die with the connection and
are requested again (``SideChannels.listen_remote``) on every attach.

A stream that was open when its SSH connection died cannot be saved: TCP state on both ends
is gone. It is cut with a reset, so the client sees an error rather than a clean end of a
truncated transfer, and it is counted and reported as broken.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import asyncssh

from termkeep.config.forwards import Forward, ForwardKind, bracketed
from termkeep.transport import socks5
from termkeep.transport.link import (
    ByteReader,
    ByteWriter,
    ChannelRefusedError,
    RemoteListener,
    SideChannelError,
    SideChannels,
)

_log = logging.getLogger(__name__)

HOLD_FOR_SECONDS = 15.0
"""How long a connection made during an outage waits for the reattach before it is closed."""

CHUNK = 256 * 1024
"""Bytes read at a time; large reads keep the per-chunk Python cost small on bulk streams."""

WINDOW = 8 * 1024 * 1024
"""SSH channel window of each forwarded connection: how much the far side may send before
we acknowledge. A bulk stream moves at most a window per round trip, so asyncssh's 2 MiB
default would cap a 200 ms link at 10 MB/s; 8 MiB lifts that to 40 MB/s (memory is spent
only when the local program reads slower than the link delivers)."""

MAX_PACKET = 256 * 1024
"""Largest data packet we accept on a forwarded channel. OpenSSH sends up to what we
advertise; asyncssh's 32 KiB default made the per-packet Python work the bottleneck of a
bulk stream (measured: ~150 MB/s with 32 KiB, ~350 MB/s with 256 KiB, ssh -L ~300)."""

LOCAL_FALLBACK = "127.0.0.1"

REMOTE_RETRY_FIRST = 0.25
REMOTE_RETRY_MAX = 10.0
"""Pauses between requests for a remote forward the server refused after a reconnect."""
"""Bound when ``localhost`` cannot be (a host without IPv6 on its loopback, for instance)."""


class TunnelState(StrEnum):
    """What one forward can do right now."""

    STARTING = "starting"
    """Not set up yet."""

    WAITING = "waiting"
    """No SSH connection: a local listener holds new connections until the reattach; a
    remote forward is gone until then."""

    UP = "up"
    """Carrying connections."""

    FAILED = "failed"
    """Could not be set up (``error`` says why); the other forwards are not affected."""


type TunnelEvents = Callable[["Tunnel", str, bool], None]
"""Told about each change of a forward, in plain words, and whether it is notable (a failure
or a cut connection, worth a notice in a tab) or routine (up, waiting: a line in
``termkeep tunnel``'s output, a count in the status line)."""


@dataclass(slots=True, eq=False)
class Tunnel:
    """One forward and what it has done."""

    forward: Forward
    state: TunnelState = TunnelState.STARTING
    error: str | None = None
    """Why it failed, or what last went wrong for a connection through it."""

    open: int = 0
    """Connections being carried now."""

    total: int = 0
    """Connections accepted since the tab started."""

    broken: int = 0
    """Connections cut because their SSH connection died."""

    bytes_sent: int = 0
    """Bytes from the side that connected towards the destination."""

    bytes_received: int = 0
    """Bytes from the destination back."""

    _server: asyncio.Server | None = field(default=None, repr=False)
    _listener: RemoteListener | None = field(default=None, repr=False)
    _listener_link: SideChannels | None = field(default=None, repr=False)
    """The link whose connection the server-side listener of a remote forward belongs to."""
    _granted_before: bool = field(default=False, repr=False)
    """The server once granted this remote forward, so a refusal now is most likely the
    previous connection's sshd still holding the port."""
    _retry: asyncio.Task[None] | None = field(default=None, repr=False)
    _streams: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @property
    def listening_on(self) -> str:
        """Where the listener is, as ssh writes it (``localhost:8080``, ``server *:9000``)."""
        where = self.forward.listen_on
        return f"server {where}" if self.forward.kind is ForwardKind.REMOTE else where


class TunnelSet:
    """Every forward of one tab. ``start`` binds the local listeners, ``attach``/``detach``
    follow the tab's link (its SSH connection), ``close`` ends it all."""

    def __init__(
        self,
        forwards: Iterable[Forward],
        *,
        on_event: TunnelEvents | None = None,
        hold_for: float = HOLD_FOR_SECONDS,
    ) -> None:
        self.tunnels = [Tunnel(forward) for forward in forwards]
        self._on_event = on_event
        self._hold_for = hold_for
        self._link: SideChannels | None = None
        self._attached = asyncio.Event()
        self._closed = False
        self._watchers: list[Callable[[], None]] = []

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every state change and every forward added or removed
        (byte and connection counts change too often for that: a view polls them)."""
        self._watchers.append(callback)

    def _changed(self) -> None:
        for callback in self._watchers:
            callback()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind every local and SOCKS listener (a busy port fails that forward alone)."""
        for tunnel in list(self.tunnels):
            if tunnel.forward.kind is not ForwardKind.REMOTE:
                await self._listen_locally(tunnel)

    async def attach(self, link: SideChannels) -> None:
        """Carry everything over ``link``'s connection from now on: wake the held
        connections and ask the server for the remote forwards."""
        if self._closed or link is self._link:
            return
        self._link = link
        self._attached.set()
        for tunnel in list(self.tunnels):
            await self._bring_up(tunnel, link)

    def detach(self) -> None:
        """The connection is down or in doubt: new local connections wait for the next one.
        Streams already open stay on their connection until it is known dead (a stall may
        end with the same connection answering again)."""
        self._link = None
        self._attached.clear()
        if self._closed:
            return
        for tunnel in self.tunnels:
            if tunnel.state is TunnelState.UP:
                # A remote forward's listener stays known: if the same connection comes back
                # from a stall, it is still there on the server and must not be asked twice.
                self._set(tunnel, TunnelState.WAITING, "waiting for the connection")

    async def close(self) -> None:
        """Close every listener and cut every connection."""
        self._closed = True
        self._link = None
        for tunnel in list(self.tunnels):
            await self._stop(tunnel)

    async def add(self, forward: Forward) -> Tunnel:
        """Set up one more forward on the running set."""
        tunnel = Tunnel(forward)
        self.tunnels.append(tunnel)
        if forward.kind is not ForwardKind.REMOTE:
            await self._listen_locally(tunnel)
        if self._link is not None:
            await self._bring_up(tunnel, self._link)
        self._changed()
        return tunnel

    async def remove(self, tunnel: Tunnel) -> None:
        """Stop one forward: its listener closes and its connections are cut."""
        if tunnel in self.tunnels:
            self.tunnels.remove(tunnel)
            await self._stop(tunnel)
            self._changed()

    @property
    def failed(self) -> list[Tunnel]:
        return [tunnel for tunnel in self.tunnels if tunnel.state is TunnelState.FAILED]

    @property
    def forwards(self) -> tuple[Forward, ...]:
        """The forwards running now, in order (what "save to the profile" writes)."""
        return tuple(tunnel.forward for tunnel in self.tunnels)

    # --- state ----------------------------------------------------------------------------

    def _set(self, tunnel: Tunnel, state: TunnelState, text: str) -> None:
        tunnel.state = state
        failed = state is TunnelState.FAILED
        if failed:
            tunnel.error = text
        self._tell(tunnel, text, notable=failed)

    def _tell(self, tunnel: Tunnel, text: str, *, notable: bool = True) -> None:
        if self._on_event is not None:
            self._on_event(tunnel, text, notable)
        self._changed()

    async def _stop(self, tunnel: Tunnel) -> None:
        if tunnel._server is not None:
            tunnel._server.close()
            tunnel._server = None
        if tunnel._retry is not None:
            tunnel._retry.cancel()
        if tunnel._listener is not None:
            with contextlib.suppress(Exception):
                tunnel._listener.close()
            tunnel._listener = None
        for task in list(tunnel._streams):
            task.cancel()
        if tunnel._streams:
            await asyncio.gather(*tunnel._streams, return_exceptions=True)

    # --- local and SOCKS listeners ---------------------------------------------------------

    async def _listen_locally(self, tunnel: Tunnel) -> None:
        forward = tunnel.forward
        try:
            tunnel._server = await _bind(forward, lambda r, w: self._accepted(tunnel, r, w))
        except OSError as error:
            self._set(tunnel, TunnelState.FAILED, _bind_problem(tunnel, error))
            return
        if self._link is None:
            self._set(tunnel, TunnelState.WAITING, f"listening on {tunnel.listening_on}")

    async def _bring_up(self, tunnel: Tunnel, link: SideChannels) -> None:
        if tunnel.forward.kind is ForwardKind.REMOTE:
            await self._request_remote(tunnel, link)
        elif tunnel._server is not None:
            self._set(tunnel, TunnelState.UP, f"up on {tunnel.listening_on}")

    def _accepted(
        self, tunnel: Tunnel, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        _track(tunnel, asyncio.ensure_future(self._carry_local(tunnel, reader, writer)))

    async def _carry_local(
        self, tunnel: Tunnel, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        tunnel.total += 1
        tunnel.open += 1
        try:
            await self._carry_one_local(tunnel, reader, writer)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, socks5.SocksError) as error:
            _log.debug("local connection through %s ended: %s", tunnel.forward.flag, error)
        finally:
            tunnel.open -= 1
            writer.close()

    async def _carry_one_local(
        self, tunnel: Tunnel, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        forward = tunnel.forward
        socks = forward.kind is ForwardKind.DYNAMIC
        if socks:
            request = await socks5.read_request(reader, writer)
            host, port = request.host, request.port
        else:
            host, port = forward.dest_host or "", forward.dest_port or 0
        link = await self._current_link()
        if link is None:
            self._tell(tunnel, f"a connection waited {self._hold_for:g} s for the link; closed")
            if socks:
                await socks5.reply(writer, socks5.Reply.NETWORK_UNREACHABLE)
            return
        try:
            remote = await link.open_channel(host, port, window=WINDOW, max_packet=MAX_PACKET)
        except ChannelRefusedError as error:
            tunnel.error = (
                f"cannot reach {bracketed(host)}:{port} from the server: {_reason(error)}"
            )
            self._tell(tunnel, tunnel.error)
            if socks:
                await socks5.reply(writer, _socks_reply(error))
            return
        except SideChannelError as error:
            # The connection died between the attach and this channel: the client retries.
            tunnel.error = f"the connection dropped while opening: {error}"
            return
        if socks:
            await socks5.reply(writer, socks5.Reply.SUCCEEDED)
        await self._pump(tunnel, link, (reader, writer), remote)

    async def _current_link(self) -> SideChannels | None:
        """The current link, waiting up to ``hold_for`` for one during an outage."""
        if self._link is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._hold_for):
                    await self._attached.wait()
        return self._link

    # --- remote forwards ------------------------------------------------------------------

    async def _request_remote(self, tunnel: Tunnel, link: SideChannels) -> None:
        if tunnel._listener is not None and tunnel._listener_link is link:
            self._set(tunnel, TunnelState.UP, f"up on {tunnel.listening_on}")
            return
        tunnel._listener = tunnel._listener_link = None  # gone with its connection
        try:
            await self._listen_on_server(tunnel, link)
        except ChannelRefusedError:
            self._refused(tunnel, link)
        except SideChannelError as error:
            _log.debug("remote forward request failed as the link went: %s", error)

    async def _listen_on_server(self, tunnel: Tunnel, link: SideChannels) -> None:
        """Ask the server to listen for ``tunnel``; raises ChannelRefusedError if it will
        not."""

        async def carry(reader: ByteReader, writer: ByteWriter) -> None:
            await self._carry_remote(tunnel, link, reader, writer)

        forward = tunnel.forward
        tunnel._listener = await link.listen_remote(
            forward.bind_host, forward.listen_port, carry, window=WINDOW, max_packet=MAX_PACKET
        )
        tunnel._listener_link = link
        tunnel._granted_before = True
        tunnel.error = None
        self._set(tunnel, TunnelState.UP, f"up on {tunnel.listening_on}")

    def _refused(self, tunnel: Tunnel, link: SideChannels) -> None:
        if not tunnel._granted_before:
            self._set(
                tunnel,
                TunnelState.FAILED,
                f"the server refused to listen on {tunnel.listening_on}: forwarding is not "
                "allowed there (sshd AllowTcpForwarding) or the port is taken on the server",
            )
            return
        # After a reconnect the old connection's sshd often still holds the port: until it
        # notices the old connection is gone (at once when termkeep closed it, else after
        # the server's own keepalive), ask again with a growing pause.
        if tunnel._retry is None or tunnel._retry.done():
            self._set(
                tunnel,
                TunnelState.WAITING,
                f"{tunnel.listening_on} is still held by the previous connection; asking again",
            )
            tunnel._retry = asyncio.ensure_future(self._ask_again(tunnel, link))

    async def _ask_again(self, tunnel: Tunnel, link: SideChannels) -> None:
        pause = REMOTE_RETRY_FIRST
        while self._link is link and tunnel in self.tunnels and not link.connection_closed:
            await asyncio.sleep(pause)
            pause = min(pause * 2, REMOTE_RETRY_MAX)
            if self._link is not link or tunnel.state is TunnelState.UP:
                return
            try:
                await self._listen_on_server(tunnel, link)
            except ChannelRefusedError:
                continue
            except SideChannelError:
                return
            return

    async def _carry_remote(
        self, tunnel: Tunnel, link: SideChannels, reader: ByteReader, writer: ByteWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:  # asyncssh runs each handler as a task of its own
            _track(tunnel, task)
        tunnel.total += 1
        tunnel.open += 1
        forward = tunnel.forward
        try:
            try:
                local = await asyncio.open_connection(forward.dest_host, forward.dest_port)
            except OSError as error:
                tunnel.error = (
                    f"cannot reach {forward.destination} from here: {error.strerror or error}"
                )
                self._tell(tunnel, tunnel.error)
                return
            # Bytes the server side sends travel "to the destination" here too.
            await self._pump(tunnel, link, (reader, writer), local)
        finally:
            tunnel.open -= 1
            writer.close()

    # --- carrying bytes -------------------------------------------------------------------

    async def _pump(
        self,
        tunnel: Tunnel,
        link: SideChannels,
        client: tuple[ByteReader, ByteWriter],
        destination: tuple[ByteReader, ByteWriter],
    ) -> None:
        """Copy both ways until both sides have ended; cut the client with a reset when the
        SSH connection died under the stream."""
        client_reader, client_writer = client
        dest_reader, dest_writer = destination
        pending = {
            asyncio.ensure_future(_copy(client_reader, dest_writer, tunnel, sent=True)),
            asyncio.ensure_future(_copy(dest_reader, client_writer, tunnel, sent=False)),
        }
        try:
            while pending:
                _done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if link.connection_closed:
                    break  # the other direction may wait forever on a silent client
        finally:
            for copying in pending:
                copying.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            dest_writer.close()
        # A dying connection ends its channels with a plain end of file, so a clean-looking
        # end is told apart by whether the connection is still there.
        if link.connection_closed:
            tunnel.broken += 1
            _reset(client_writer)
            self._tell(tunnel, "a connection through it was cut by the outage")


def _track(tunnel: Tunnel, task: asyncio.Task[None]) -> None:
    """Keep ``task`` (one carried connection) until it ends, so stopping the forward can
    cut it."""
    tunnel._streams.add(task)
    task.add_done_callback(tunnel._streams.discard)


async def _copy(reader: ByteReader, writer: ByteWriter, tunnel: Tunnel, *, sent: bool) -> None:
    """Copy until end of file and pass the end on (a half-close, as ssh does)."""
    with contextlib.suppress(OSError, asyncssh.Error, asyncio.IncompleteReadError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            if sent:
                tunnel.bytes_sent += len(data)
            else:
                tunnel.bytes_received += len(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


def _reset(writer: ByteWriter) -> None:
    """Close with RST (SO_LINGER 0): a client must not take a cut stream for a whole one."""
    sock = writer.get_extra_info("socket")
    if isinstance(sock, socket.socket) or hasattr(sock, "setsockopt"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _bind(
    forward: Forward,
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], None],
) -> asyncio.Server:
    host = forward.bind_host or None  # "" (ssh's "*") means every interface
    try:
        return await asyncio.start_server(handler, host, forward.listen_port, reuse_address=True)
    except OSError as error:
        if host != "localhost" or error.errno != errno.EADDRNOTAVAIL:
            raise
    # "localhost" includes ::1, which some hosts do not have: IPv4 loopback alone, as ssh.
    return await asyncio.start_server(
        handler, LOCAL_FALLBACK, forward.listen_port, reuse_address=True
    )


def _bind_problem(tunnel: Tunnel, error: OSError) -> str:
    where = tunnel.listening_on
    if error.errno == errno.EADDRINUSE:
        return f"{where} is already in use by another program; pick another port"
    if error.errno == errno.EACCES:
        return f"{where}: ports below 1024 need root; pick a port from 1024 up"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{where}: this machine has no such address"
    return f"cannot listen on {where}: {error.strerror or error}"


def _reason(error: ChannelRefusedError) -> str:
    if error.prohibited:
        return "the server does not allow forwarding (sshd AllowTcpForwarding)"
    text = error.reason.strip() or "refused"
    return text[0].lower() + text[1:]


def _socks_reply(error: ChannelRefusedError) -> socks5.Reply:
    if error.prohibited:
        return socks5.Reply.NOT_ALLOWED
    if "refused" in error.reason.lower():
        return socks5.Reply.CONNECTION_REFUSED
    return socks5.Reply.HOST_UNREACHABLE
