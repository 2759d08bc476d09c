"""step() as a table: each row is (state, event, time) -> expected phase and effects.

Times are absolute seconds on a fake monotonic clock starting at T0. Timer effects
(ScheduleTimer) are checked by the scenario tests in test_state_scenarios.py; the rows here
compare every other effect exactly, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from termkeep.supervisor.backoff import Backoff
from termkeep.supervisor.events import (
    ApplyResize,
    CancelProbe,
    CloseLink,
    CloseRequested,
    ConnectRequested,
    DataReceived,
    DeliverHeldKeys,
    DiscardHeldKeys,
    Effect,
    Event,
    KeyTyped,
    LinkEnded,
    LinkReset,
    NetworkChanged,
    Notify,
    PingReplied,
    ProbeFailed,
    ProbeReached,
    ProbeSucceeded,
    Promote,
    ReconnectNow,
    ResetLink,
    Resized,
    ScheduleTimer,
    SendKeys,
    SendPing,
    SendReply,
    StartProbe,
    TerminalReply,
    Tick,
    UserResolved,
)
from termkeep.supervisor.state import (
    HOLD_LIMIT,
    Attached,
    Closed,
    Connecting,
    Context,
    Detached,
    Ended,
    Failed,
    HandingOver,
    Idle,
    NeedsUser,
    PhaseData,
    Policy,
    Reconnecting,
    Retry,
    Stalled,
    State,
    step,
)
from termkeep.transport.link import Cause, Ending

T0 = 1000.0
SIZE = (80, 24)
POLICY = Policy(
    keepalive_interval=5.0,
    stable_after=30.0,
    backoff=Backoff(initial_delay=0.25, multiplier=2.0, max_delay=30.0, jitter=0.0),
)


def ctx(**changes: Any) -> Context:
    base = Context(size=SIZE, last_contact=T0, attached_since=T0 - 100, next_id=5)
    return replace(base, **changes)


def state(phase: PhaseData, **ctx_changes: Any) -> State:
    return State(phase=phase, ctx=ctx(**ctx_changes), policy=POLICY)


def retry(**changes: Any) -> Retry:
    base = Retry(
        since=T0, probes=frozenset({2}), attempt=1, next_try_at=T0 + 0.25, started=((2, T0),)
    )
    return replace(base, **changes)


FRESH_234 = ((2, T0 + 4.5), (3, T0 + 4.5), (4, T0 + 4.5))
"""Start times of three probes that are all still young at T0 + 5."""

SPREAD_234 = ((2, T0), (3, T0 + 0.5), (4, T0 + 1))
"""Start times of three probes: the first counts as stuck from T0 + 2, the last from T0 + 3."""

DA_REPLY = b"\x1b[?62;22c"
CPR_REPLY = b"\x1b[24;80R"

ATTACHED = Attached(link=1)
STALLED = Stalled(link=1, retry=retry())
WON_2 = ProbeSucceeded(2, reattached_existing=True, tmux=True)
WON_3 = ProbeSucceeded(3, reattached_existing=True, tmux=True)
HANDING_OVER = HandingOver(STALLED, WON_2)
RECONNECTING = Reconnecting(retry=retry())
CONNECTING = Connecting(retry=retry(next_try_at=None))


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    name: str
    before: State
    event: Event
    at: float
    phase: PhaseData
    effects: tuple[Effect, ...] = ()
    ctx: dict[str, Any] = field(default_factory=dict)
    """Context fields expected after the step (only those listed are checked)."""


def phase_with(phase: PhaseData, **retry_changes: Any) -> PhaseData:
    assert isinstance(phase, Connecting | Stalled | Reconnecting)
    return replace(phase, retry=replace(phase.retry, **retry_changes))


ROWS = [
    # ---- idle
    Row(
        "idle: connect starts one probe without a timeout (a password may be typed)",
        state(Idle()),
        ConnectRequested(),
        T0,
        Connecting(Retry(since=T0, probes=frozenset({5}), attempt=1, started=((5, T0),))),
        (StartProbe(5, SIZE),),
    ),
    Row("idle: keys are ignored", state(Idle()), KeyTyped(b"x"), T0, Idle(), ctx={"held": b""}),
    Row(
        "idle: resize just sets the size the first probe uses",
        state(Idle()),
        Resized(100, 30),
        T0,
        Idle(),
        ctx={"size": (100, 30), "resize_pending": False},
    ),
    Row("idle: close", state(Idle()), CloseRequested(), T0, Closed()),
    # ---- connecting
    Row(
        "connecting: the probe attaches into an existing tmux session",
        state(CONNECTING),
        ProbeSucceeded(2, reattached_existing=True, tmux=True),
        T0 + 0.4,
        Attached(2),
        (Promote(2), Notify("attached after 0.4 s")),
        {"attached_since": T0 + 0.4, "last_contact": T0 + 0.4},
    ),
    Row(
        "connecting: keys typed before a new session are discarded with a notice",
        state(CONNECTING, held=b"ls\r"),
        ProbeSucceeded(2, reattached_existing=False, tmux=True),
        T0 + 1,
        Attached(2),
        (
            Promote(2),
            DiscardHeldKeys(3),
            Notify(
                "3 bytes typed during the outage were discarded: this is not the same tmux session"
            ),
            Notify("connected after 1.0 s: new tmux session"),
        ),
        {"held": b""},
    ),
    Row(
        "connecting: a server without tmux is announced",
        state(CONNECTING),
        ProbeSucceeded(2, reattached_existing=False, tmux=False),
        T0 + 0.2,
        Attached(2),
        (
            Promote(2),
            Notify(
                "connected after 0.2 s: no tmux on the server, so this session will not "
                "survive a reconnect"
            ),
        ),
    ),
    Row(
        "connecting: a refused probe plans the next try after the backoff, one at a time",
        state(CONNECTING),
        ProbeFailed(2, Cause.REFUSED, "port 22"),
        T0 + 0.1,
        phase_with(
            CONNECTING,
            probes=frozenset(),
            next_try_at=T0 + 0.1 + 0.25,
            cause=Cause.REFUSED,
            detail="port 22",
        ),
        (Notify("could not connect: port 22; trying again in 0.2 s"),),
    ),
    Row(
        "connecting: an auth failure stops retries and asks the user",
        state(CONNECTING),
        ProbeFailed(2, Cause.AUTH_FAILED, "publickey refused"),
        T0 + 0.1,
        NeedsUser(Cause.AUTH_FAILED, "publickey refused"),
        (Notify("authentication failed: publickey refused; not retrying. Fix it, then reconnect"),),
    ),
    Row(
        "connecting: an unknown host key that was refused needs the user",
        state(CONNECTING),
        ProbeFailed(2, Cause.HOST_KEY_UNKNOWN, ""),
        T0 + 0.1,
        NeedsUser(Cause.HOST_KEY_UNKNOWN, ""),
        (Notify("host key not trusted; not retrying. Fix it, then reconnect"),),
    ),
    Row(
        "connecting: a changed host key fails for good",
        state(CONNECTING),
        ProbeFailed(2, Cause.HOST_KEY_CHANGED, "SHA256:abc"),
        T0 + 0.1,
        Failed(Cause.HOST_KEY_CHANGED, "SHA256:abc"),
        (
            Notify(
                "host key changed: SHA256:abc; refusing to connect (it could be an attack). "
                "Check the key, fix known_hosts, then reconnect"
            ),
        ),
    ),
    Row(
        "connecting: a failure of an unknown probe is ignored",
        state(CONNECTING),
        ProbeFailed(9, Cause.AUTH_FAILED),
        T0,
        CONNECTING,
    ),
    Row(
        "connecting: a probe that nobody waits for is closed",
        state(CONNECTING),
        ProbeSucceeded(9, reattached_existing=True, tmux=True),
        T0,
        CONNECTING,
        (CloseLink(9),),
    ),
    Row(
        "connecting: the tick at the planned time starts the next probe",
        state(phase_with(CONNECTING, probes=frozenset(), next_try_at=T0 + 0.5)),
        Tick(),
        T0 + 0.5,
        phase_with(
            CONNECTING, probes=frozenset({5}), attempt=2, next_try_at=None, started=((5, T0 + 0.5),)
        ),
        (StartProbe(5, SIZE),),
        {"next_id": 6},
    ),
    Row(
        "connecting: a tick before the planned time does nothing",
        state(phase_with(CONNECTING, probes=frozenset(), next_try_at=T0 + 0.5)),
        Tick(),
        T0 + 0.4,
        phase_with(CONNECTING, probes=frozenset(), next_try_at=T0 + 0.5),
    ),
    Row(
        "connecting: keys are held",
        state(CONNECTING),
        KeyTyped(b"abc"),
        T0,
        CONNECTING,
        ctx={"held": b"abc", "last_key_at": T0},
    ),
    Row(
        "connecting: a resize waits for the attach",
        state(CONNECTING),
        Resized(120, 40),
        T0,
        CONNECTING,
        ctx={"size": (120, 40), "resize_pending": True},
    ),
    Row(
        "connecting: a network change retries at once",
        state(phase_with(CONNECTING, probes=frozenset(), next_try_at=T0 + 20, attempt=6)),
        NetworkChanged(),
        T0,
        phase_with(
            CONNECTING, probes=frozenset({5}), next_try_at=None, attempt=1, started=((5, T0),)
        ),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "connecting: close cancels the probe",
        state(CONNECTING),
        CloseRequested(),
        T0,
        Closed(),
        (CancelProbe(2),),
    ),
    # ---- attached
    Row(
        "attached: data is contact and answers typed keys",
        state(ATTACHED, echo_wait_since=T0 + 1),
        DataReceived(1),
        T0 + 2,
        ATTACHED,
        ctx={"last_contact": T0 + 2, "echo_wait_since": None},
    ),
    Row(
        "attached: data from another link is not contact",
        state(ATTACHED),
        DataReceived(7),
        T0 + 2,
        ATTACHED,
        ctx={"last_contact": T0},
    ),
    Row(
        "attached: a key is sent with a ping to prove the link even without echo",
        state(ATTACHED),
        KeyTyped(b"a"),
        T0 + 1,
        ATTACHED,
        (SendKeys(b"a"), SendPing(1)),
        {"echo_wait_since": T0 + 1, "ping_sent_at": T0 + 1, "last_key_at": T0 + 1},
    ),
    Row(
        "attached: while a ping is out, keys go without another ping",
        state(ATTACHED, ping_sent_at=T0 + 1, echo_wait_since=T0 + 1),
        KeyTyped(b"b"),
        T0 + 1.1,
        ATTACHED,
        (SendKeys(b"b"),),
        {"echo_wait_since": T0 + 1},
    ),
    Row(
        "attached: a ping reply is contact and measures the RTT",
        state(ATTACHED, ping_sent_at=T0 + 2.5),
        PingReplied(1, 0.05),
        T0 + 2.55,
        ATTACHED,
        ctx={"last_contact": T0 + 2.55, "rtt": 0.05, "ping_sent_at": None},
    ),
    Row(
        "attached: a resize is applied at once",
        state(ATTACHED),
        Resized(100, 50),
        T0,
        ATTACHED,
        (ApplyResize(100, 50),),
        {"size": (100, 50)},
    ),
    Row(
        "attached: half an interval of silence sends a ping",
        state(ATTACHED),
        Tick(),
        T0 + 2.5,
        ATTACHED,
        (SendPing(1),),
        {"ping_sent_at": T0 + 2.5},
    ),
    Row(
        "attached: a whole interval of silence is a stall; the link is kept, a probe starts",
        state(ATTACHED, ping_sent_at=T0 + 2.5),
        Tick(),
        T0 + 5,
        Stalled(
            1,
            Retry(
                since=T0 + 5,
                probes=frozenset({5}),
                started=((5, T0 + 5),),
                attempt=1,
                next_try_at=T0 + 5.25,
                cause=Cause.TIMEOUT,
                detail="no reply for 5.0 s",
            ),
        ),
        (
            Notify("connection lost: no reply for 5.0 s; reconnecting"),
            StartProbe(5, SIZE),
        ),
    ),
    Row(
        "attached: a key without any reply within 1 s is a stall long before the interval",
        state(
            ATTACHED,
            last_contact=T0,
            echo_wait_since=T0 + 1,
            echo_wait_reason="typed keys",
            ping_sent_at=T0 + 1,
        ),
        Tick(),
        T0 + 2,
        Stalled(
            1,
            Retry(
                since=T0 + 2,
                probes=frozenset({5}),
                started=((5, T0 + 2),),
                attempt=1,
                next_try_at=T0 + 2.25,
                cause=Cause.TIMEOUT,
                detail="no reply for 2.0 s (nothing came back after typed keys)",
            ),
        ),
        (
            Notify(
                "connection lost: no reply for 2.0 s (nothing came back after typed keys); "
                "reconnecting"
            ),
            StartProbe(5, SIZE),
        ),
    ),
    Row(
        "attached: on a slow link the echo wait is 3 x RTT",
        state(ATTACHED, rtt=0.5, echo_wait_since=T0 + 1, ping_sent_at=T0 + 1),
        Tick(),
        T0 + 2,
        ATTACHED,
    ),
    Row(
        "attached: the shell exits: ended, no reconnect",
        state(ATTACHED),
        LinkEnded(1, Ending.ENDED),
        T0,
        Ended(),
        (Notify("session ended: the shell exited or the tmux session closed"),),
    ),
    Row(
        "attached: the user detaches: detached, no reconnect",
        state(ATTACHED),
        LinkEnded(1, Ending.DETACHED),
        T0,
        Detached(),
        (Notify("detached from tmux; the session lives on on the server"),),
    ),
    Row(
        "attached: a lost link reconnects at once after a stable period",
        state(ATTACHED),
        LinkEnded(1, Ending.LOST, Cause.RESET, "connection reset by peer"),
        T0,
        Reconnecting(
            Retry(
                since=T0,
                probes=frozenset({5}),
                started=((5, T0),),
                attempt=1,
                next_try_at=T0 + 0.25,
                cause=Cause.RESET,
                detail="connection reset by peer",
            )
        ),
        (
            Notify("connection lost: connection reset by peer; reconnecting"),
            StartProbe(5, SIZE),
        ),
    ),
    Row(
        "attached: a server that drops us again soon after attaching waits one step more",
        state(ATTACHED, attached_since=T0 - 1, backoff_carry=3),
        LinkEnded(1, Ending.LOST, Cause.SERVER_CLOSED),
        T0,
        Reconnecting(
            Retry(since=T0, backoff_base=4, next_try_at=T0 + 2.0, cause=Cause.SERVER_CLOSED)
        ),
        (Notify("connection lost: server closed the connection; reconnecting"),),
        {"attached_since": None, "attached_for": 1.0},
    ),
    Row(
        "attached: a first drop soon after attaching is one step, probed at once",
        state(ATTACHED, attached_since=T0 - 1, backoff_carry=0),
        LinkEnded(1, Ending.LOST, Cause.SERVER_CLOSED),
        T0,
        Reconnecting(
            Retry(
                since=T0,
                probes=frozenset({5}),
                started=((5, T0),),
                attempt=1,
                backoff_base=1,
                next_try_at=T0 + 0.25,
                cause=Cause.SERVER_CLOSED,
            )
        ),
        (
            Notify("connection lost: server closed the connection; reconnecting"),
            StartProbe(5, SIZE),
        ),
    ),
    Row(
        "attached: a drop after 10 s attached adds no step but keeps the carried ones",
        state(ATTACHED, attached_since=T0 - 15, backoff_carry=3),
        LinkEnded(1, Ending.LOST, Cause.SERVER_CLOSED),
        T0,
        Reconnecting(
            Retry(since=T0, backoff_base=3, next_try_at=T0 + 1.0, cause=Cause.SERVER_CLOSED)
        ),
        (Notify("connection lost: server closed the connection; reconnecting"),),
    ),
    Row(
        "attached: time stalled is not time attached: 4 s + 5 s attached is a quick drop",
        state(ATTACHED, attached_since=T0 - 5, attached_for=4.0, backoff_carry=2),
        LinkEnded(1, Ending.LOST, Cause.SERVER_CLOSED),
        T0,
        Reconnecting(
            Retry(since=T0, backoff_base=3, next_try_at=T0 + 1.0, cause=Cause.SERVER_CLOSED)
        ),
        (Notify("connection lost: server closed the connection; reconnecting"),),
    ),
    Row(
        "attached: a link lost to the network carries nothing, however young",
        state(ATTACHED, attached_since=T0 - 1, backoff_carry=5),
        LinkEnded(1, Ending.LOST, Cause.TIMEOUT, "no reply"),
        T0,
        Reconnecting(
            Retry(
                since=T0,
                probes=frozenset({5}),
                started=((5, T0),),
                attempt=1,
                next_try_at=T0 + 0.25,
                cause=Cause.TIMEOUT,
                detail="no reply",
            )
        ),
        (Notify("connection lost: no reply; reconnecting"), StartProbe(5, SIZE)),
    ),
    Row(
        "attached: a stall is the network: probed at once whatever was carried",
        state(ATTACHED, attached_since=T0 - 6, backoff_carry=5, last_contact=T0 - 5),
        Tick(),
        T0,
        Stalled(
            1,
            Retry(
                since=T0,
                probes=frozenset({5}),
                started=((5, T0),),
                attempt=1,
                next_try_at=T0 + 0.25,
                cause=Cause.TIMEOUT,
                detail="no reply for 5.0 s",
            ),
        ),
        (
            Notify("connection lost: no reply for 5.0 s; reconnecting"),
            StartProbe(5, SIZE),
            SendPing(1),
        ),
        {"attached_since": None, "attached_for": 6.0},
    ),
    Row(
        "attached: the end of another link is ignored",
        state(ATTACHED),
        LinkEnded(7, Ending.ENDED),
        T0,
        ATTACHED,
    ),
    Row(
        "attached: a network change checks the link with a ping now",
        state(ATTACHED),
        NetworkChanged(),
        T0 + 1,
        ATTACHED,
        (SendPing(1),),
        {"ping_sent_at": T0 + 1, "echo_wait_since": T0 + 1, "echo_wait_reason": "a network change"},
    ),
    Row(
        "attached: no reply soon after a network change is a stall that says so",
        state(
            ATTACHED,
            echo_wait_since=T0 + 1,
            echo_wait_reason="a network change",
            ping_sent_at=T0 + 1,
        ),
        Tick(),
        T0 + 2,
        Stalled(
            1,
            Retry(
                since=T0 + 2,
                probes=frozenset({5}),
                started=((5, T0 + 2),),
                attempt=1,
                next_try_at=T0 + 2.25,
                cause=Cause.TIMEOUT,
                detail="no reply for 2.0 s (nothing came back after a network change)",
            ),
        ),
        (
            Notify(
                "connection lost: no reply for 2.0 s (nothing came back after a network "
                "change); reconnecting"
            ),
            StartProbe(5, SIZE),
        ),
    ),
    Row(
        "attached: reconnect-now probes while keeping the link",
        state(ATTACHED),
        ReconnectNow(),
        T0,
        Stalled(
            1,
            Retry(
                since=T0,
                probes=frozenset({5}),
                started=((5, T0),),
                attempt=1,
                next_try_at=T0 + 0.25,
                cause=Cause.LOCAL,
                detail="reconnect requested",
            ),
        ),
        (
            Notify("connection lost: reconnect requested; reconnecting"),
            StartProbe(5, SIZE),
            SendPing(1),  # whichever answers first wins: the old link or the probe
        ),
        {"ping_sent_at": T0},
    ),
    Row(
        "attached: a late probe lost the race and is closed",
        state(ATTACHED),
        ProbeSucceeded(4, reattached_existing=True, tmux=True),
        T0,
        ATTACHED,
        (CloseLink(4),),
    ),
    Row(
        "attached: close closes the link",
        state(ATTACHED),
        CloseRequested(),
        T0,
        Closed(),
        (CloseLink(1),),
    ),
    # ---- stalled (old link 1 kept, probe 2 in flight)
    Row(
        "stalled: the old link answers a ping first: probes cancelled, held keys delivered",
        state(STALLED, held=b"ls\r"),
        PingReplied(1, 0.2),
        T0 + 1.5,
        ATTACHED,
        (CancelProbe(2), DeliverHeldKeys(b"ls\r"), Notify("connection recovered after 1.5 s")),
        {
            "held": b"",
            "last_contact": T0 + 1.5,
            "backoff_carry": 0,
            "rtt": None,
            "attached_since": T0 + 1.5,
        },
    ),
    Row(
        "stalled: bytes from the old link prove only the way back: the race goes on",
        state(STALLED, held=b"ls\r"),
        DataReceived(1),
        T0 + 1.5,
        STALLED,
        ctx={"held": b"ls\r", "last_contact": T0 + 1.5},
    ),
    Row(
        "stalled without tmux: the old link's first bytes keep it (a probe can't take over)",
        state(STALLED, tmux=False),
        DataReceived(1),
        T0 + 1,
        ATTACHED,
        (CancelProbe(2), Notify("connection recovered after 1.0 s")),
    ),
    Row(
        "stalled: the probe wins: the old link is reset, the win waits for what it gives back",
        state(STALLED, held=b"ls\r", size=(120, 40), resize_pending=True),
        ProbeSucceeded(2, reattached_existing=True, tmux=True),
        T0 + 0.4,
        HandingOver(STALLED, WON_2),
        (ResetLink(1),),
        {"held": b"ls\r", "resize_pending": True, "resetting": frozenset({1})},
    ),
    Row(
        "stalled: the first of two probes to attach wins, the other is cancelled",
        state(phase_with(STALLED, probes=frozenset({2, 3}))),
        ProbeSucceeded(3, reattached_existing=True, tmux=True),
        T0 + 0.4,
        HandingOver(replace(STALLED, retry=replace(STALLED.retry, probes=frozenset({3}))), WON_3),
        (CancelProbe(2), ResetLink(1)),
        {"resetting": frozenset({1})},
    ),
    Row(
        "stalled: a timed-out probe frees its slot; the next is due later",
        state(STALLED),
        ProbeFailed(2, Cause.TIMEOUT, "no answer"),
        T0 + 0.1,
        phase_with(STALLED, probes=frozenset(), cause=Cause.TIMEOUT, detail="no answer"),
    ),
    Row(
        "stalled: a failed probe whose successor is due starts it at once",
        state(STALLED),
        ProbeFailed(2, Cause.UNREACHABLE),
        T0 + 0.3,
        phase_with(
            STALLED,
            probes=frozenset({5}),
            attempt=2,
            next_try_at=T0 + 0.3 + 0.25,
            started=((5, T0 + 0.3),),
            cause=Cause.UNREACHABLE,
        ),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "stalled: an auth failure stops everything and asks the user",
        state(STALLED),
        ProbeFailed(2, Cause.AUTH_FAILED, "password refused"),
        T0 + 0.3,
        NeedsUser(Cause.AUTH_FAILED, "password refused"),
        (
            ResetLink(1),
            Notify("authentication failed: password refused; not retrying. Fix it, then reconnect"),
        ),
        {"resetting": frozenset({1})},
    ),
    Row(
        "stalled: a changed host key stops everything",
        state(phase_with(STALLED, probes=frozenset({2, 3}))),
        ProbeFailed(3, Cause.HOST_KEY_CHANGED),
        T0 + 0.3,
        Failed(Cause.HOST_KEY_CHANGED),
        (
            CancelProbe(2),
            ResetLink(1),
            Notify(
                "host key changed: the server sent a different key; refusing to connect (it "
                "could be an attack). Check the key, fix known_hosts, then reconnect"
            ),
        ),
    ),
    Row(
        "stalled: with the first probe's SYN unanswered, a fresh one starts 250 ms later",
        state(STALLED, ping_sent_at=T0),
        Tick(),
        T0 + 0.25,
        phase_with(
            STALLED,
            probes=frozenset({2, 5}),
            attempt=2,
            next_try_at=T0 + 0.5,
            started=((2, T0), (5, T0 + 0.25)),
        ),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "stalled: a probe whose SYN was answered is left to finish: none starts beside it",
        state(phase_with(STALLED, reached=frozenset({2})), ping_sent_at=T0),
        Tick(),
        T0 + 0.25,
        phase_with(STALLED, reached=frozenset({2})),
    ),
    Row(
        "stalled: the server answering one probe's SYN drops those still waiting on theirs",
        state(phase_with(STALLED, probes=frozenset({2, 3, 4}), started=FRESH_234)),
        ProbeReached(4),
        T0 + 4.6,
        phase_with(STALLED, probes=frozenset({4}), started=FRESH_234, reached=frozenset({4})),
        (CancelProbe(2), CancelProbe(3)),
    ),
    Row(
        "stalled: the old link keeps being pinged",
        state(
            phase_with(
                STALLED,
                probes=frozenset({2, 3, 4}),
                started=FRESH_234,
                reached=frozenset({2, 3, 4}),
            ),
            ping_sent_at=T0,
        ),
        Tick(),
        T0 + 5,
        phase_with(
            STALLED, probes=frozenset({2, 3, 4}), started=FRESH_234, reached=frozenset({2, 3, 4})
        ),
        (SendPing(1),),
        {"ping_sent_at": T0 + 5},
    ),
    Row(
        "stalled: with every slot taken, a probe stuck for 2 s makes room for a fresh one",
        state(
            phase_with(
                STALLED,
                probes=frozenset({2, 3, 4}),
                started=SPREAD_234,
                reached=frozenset({2, 3, 4}),
            ),
            ping_sent_at=T0 + 2,
        ),
        Tick(),
        T0 + 3,
        phase_with(
            STALLED,
            probes=frozenset({3, 4, 5}),
            attempt=2,
            next_try_at=T0 + 3.25,
            started=((3, T0 + 0.5), (4, T0 + 1), (5, T0 + 3)),
            reached=frozenset({3, 4}),
        ),
        (CancelProbe(2), StartProbe(5, SIZE)),
    ),
    Row(
        "stalled: on a slow link (RTT 0.5 s) a probe is given 20 RTTs before it counts as stuck",
        state(
            phase_with(
                STALLED,
                probes=frozenset({2, 3, 4}),
                started=SPREAD_234,
                reached=frozenset({2, 3, 4}),
            ),
            ping_sent_at=T0,
            rtt=0.5,
        ),
        Tick(),
        T0 + 9.9,
        phase_with(
            STALLED, probes=frozenset({2, 3, 4}), started=SPREAD_234, reached=frozenset({2, 3, 4})
        ),
        (SendPing(1),),
    ),
    Row(
        "stalled: a keystroke starts a probe at once: the user is waiting right now",
        state(phase_with(STALLED, next_try_at=T0 + 20)),
        KeyTyped(b"x"),
        T0 + 1,
        phase_with(
            STALLED,
            probes=frozenset({2, 5}),
            attempt=2,
            next_try_at=T0 + 1.25,
            started=((2, T0), (5, T0 + 1)),
        ),
        (StartProbe(5, SIZE),),
        {"held": b"x", "last_key_at": T0 + 1},
    ),
    Row(
        "stalled: a keystroke just after a probe started brings the next one to the fast pace",
        state(phase_with(STALLED, next_try_at=T0 + 20)),
        KeyTyped(b"x"),
        T0 + 0.1,
        phase_with(STALLED, next_try_at=T0 + 0.25),
        ctx={"held": b"x"},
    ),
    Row(
        "stalled: held keys are bounded; the overflow is dropped and counted",
        state(STALLED, held=b"a" * 4090),
        KeyTyped(b"0123456789"),
        T0 + 0.1,
        STALLED,
        ctx={"held": b"a" * 4090 + b"012345", "held_dropped": 4},
    ),
    Row(
        "stalled: the old link is lost for good; the probes carry on",
        state(STALLED),
        LinkEnded(1, Ending.LOST, Cause.RESET, "reset"),
        T0 + 1,
        Reconnecting(retry(cause=Cause.RESET, detail="reset")),
    ),
    Row(
        "stalled: the old link ends normally: ended, probes cancelled",
        state(STALLED),
        LinkEnded(1, Ending.ENDED),
        T0 + 1,
        Ended(),
        (CancelProbe(2), Notify("session ended: the shell exited or the tmux session closed")),
    ),
    Row(
        "stalled: a network change probes at once with a fresh backoff",
        state(phase_with(STALLED, probes=frozenset(), attempt=7, next_try_at=T0 + 25)),
        NetworkChanged(),
        T0 + 1,
        phase_with(
            STALLED, probes=frozenset({5}), attempt=1, next_try_at=T0 + 1.25, started=((5, T0 + 1),)
        ),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "stalled: a resize waits for the attach",
        state(STALLED),
        Resized(90, 30),
        T0,
        STALLED,
        ctx={"resize_pending": True, "size": (90, 30)},
    ),
    Row(
        "stalled: close cancels probes and resets the old link (nothing arrives late)",
        state(STALLED),
        CloseRequested(),
        T0,
        Closed(),
        (CancelProbe(2), ResetLink(1)),
    ),
    # ---- handing over (probe 2 won while the stalled link 1 is being reset)
    Row(
        "handing over: the reset link's unreceived keys go in front of the held ones",
        state(HANDING_OVER, held=b"ls\r", resetting=frozenset({1})),
        LinkReset(1, b"k20 k21 "),
        T0 + 0.5,
        replace(HANDING_OVER, ready_at=T0 + 0.5),
        (),
        {"held": b"k20 k21 ls\r", "resetting": frozenset()},
    ),
    Row(
        "handing over: at the tick after the reset reported, the win completes, all keys go",
        state(
            replace(HANDING_OVER, ready_at=T0 + 0.5),
            held=b"k20 k21 ls\r",
            size=(120, 40),
            resize_pending=True,
        ),
        Tick(),
        T0 + 0.5,
        Attached(2),
        (
            Promote(2),
            ApplyResize(120, 40),
            DeliverHeldKeys(b"k20 k21 ls\r"),
            Notify("reattached after 0.5 s"),
        ),
        {"held": b"", "resize_pending": False, "attached_since": T0 + 0.5, "backoff_carry": 0},
    ),
    Row(
        "handing over: into a new tmux session the given-back keys are discarded too",
        state(
            HandingOver(STALLED, ProbeSucceeded(2, False, True), ready_at=T0 + 3),
            held=b"rm -rf build\r",
        ),
        Tick(),
        T0 + 3,
        Attached(2),
        (
            Promote(2),
            DiscardHeldKeys(13),
            Notify(
                "13 bytes typed during the outage were discarded: this is not the same tmux session"
            ),
            Notify("reconnected after 3.0 s: the old tmux session is gone, this is a new one"),
        ),
    ),
    Row(
        "handing over: no win before the reset reported, whatever the timer",
        state(HANDING_OVER, resetting=frozenset({1})),
        Tick(),
        T0 + 5,
        HANDING_OVER,
    ),
    Row(
        "handing over: keys typed meanwhile are held (behind what the reset gives back)",
        state(HANDING_OVER, held=b"l", resetting=frozenset({1})),
        KeyTyped(b"s"),
        T0 + 0.5,
        HANDING_OVER,
        ctx={"held": b"ls", "last_key_at": T0 + 0.5},
    ),
    Row(
        "handing over: given-back keys that overflow the hold buffer drop the newest",
        state(HANDING_OVER, held=b"h" * (HOLD_LIMIT - 2), resetting=frozenset({1})),
        LinkReset(1, b"k20 "),
        T0 + 0.5,
        replace(HANDING_OVER, ready_at=T0 + 0.5),
        ctx={"held": b"k20 " + b"h" * (HOLD_LIMIT - 4), "held_dropped": 2},
    ),
    Row(
        "handing over: a reset of a link it does not wait for changes nothing",
        state(HANDING_OVER, resetting=frozenset({1})),
        LinkReset(7, b"x"),
        T0 + 0.5,
        HANDING_OVER,
        ctx={"held": b"", "resetting": frozenset({1})},
    ),
    Row(
        "handing over: another probe that attaches is closed",
        state(HANDING_OVER, resetting=frozenset({1})),
        ProbeSucceeded(3, reattached_existing=True, tmux=True),
        T0 + 0.5,
        HANDING_OVER,
        (CloseLink(3),),
    ),
    Row(
        "handing over: a resize waits for the attach",
        state(HANDING_OVER, resetting=frozenset({1})),
        Resized(90, 30),
        T0 + 0.5,
        HANDING_OVER,
        ctx={"resize_pending": True, "size": (90, 30)},
    ),
    Row(
        "handing over: close cancels the winner (its link closes)",
        state(HANDING_OVER, resetting=frozenset({1})),
        CloseRequested(),
        T0 + 0.5,
        Closed(),
        (CancelProbe(2),),
    ),
    # ---- reconnecting (no link, probe 2 in flight)
    Row(
        "reconnecting: the probe reattaches the same session: held keys delivered",
        state(RECONNECTING, held=b"q"),
        ProbeSucceeded(2, reattached_existing=True, tmux=True),
        T0 + 0.4,
        Attached(2),
        (Promote(2), DeliverHeldKeys(b"q"), Notify("reattached after 0.4 s")),
    ),
    Row(
        "reconnecting: data from the old, gone link changes nothing",
        state(RECONNECTING),
        DataReceived(1),
        T0,
        RECONNECTING,
    ),
    Row(
        "reconnecting: a refused probe keeps the pace",
        state(RECONNECTING),
        ProbeFailed(2, Cause.REFUSED),
        T0 + 0.1,
        phase_with(RECONNECTING, probes=frozenset(), cause=Cause.REFUSED),
    ),
    Row(
        "reconnecting: an auth failure asks the user",
        state(RECONNECTING),
        ProbeFailed(2, Cause.AUTH_FAILED),
        T0 + 0.1,
        NeedsUser(Cause.AUTH_FAILED),
        (Notify("authentication failed; not retrying. Fix it, then reconnect"),),
    ),
    Row(
        "reconnecting: the due tick starts the next probe",
        state(RECONNECTING),
        Tick(),
        T0 + 0.25,
        phase_with(
            RECONNECTING,
            probes=frozenset({2, 5}),
            attempt=2,
            next_try_at=T0 + 0.5,
            started=((2, T0), (5, T0 + 0.25)),
        ),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "reconnecting: reconnect-now probes at once",
        state(phase_with(RECONNECTING, probes=frozenset(), attempt=9, next_try_at=T0 + 30)),
        ReconnectNow(),
        T0,
        phase_with(
            RECONNECTING,
            probes=frozenset({5}),
            attempt=1,
            next_try_at=T0 + 0.25,
            started=((5, T0),),
        ),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "reconnecting: keys are held",
        state(RECONNECTING),
        KeyTyped(b"k"),
        T0,
        RECONNECTING,
        ctx={"held": b"k"},
    ),
    # ---- needs-user, failed, detached, ended, closed
    Row(
        "needs-user: keys are held until the user fixed it",
        state(NeedsUser(Cause.AUTH_FAILED)),
        KeyTyped(b"k"),
        T0,
        NeedsUser(Cause.AUTH_FAILED),
        ctx={"held": b"k"},
    ),
    Row(
        "needs-user after a stall: keys the reset link gives back go in front of the held",
        state(NeedsUser(Cause.AUTH_FAILED), held=b"ls\r", resetting=frozenset({1})),
        LinkReset(1, b"k20 "),
        T0,
        NeedsUser(Cause.AUTH_FAILED),
        ctx={"held": b"k20 ls\r", "resetting": frozenset()},
    ),
    Row(
        "connecting while a reset is still under way: the first attach waits for it",
        state(CONNECTING, held=b"ls\r", resetting=frozenset({1})),
        ProbeSucceeded(2, reattached_existing=True, tmux=True),
        T0 + 0.4,
        HandingOver(CONNECTING, WON_2),
        (),
        {"held": b"ls\r"},
    ),
    Row(
        "closed: a late reset report changes nothing",
        state(Closed(), resetting=frozenset({1})),
        LinkReset(1, b"k20 "),
        T0,
        Closed(),
        ctx={"held": b""},
    ),
    Row(
        "needs-user: a tick starts nothing",
        state(NeedsUser(Cause.AUTH_FAILED)),
        Tick(),
        T0 + 100,
        NeedsUser(Cause.AUTH_FAILED),
    ),
    Row(
        "needs-user: a network change starts nothing",
        state(NeedsUser(Cause.AUTH_FAILED)),
        NetworkChanged(),
        T0,
        NeedsUser(Cause.AUTH_FAILED),
    ),
    Row(
        "needs-user: resolved: connect again, one probe",
        state(NeedsUser(Cause.AUTH_FAILED)),
        UserResolved(),
        T0,
        Connecting(Retry(since=T0, probes=frozenset({5}), attempt=1, started=((5, T0),))),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "needs-user: reconnect-now is the user's call too",
        state(NeedsUser(Cause.HOST_KEY_UNKNOWN)),
        ReconnectNow(),
        T0,
        Connecting(Retry(since=T0, probes=frozenset({5}), attempt=1, started=((5, T0),))),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "failed: a changed host key is not retried even on reconnect-now",
        state(Failed(Cause.HOST_KEY_CHANGED)),
        ReconnectNow(),
        T0,
        Failed(Cause.HOST_KEY_CHANGED),
        (Notify("host key changed: not reconnecting until the key is resolved"),),
    ),
    Row(
        "failed: once the user resolved the host key, connect again",
        state(Failed(Cause.HOST_KEY_CHANGED)),
        UserResolved(),
        T0,
        Connecting(Retry(since=T0, probes=frozenset({5}), attempt=1, started=((5, T0),))),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "failed: another cause may be retried on reconnect-now",
        state(Failed(Cause.RESET)),
        ReconnectNow(),
        T0,
        Connecting(Retry(since=T0, probes=frozenset({5}), attempt=1, started=((5, T0),))),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "failed: a network change does not restart a changed host key",
        state(Failed(Cause.HOST_KEY_CHANGED)),
        NetworkChanged(),
        T0,
        Failed(Cause.HOST_KEY_CHANGED),
    ),
    Row("detached: keys are ignored", state(Detached()), KeyTyped(b"x"), T0, Detached()),
    Row(
        "detached: reconnect-now reattaches",
        state(Detached()),
        ReconnectNow(),
        T0,
        Connecting(Retry(since=T0, probes=frozenset({5}), attempt=1, started=((5, T0),))),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "ended: reconnect-now starts again",
        state(Ended()),
        ReconnectNow(),
        T0,
        Connecting(Retry(since=T0, probes=frozenset({5}), attempt=1, started=((5, T0),))),
        (StartProbe(5, SIZE),),
    ),
    Row(
        "ended: a late probe is closed",
        state(Ended()),
        ProbeSucceeded(3, reattached_existing=True, tmux=True),
        T0,
        Ended(),
        (CloseLink(3),),
    ),
    Row(
        "closed: a probe that still attached is closed",
        state(Closed()),
        ProbeSucceeded(3, reattached_existing=True, tmux=True),
        T0,
        Closed(),
        (CloseLink(3),),
    ),
    Row("closed: reconnect-now is ignored", state(Closed()), ReconnectNow(), T0, Closed()),
    Row("closed: close again is harmless", state(Closed()), CloseRequested(), T0, Closed()),
    Row("closed: a resize is ignored", state(Closed()), Resized(1, 1), T0, Closed()),
    # ---- terminal replies (DA, cursor reports): sent at once or never, never typing
    Row(
        "attached: a reply goes at once to the link that asked; no echo wait, no ping",
        state(ATTACHED),
        TerminalReply(1, DA_REPLY),
        T0 + 1,
        ATTACHED,
        (SendReply(1, DA_REPLY),),
        {"echo_wait_since": None, "ping_sent_at": None, "last_key_at": None, "held": b""},
    ),
    Row(
        "attached: a reply to a link replaced since is dropped",
        state(Attached(2)),
        TerminalReply(1, CPR_REPLY),
        T0 + 1,
        Attached(2),
        (),
        {"held": b"", "last_key_at": None},
    ),
    Row(
        "attached: a reply to no link's bytes is dropped",
        state(ATTACHED),
        TerminalReply(None, DA_REPLY),
        T0 + 1,
        ATTACHED,
    ),
    Row(
        "stalled: a reply is dropped, not held and no probe",
        state(STALLED),
        TerminalReply(1, CPR_REPLY),
        T0 + 1,
        STALLED,
        (),
        {"held": b"", "last_key_at": None},
    ),
    Row(
        "reconnecting: a reply is dropped, not held and no probe",
        state(RECONNECTING),
        TerminalReply(1, CPR_REPLY),
        T0 + 1,
        RECONNECTING,
        (),
        {"held": b"", "last_key_at": None},
    ),
    Row(
        "connecting: a reply is dropped",
        state(CONNECTING),
        TerminalReply(None, DA_REPLY),
        T0,
        CONNECTING,
        (),
        {"held": b""},
    ),
    Row(
        "needs-user: a reply is not held",
        state(NeedsUser(Cause.AUTH_FAILED)),
        TerminalReply(1, DA_REPLY),
        T0,
        NeedsUser(Cause.AUTH_FAILED),
        (),
        {"held": b""},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_step(row: Row) -> None:
    after, effects = step(row.before, row.event, row.at)
    assert after.phase == row.phase
    assert tuple(e for e in effects if not isinstance(e, ScheduleTimer)) == row.effects
    for name, expected in row.ctx.items():
        assert getattr(after.ctx, name) == expected, name
    assert after.policy is row.before.policy


def test_every_phase_appears_in_the_table() -> None:
    phases = {type(row.before.phase) for row in ROWS}
    assert phases == {
        Idle,
        Connecting,
        Attached,
        Stalled,
        HandingOver,
        Reconnecting,
        NeedsUser,
        Failed,
        Detached,
        Ended,
        Closed,
    }
