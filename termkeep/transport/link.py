"""The contract between the transport and the supervisor.

A ``Link`` is one attached SSH channel running the tab's tmux session (or a login shell when
the server has no tmux). The supervisor only ever sees this protocol, so its logic can be
driven by real connections in integration tests and by scripted links in unit tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


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


class Link(Protocol):
    """One attached channel. Bytes from the server go to the ``on_data`` given at connect."""

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

    async def wait_closed(self) -> LinkClosed:
        """Wait until the link ends and say how."""
        ...


type DataSink = Callable[[bytes], None]
type ReachedSink = Callable[[], None]
"""Called once by a connect attempt when the server answered its TCP handshake (SYN-ACK):
from then on the attempt is not waiting on SYN retransmission."""


class Connector(Protocol):
    """Makes one fresh connection and attaches: ``connect(on_data, (cols, rows), reached)``.
    Raises ``ConnectFailedError``. The supervisor calls it for the first attach and for every
    probe; ``reached`` (optional) hears when the server answered the TCP handshake."""

    def __call__(
        self, on_data: DataSink, size: tuple[int, int], reached: ReachedSink | None = None, /
    ) -> Awaitable[Link]: ...
