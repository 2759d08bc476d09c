"""The vocabulary of the supervisor's state machine: events in, effects out.

Events say what happened (a probe attached, bytes arrived, the user typed, a timer fired);
effects say what the runner must do (start a probe, close a link, send keys, arm the
timer). Both are plain frozen data, so a test can write them down as a table. The state
machine itself is in state.py; the runner that turns the world into events and carries out
the effects is supervisor.py.

Links and probes are named by integer ids: a probe that wins keeps its id as the link id.
"""

from __future__ import annotations

from dataclasses import dataclass

from termkeep.transport.link import Cause, Ending, Stage

# --------------------------------------------------------------------------------------------
# Events: what happened.


@dataclass(frozen=True, slots=True)
class ConnectRequested:
    """Start the first connection."""


@dataclass(frozen=True, slots=True)
class ProbeSucceeded:
    """Probe ``probe`` connected and attached; it can become the active link."""

    probe: int
    reattached_existing: bool
    tmux: bool


@dataclass(frozen=True, slots=True)
class ProbeReached:
    """Probe ``probe``'s TCP handshake completed: the server answered its SYN, so it is no
    longer waiting on SYN retransmission."""

    probe: int


@dataclass(frozen=True, slots=True)
class ProbeFailed:
    """Probe ``probe`` could not connect or attach; ``stage`` says how far it got."""

    probe: int
    cause: Cause
    detail: str = ""
    stage: Stage = Stage.ACCEPTED

    @property
    def network_down(self) -> bool:
        """The network (or the server host) is down, as opposed to a server that accepted
        us and then refused or dropped us: nothing answered, nobody listened, or the SSH
        server never said its version line. Such failures cost the server nothing and
        never slow the next probe down."""
        return self.cause.network or self.stage is not Stage.ACCEPTED


@dataclass(frozen=True, slots=True)
class DataReceived:
    """Bytes arrived from link ``link`` (they went to the output sink already)."""

    link: int


@dataclass(frozen=True, slots=True)
class KeyTyped:
    """The user typed; ``data`` is what the terminal encoded."""

    data: bytes


@dataclass(frozen=True, slots=True)
class TerminalReply:
    """The terminal answered a query (DA, a cursor position report) the remote sent over
    link ``link``; None when no link's bytes were being shown (nobody asked). Not typing:
    it is sent at once or never, and only to the connection that asked."""

    link: int | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Resized:
    """The user's view changed size."""

    cols: int
    rows: int


@dataclass(frozen=True, slots=True)
class PingReplied:
    """Link ``link`` answered a ping after ``rtt`` seconds."""

    link: int
    rtt: float


@dataclass(frozen=True, slots=True)
class Tick:
    """The timer armed by the last ``ScheduleTimer`` fired."""


@dataclass(frozen=True, slots=True)
class LinkEnded:
    """Link ``link`` ended; ``ending`` says how (only LOST leads to a reconnect)."""

    link: int
    ending: Ending
    cause: Cause | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LinkReset:
    """Link ``link``, given up by ``ResetLink``, is reset; ``unsent`` are the keys written to
    it that its server never received, oldest first. Empty when there are none, and when the
    transport cannot tell which: then nothing is sent twice, at the cost of what was lost."""

    link: int
    unsent: bytes = b""


@dataclass(frozen=True, slots=True)
class NetworkChanged:
    """A local address or route changed: old connections may be dead, new ones may work."""


@dataclass(frozen=True, slots=True)
class ReconnectNow:
    """The user asked to reconnect at once."""


@dataclass(frozen=True, slots=True)
class UserResolved:
    """The user fixed what stopped us (credentials, host key) and wants to connect again."""


@dataclass(frozen=True, slots=True)
class CloseRequested:
    """The tab is closing: stop everything."""


type Event = (
    ConnectRequested
    | ProbeSucceeded
    | ProbeReached
    | ProbeFailed
    | DataReceived
    | KeyTyped
    | TerminalReply
    | Resized
    | PingReplied
    | Tick
    | LinkEnded
    | LinkReset
    | NetworkChanged
    | ReconnectNow
    | UserResolved
    | CloseRequested
)


# --------------------------------------------------------------------------------------------
# Effects: what the runner must do.


@dataclass(frozen=True, slots=True)
class StartProbe:
    """Make a fresh connection with id ``probe`` at terminal size ``size``. The connector
    bounds it with the profile's connect timeout (paused while a prompt is open)."""

    probe: int
    size: tuple[int, int]


@dataclass(frozen=True, slots=True)
class CancelProbe:
    """Abandon probe ``probe`` (and close its link if it attached meanwhile)."""

    probe: int


@dataclass(frozen=True, slots=True)
class CloseLink:
    """Close link ``link`` without touching its tmux session."""

    link: int


@dataclass(frozen=True, slots=True)
class ResetLink:
    """Give up link ``link``, which may still be alive, so that it delivers nothing later.

    A graceful close would leave the keys queued on it to the kernel, which resends them
    when the network returns: they would reach the tmux session after keys sent since over
    another link. The runner first finds the keys the server never received, then resets
    the connection (TCP RST, queues discarded) and answers with ``LinkReset``.
    """

    link: int


@dataclass(frozen=True, slots=True)
class Promote:
    """Probe ``probe`` becomes the active link: its data goes to the output sink from now."""

    probe: int


@dataclass(frozen=True, slots=True)
class SendKeys:
    """Write ``data`` to the active link."""

    data: bytes


@dataclass(frozen=True, slots=True)
class SendReply:
    """Write the terminal's reply ``data`` to link ``link``, the one its query came over."""

    link: int
    data: bytes


@dataclass(frozen=True, slots=True)
class DeliverHeldKeys:
    """Write the keys held during the outage to the (same) session, now reattached."""

    data: bytes


@dataclass(frozen=True, slots=True)
class DiscardHeldKeys:
    """``count`` held bytes are thrown away (a ``Notify`` explains why)."""

    count: int


@dataclass(frozen=True, slots=True)
class ApplyResize:
    """Resize the active link's PTY."""

    cols: int
    rows: int


@dataclass(frozen=True, slots=True)
class SendPing:
    """Ping link ``link``; the reply comes back as ``PingReplied``."""

    link: int


@dataclass(frozen=True, slots=True)
class ScheduleTimer:
    """Send a ``Tick`` at monotonic time ``at``, replacing any earlier timer; None: no timer."""

    at: float | None


@dataclass(frozen=True, slots=True)
class Notify:
    """A plain-words notice for the user, e.g. ``reattached after 0.4 s``."""

    text: str


type Effect = (
    StartProbe
    | CancelProbe
    | CloseLink
    | ResetLink
    | Promote
    | SendKeys
    | SendReply
    | DeliverHeldKeys
    | DiscardHeldKeys
    | ApplyResize
    | SendPing
    | ScheduleTimer
    | Notify
)
