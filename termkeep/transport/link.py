"""The contract between the transport and everything above it.

A ``Link`` is one attached SSH channel running the tab's tmux session (or a login shell when
the server has no tmux). The supervisor only ever sees this protocol, so its logic can be
driven by real connections in integration tests and by scripted links in unit tests.

Besides its terminal, a link carries side channels over the same connection (``SideChannels``):
a command run to its end, a helper shell kept open, a file session (SFTP, remote_files.py),
forwarded TCP streams. They are the only way to reach the connection from outside the
transport, so no asyncssh object (and no asyncssh exception) ever leaves it: failures come as
``SideChannelError``, ``ChannelRefusedError`` or remote_files.py's errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from termkeep.transport.remote_files import RemoteFiles


class Cause(StrEnum):
    """Why a connection attempt failed or an attached link was lost, in plain words."""

    TIMEOUT = "no reply"
    RESET = "connection reset"
    UNREACHABLE = "network unreachable"
    REFUSED = "connection refused"
    DNS = "host name not found"
    """A definite answer: the name does not exist (EAI_NONAME, EAI_NODATA)."""
    DNS_UNAVAILABLE = "host name lookup failed"
    """No definite answer: no resolver reachable (EAI_AGAIN) or another lookup failure."""
    AUTH_FAILED = "authentication failed"
    HOST_KEY_CHANGED = "host key changed"
    HOST_KEY_UNKNOWN = "host key not trusted"
    SERVER_CLOSED = "server closed the connection"
    PROTOCOL = "protocol error"
    CONFIG = "settings cannot be honoured"
    """ssh_config or the profile asks for something termkeep cannot do (a proxy setting it
    cannot apply, say): connecting anyway, directly, would break the user's rule."""
    LOCAL = "closed locally"

    @property
    def retryable(self) -> bool:
        """Whether trying again without the user can help. Auth and host key problems never
        get better by retrying, and retrying them would hammer the server."""
        return self not in _NOT_RETRYABLE

    @property
    def network(self) -> bool:
        """Whether it says the network (or the name service) is down rather than that a
        server answered: nothing replied, no route, nobody listening, no address."""
        return self in _NETWORK

    @property
    def final_at_first_connect(self) -> bool:
        """Whether it ends the first connect, as ssh would: a name that definitely does not
        exist is a typo to fix. During a reconnect it is retried all the same (a captive
        portal or a VPN coming up can make a name resolve again)."""
        return self is Cause.DNS


_NOT_RETRYABLE = frozenset(
    {Cause.AUTH_FAILED, Cause.HOST_KEY_CHANGED, Cause.HOST_KEY_UNKNOWN, Cause.CONFIG}
)
_NETWORK = frozenset(
    {Cause.TIMEOUT, Cause.UNREACHABLE, Cause.REFUSED, Cause.DNS, Cause.DNS_UNAVAILABLE}
)


class Stage(StrEnum):
    """How far a connection attempt got before it failed. Before the server's SSH version
    line nothing but the network (or the server host's kernel) has answered; after it, the
    server accepted us, and a failure there is the server refusing or dropping us."""

    CONNECT = "before the TCP connection"
    """Name lookup and TCP handshake: nothing of the SSH server was reached."""

    GREETING = "before the server's version line"
    """TCP connected, but the SSH server never said who it is (reset, closed, silent)."""

    ACCEPTED = "after the server's version line"
    """The SSH server answered: key exchange, authentication or the attach failed."""


class ConnectFailedError(Exception):
    """A connection attempt failed; ``cause`` says why, ``detail`` is for the status line,
    ``stage`` how far the attempt got (the connector sets it; "accepted" unless known, so
    an unknown failure never counts as a harmless one)."""

    def __init__(self, cause: Cause, detail: str, stage: Stage = Stage.ACCEPTED) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause = cause
        self.detail = detail
        self.stage = stage


class Ending(StrEnum):
    """How an attached link ended. Only ``LOST`` leads to a reconnect."""

    ENDED = "ended"
    """The user's shell exited or the tmux session is gone."""

    DETACHED = "detached"
    """The user detached from tmux; the session lives on the server."""

    LOST = "lost"
    """The network or the server dropped the connection."""


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """What ``Link.wait_closed`` returns."""

    ending: Ending
    cause: Cause | None = None
    detail: str = ""


class SideChannelError(Exception):
    """A side command, helper shell or forward channel failed: the connection went, or no
    answer came in time. The message is the transport's own words; ``cause`` and ``detail``
    say it as a ``ConnectFailedError`` would."""

    def __init__(self, message: str, cause: Cause, detail: str) -> None:
        super().__init__(message)
        self.cause = cause
        self.detail = detail


class ChannelRefusedError(Exception):
    """The server would not open a forwarded channel or listen for one (the connection itself
    is fine). ``reason`` is the server's words; ``prohibited`` means forwarding is not
    allowed there at all (sshd's AllowTcpForwarding)."""

    def __init__(self, reason: str, *, prohibited: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.prohibited = prohibited


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a side command left: its exit status (None when a signal ended it) and output."""

    exit_status: int | None
    stdout: bytes
    stderr: bytes


class HelperShell(Protocol):
    """A command kept running on a side channel (no PTY): requests go to its input, answers
    are read up to a marker the caller chose. Ends with its connection."""

    @property
    def closed(self) -> bool:
        """Whether the command has ended or is ending."""
        ...

    def write(self, data: bytes) -> None:
        """Send ``data`` to the command's input; raises ``SideChannelError``."""
        ...

    async def read_until(self, marker: bytes) -> bytes:
        """The command's output up to and including ``marker``; raises ``SideChannelError``
        when the output ends first."""
        ...

    def close(self) -> None:
        """End the command (it sees the end of its input)."""
        ...


class ByteReader(Protocol):
    """The reading end of a stream: a forwarded channel or a local socket."""

    async def read(self, n: int = -1, /) -> bytes: ...


class ByteWriter(Protocol):
    """The writing end of a stream: a forwarded channel or a local socket."""

    def write(self, data: bytes, /) -> None: ...

    async def drain(self) -> None: ...

    def can_write_eof(self) -> bool: ...

    def write_eof(self) -> None: ...

    def close(self) -> None: ...

    def get_extra_info(self, name: str, default: Any = None, /) -> Any: ...


type Stream = tuple[ByteReader, ByteWriter]
type StreamHandler = Callable[[ByteReader, ByteWriter], Awaitable[None]]
"""Carries one connection the server accepted on a remote forward's port."""


class RemoteListener(Protocol):
    """A port the server listens on for us (``-R``); closing it stops the forward there."""

    def close(self) -> None: ...


class SideChannels(Protocol):
    """What a link offers besides its terminal, all over its own SSH connection (no new
    connection, no new authentication)."""

    @property
    def connection_closed(self) -> bool:
        """Whether the SSH connection under the link has ended (the terminal channel can end
        before it: a detach)."""
        ...

    async def run(
        self,
        command: str,
        *,
        timeout: float,  # noqa: ASYNC109 - the transport closes the channel when it passes
        stdin: bytes | None = None,
    ) -> CommandResult:
        """Run ``command`` without a PTY to its end, ``stdin`` as its input; raises
        ``SideChannelError``, also when ``timeout`` seconds pass (the command's channel is
        closed then; a cancelled run would leave it open until the command ends)."""
        ...

    async def open_helper(self, command: str) -> HelperShell:
        """Start ``command`` without a PTY and keep it running (its stderr is discarded);
        raises ``SideChannelError``."""
        ...

    async def open_files(self) -> RemoteFiles:
        """A file session (SFTP) on the connection; raises ``NoSftpError`` when the server
        offers none, ``SideChannelError`` when the connection is gone."""
        ...

    async def open_channel(self, host: str, port: int, *, window: int, max_packet: int) -> Stream:
        """A stream to ``host:port`` as the server reaches it (``-L``, ``-D``), with the
        given SSH window and largest packet; raises ``ChannelRefusedError`` when the server
        says no, ``SideChannelError`` when the connection is gone."""
        ...

    async def listen_remote(
        self, host: str, port: int, handler: StreamHandler, *, window: int, max_packet: int
    ) -> RemoteListener:
        """Ask the server to listen on ``host:port`` (``-R``; "" is every interface) and run
        ``handler`` for each connection it accepts; raises ``ChannelRefusedError`` when it
        will not, ``SideChannelError`` when the connection is gone."""
        ...


class Link(SideChannels, Protocol):
    """One attached channel. Bytes from the server go to the ``on_data`` given at connect;
    side channels (``SideChannels``) share its connection."""

    @property
    def tmux(self) -> bool:
        """False when the server has no tmux and this is a plain login shell."""
        ...

    @property
    def reattached_existing(self) -> bool:
        """True when the tmux session existed before this attach (same programs, same
        screen), so keys typed during the outage can be delivered."""
        ...

    def write(self, data: bytes) -> None:
        """Send keystrokes to the remote."""
        ...

    def write_reply(self, data: bytes) -> None:
        """Send the terminal's answer to a query the remote made on this link. Not keys:
        ``abandon`` never gives it back, since a stale answer typed into the next link
        would read as keystrokes there."""
        ...

    def resize(self, cols: int, rows: int) -> None:
        """Change the PTY size."""
        ...

    async def ping(self) -> float:
        """Round trip to the server in seconds (an SSH-level request that needs a reply).
        Raises ``ConnectFailedError`` when the connection is gone."""
        ...

    def close(self) -> None:
        """Drop the connection without touching the tmux session."""
        ...

    async def abandon(self) -> bytes:
        """Give the link up while it may still be alive, so that it delivers nothing later:
        find the keys written to it that the server never received, then reset the
        connection (queued bytes discarded). Returns those keys, oldest first; b"" when
        there are none or the transport cannot tell. Cancelled, it resets at once."""
        ...

    def reset(self) -> None:
        """Reset the connection at once, without looking for keys to give back (a link
        being abandoned when the tab closes)."""
        ...

    async def wait_closed(self) -> LinkClosed:
        """Wait until the link ends and say how."""
        ...


type DataSink = Callable[[bytes], None]
type ReachedSink = Callable[[], None]
"""Called once by a connect attempt when the server answered its TCP handshake (SYN-ACK):
from then on the attempt is not waiting on SYN retransmission."""


class TerminalChannel(Protocol):
    """The PTY channel a session runs in, as the attach strategy and the link see it."""

    @property
    def closed(self) -> bool:
        """Whether the channel has closed (its command ended or the connection went)."""
        ...

    @property
    def exit_status(self) -> int | None:
        """The command's exit status once it ended; None when it gave none (a signal)."""
        ...

    def deliver_to(self, sink: DataSink) -> None:
        """Send the channel's bytes (stdout and stderr, as a terminal shows both) to ``sink``
        from now on."""
        ...

    async def wait_closed(self) -> BaseException | None:
        """Wait until the channel closes: None for a clean close, else why the connection
        died."""
        ...

    def write(self, data: bytes) -> None:
        """Send keystrokes; dropped once the channel is closing."""
        ...

    def resize(self, cols: int, rows: int) -> None:
        """Change the PTY size (sshd signals SIGWINCH to the remote side)."""
        ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


type OpenTerminal = Callable[[str | None, DataSink], Awaitable[TerminalChannel]]
"""Opens the session's PTY channel on a fresh connection, running a command (None: the login
shell) with its first bytes going to the given sink."""


class AgentState(StrEnum):
    """Whether a fresh connection forwards the local SSH agent, as its attach must know: the
    attach keeps a stable path to the agent on the server (``tmux.agent``)."""

    OFF = "off"
    """The profile does not forward the agent: the server's agent settings are left alone."""

    FORWARDED = "forwarded"
    """The connection asked the server to forward the agent."""

    MISSING = "missing"
    """The profile forwards the agent, but there is none to forward now (no local agent):
    the server must not keep pointing at an agent of an earlier connection."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """What an attach strategy's ``attach`` found."""

    report: str
    """What the attach found, in a word, for the trace log (``existed``, ``new``, ...)."""
    channel: TerminalChannel | None
    """The attached channel; None when the host cannot run the strategy (no tmux there):
    the connector then opens a login shell instead."""
    existed: bool = False
    """The session existed before (same programs, same screen): keys typed during an outage
    can be delivered."""


class AttachStrategy(Protocol):
    """How a fresh connection attaches the tab's session. The caller chooses one and hands
    it to the connector (none: a plain login shell); the connector runs it on every connect.
    Today's is a plain ``tmux new-session -A`` (``tmux.attach.PlainAttach``); a tmux
    control-mode client would be another."""

    async def attach(
        self, open_terminal: OpenTerminal, on_data: DataSink, *, agent: AgentState = AgentState.OFF
    ) -> Attachment:
        """Open the terminal channel, attach, and say what was found. Bytes meant for the
        screen go to ``on_data``; ``agent`` says whether this connection forwards the SSH
        agent. Raises ``ConnectFailedError`` (or the transport's error, which the connector
        classifies)."""
        ...

    def unavailable_notice(self, host: str) -> str:
        """What the user is told (once) when ``host`` cannot run this strategy."""
        ...

    async def ending(self, side: SideChannels, exit_status: int | None) -> LinkClosed:
        """How a cleanly closed attached channel ended (detached, ended, or lost after all),
        asking the host through ``side`` if need be; ``SideChannelError`` when it cannot
        be asked."""
        ...


class Connector(Protocol):
    """Makes one fresh connection and attaches: ``connect(on_data, (cols, rows), reached)``.
    Raises ``ConnectFailedError``. The supervisor calls it for the first attach and for every
    probe; ``reached`` (optional) hears when the server answered the TCP handshake."""

    def __call__(
        self, on_data: DataSink, size: tuple[int, int], reached: ReachedSink | None = None, /
    ) -> Awaitable[Link]: ...


def retrieve_quietly(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's exception as read. For futures whose failure may have no
    reader left (its waiter was cancelled, or another failure is the one reported): asyncio
    would otherwise write "Future exception was never retrieved" to the error log, as if
    something unexpected had happened. Whoever does await the future still gets the error."""
    if not future.cancelled():
        future.exception()
