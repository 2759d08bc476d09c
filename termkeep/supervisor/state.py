"""The supervisor's logic as a pure state machine: ``step(state, event, now) -> (state, effects)``.

Nothing here does I/O, reads a clock or touches asyncio. The runner (supervisor.py) turns
the world into events (a probe attached, data arrived, a timer fired, the user typed) and
carries out the effects this module returns (start a probe, close a link, send keys, arm a
timer). That keeps every reconnect decision testable as a table of (state, event) -> result.

How to read it (after events.py, which lists every event and effect):

* ``State`` = ``phase`` (which situation we are in, e.g. ``Attached``) + ``ctx`` (what we
  remember whatever the phase: held keys, terminal size, last contact, RTT) + ``policy``
  (settings from the profile).
* ``_HANDLERS`` maps (phase type, event type) to one small function. A pair that is not in
  the table leaves the state as it is. ``Any`` in the table means "every phase".
* ``_wakeup`` says when the phase next needs a ``Tick``; ``step`` turns changes of it into a
  ``ScheduleTimer`` effect.

The ideas it implements:

* A stall is silence past the keepalive interval, or no reply within max(1 s, 3 x RTT) of a
  keystroke. Pings go out at half the interval of silence so a healthy idle link is never
  mistaken for a stalled one.
* Make-before-break: on a stall the old link is kept while fresh probes start at once; the
  first probe to attach wins, or the old link wins by answering a ping (a round trip).
* While the network is down (probes time out, are refused or unreachable, or the server
  never says its version line) a fresh probe starts every max(250 ms, 1.25 RTT) in the
  first 30 s of an outage and while the user types, every 500 ms after that: a SYN leaves
  within half a second of the network coming back, not at TCP's next SYN retry (1 s apart
  with the capped RTO). Only one probe may wait on SYN retransmission besides the newest;
  the others make way. A probe whose SYN was answered is left to finish (no other starts
  until it is older than max(2 s, 20 RTT)), so the server sees at most a few connection
  attempts a second and hardly ever one that we abandon after TCP connected.
* Probes back off exponentially (backoff.py) only from a server that accepted us and then
  refused or dropped us: a probe that failed after the server's version line, or a link that
  ended within 10 s of attaching (time stalled not counted). Those steps carry into the next
  outage until a link stays attached for ``stable_after``; a network that was down never
  adds a step and clears the carried ones. While the user types a probe is never more than
  1 s away, and a keystroke starts one at once. At most three probes run at once.
* Causes that retrying cannot fix (auth, host key) stop retries; a changed host key stops
  everything until the user resolves it.
* Keys typed while not attached are held (bounded) and delivered only into the same tmux
  session; a resize while not attached is applied at reattach.
* A stalled link that is given up while it may still be alive (a probe won, or the user is
  needed) is reset, never closed gracefully: the kernel would resend the keys queued on it
  when the network returns, after keys sent since over the new link. The keys it was given
  that its server never received come back (``LinkReset``) and go first, before the held
  ones, under the same rule: a win waits for them (``HandingOver``).
"""

# Every handler takes (state, phase, event, now) so one table can dispatch them all; a
# handler that needs fewer of them still keeps the shared signature.
# ruff: noqa: ARG001

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from termkeep.config.profile import Profile
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
from termkeep.supervisor.phase import Phase
from termkeep.terminal.durations import NOTICE, duration_text, milliseconds_text
from termkeep.transport.link import Cause, Ending

HOLD_LIMIT = 4096
"""Bytes of keystrokes held while not attached; more are dropped (and counted)."""

MAX_PARALLEL_PROBES = 3
"""Probes in flight at once while reconnecting; a fresh probe need not wait for an older one
stuck in TCP's SYN retransmissions, but a server is never flooded."""

ACTIVE_WINDOW = 10.0
"""Seconds after a keystroke during which the tab counts as in use."""

ACTIVE_RETRY_DELAY = 1.0
"""Longest wait between probes while the tab is in use."""

STUCK_PROBE_AGE = 2.0
STUCK_PROBE_RTTS = 20.0
"""When a probe is due and every slot is taken, the oldest probe is replaced if it is older
than max(STUCK_PROBE_AGE, STUCK_PROBE_RTTS x RTT). During a silent drop a probe's SYN is
lost and TCP resends it only after 1 s, then 3 s: a fresh probe sends one at once, which
is what makes recovery quick when the network returns. A whole attach takes under ten
round trips, so a probe that is merely slow is never replaced."""

SYN_RETRY_GAP = 0.25
SYN_RETRY_RTTS = 1.25
"""While the newest probe's SYN is unanswered, the next probe starts max(SYN_RETRY_GAP,
SYN_RETRY_RTTS x RTT) after it: a fresh SYN every 250 ms instead of TCP's 1 s SYN retries,
and never before a SYN-ACK could have come back."""

FAST_SYN_WINDOW = 30.0
"""Seconds from the start of an outage during which probes go out at that pace whether or
not the user types (after that only while the tab is in use)."""

SLOW_SYN_GAP = 0.5
"""Pace of fresh probes after the fast window on an idle tab: the kernel's own SYN retry
waits 1 s, so a SYN every 500 ms still finds the network within half a second of its
return, at two packets a second for a network that is down."""

ACCEPT_DROP_WINDOW = 10.0
"""A link the server ends within this many seconds attached (time stalled not counted)
counts as accepted-then-dropped: the next outage starts one backoff step further."""

KEYSTROKE_PROBE_GAP = 0.5
"""A keystroke during an outage starts a probe at once unless one started this recently:
the user is waiting right now, and the network may have come back since the last probe."""

MIN_ECHO_WAIT = 1.0
ECHO_RTT_FACTOR = 3.0
"""After a keystroke, a reply (echo or ping) is expected within max(MIN_ECHO_WAIT,
ECHO_RTT_FACTOR x last RTT); none means the link is stalled, long before the keepalive
interval would tell."""


# --------------------------------------------------------------------------------------------
# Policy: the settings the machine needs, taken from the profile once.


@dataclass(frozen=True, slots=True)
class Policy:
    """What the profile says about keeping this session attached."""

    keepalive_interval: float = 5.0
    """Seconds of silence after which the link counts as stalled; 0 turns that check off."""

    stable_after: float = 30.0
    """Seconds attached after which the backoff starts again from the beginning."""

    reconnect: bool = True
    """Reconnect by itself after a network or server abort."""

    backoff: Backoff = field(default_factory=Backoff)
    hold_limit: int = HOLD_LIMIT
    max_parallel_probes: int = MAX_PARALLEL_PROBES
    syn_retry_gap: float = SYN_RETRY_GAP
    """Pace of fresh probes while none gets through, in the fast window (must be > 0)."""

    def __post_init__(self) -> None:
        if self.syn_retry_gap <= 0:
            raise ValueError("syn_retry_gap must be > 0: probes would start back to back")

    @classmethod
    def from_profile(cls, profile: Profile, seed: int) -> Policy:
        """The policy for ``profile``; ``seed`` makes the backoff jitter reproducible."""
        return cls(
            keepalive_interval=profile.keepalive.interval,
            stable_after=profile.reconnect.stable_after,
            reconnect=profile.reconnect.enabled,
            backoff=Backoff.from_settings(profile.reconnect, seed),
            syn_retry_gap=SYN_RETRY_GAP,
        )


# --------------------------------------------------------------------------------------------
# Phases: where we are.


@dataclass(frozen=True, slots=True)
class Retry:
    """Probing for a new connection: which probes are in flight and when the next starts."""

    since: float
    """When the outage (or the first connect) began; "reattached after" counts from here."""

    probes: frozenset[int] = frozenset()
    attempt: int = 0
    """Probes started so far in this outage (what the status shows)."""

    backoff_base: int = 0
    """Backoff steps carried over from links the server accepted and soon dropped; cleared
    by a probe that finds the network down."""

    strikes: int = 0
    """Probes of this outage that the server accepted and then refused (failed after its
    version line); cleared, like ``backoff_base``, when the network is found down."""

    last_strike_at: float | None = None
    """When the last of those failed: the backoff's delay counts from there."""

    next_try_at: float | None = None
    """When the next probe is due; None while none is planned."""

    started: tuple[tuple[int, float], ...] = ()
    """(probe, start time) of the probes started, oldest first; entries of probes that are
    no longer in flight are dropped at the next start."""

    reached: frozenset[int] = frozenset()
    """Probes whose SYN the server answered (``ProbeReached``); the others in flight are
    still waiting on it."""

    cause: Cause | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Idle:
    """Not started yet."""

    name: ClassVar[Phase] = Phase.IDLE


@dataclass(frozen=True, slots=True)
class Connecting:
    """The first connection (or the first after the user resolved a problem). One probe at a
    time, so an authentication failure is exactly one attempt."""

    retry: Retry
    name: ClassVar[Phase] = Phase.CONNECTING


@dataclass(frozen=True, slots=True)
class Attached:
    """Link ``link`` is up and carries the session."""

    link: int
    name: ClassVar[Phase] = Phase.ATTACHED


@dataclass(frozen=True, slots=True)
class Stalled:
    """Link ``link`` went silent. It is kept in case it recovers while probes try to replace
    it (make-before-break)."""

    link: int
    retry: Retry
    name: ClassVar[Phase] = Phase.STALLED


@dataclass(frozen=True, slots=True)
class HandingOver:
    """Probe ``winner`` attached, and its win waits for links being reset to give back the
    keys their server never received (``Context.resetting``): those were typed before the
    held keys, so they go first. Completes at the first ``Tick`` from ``ready_at``, the
    moment the last reset reported (so a status shows the keys held, given back included,
    before they are delivered). Shows as the phase it came from."""

    previous: Connecting | Stalled | Reconnecting
    winner: ProbeSucceeded
    ready_at: float | None = None

    @property
    def name(self) -> Phase:
        return self.previous.name


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The link is gone; probing for a new one."""

    retry: Retry
    name: ClassVar[Phase] = Phase.RECONNECTING


@dataclass(frozen=True, slots=True)
class NeedsUser:
    """Retrying cannot help (authentication, unknown host key); waiting for the user."""

    cause: Cause
    detail: str = ""
    name: ClassVar[Phase] = Phase.NEEDS_USER


@dataclass(frozen=True, slots=True)
class Detached:
    """The user detached from tmux; the session lives on on the server."""

    name: ClassVar[Phase] = Phase.DETACHED


@dataclass(frozen=True, slots=True)
class Ended:
    """The shell exited or the tmux session ended; nothing to reconnect to."""

    name: ClassVar[Phase] = Phase.ENDED


@dataclass(frozen=True, slots=True)
class Failed:
    """Gave up: the host key changed, or the link was lost with reconnect turned off."""

    cause: Cause
    detail: str = ""
    name: ClassVar[Phase] = Phase.FAILED


@dataclass(frozen=True, slots=True)
class Closed:
    """The tab closed; every event is ignored from now on."""

    name: ClassVar[Phase] = Phase.CLOSED


type PhaseData = (
    Idle
    | Connecting
    | Attached
    | Stalled
    | HandingOver
    | Reconnecting
    | NeedsUser
    | Detached
    | Ended
    | Failed
    | Closed
)


@dataclass(frozen=True, slots=True)
class Context:
    """What is remembered whatever the phase."""

    size: tuple[int, int] = (80, 24)
    resize_pending: bool = False
    """The size changed while not attached: apply it at reattach."""

    held: bytes = b""
    held_dropped: int = 0
    """Bytes typed while not attached that did not fit in the hold buffer."""

    last_contact: float = 0.0
    """Last data or ping reply from the active link."""

    rtt: float | None = None
    ping_sent_at: float | None = None
    """When the outstanding ping went out; None when none is outstanding."""

    echo_wait_since: float | None = None
    """When a reply became due soon (first keystroke since the last reply, or a network
    change); None when nothing is awaited beyond the keepalive interval."""

    echo_wait_reason: str = ""
    """What made the reply due ("typed keys", "a network change"), for the stall notice."""

    last_key_at: float | None = None
    attached_since: float | None = None
    """When the active link last became attached (None while stalled or down)."""

    attached_for: float = 0.0
    """Seconds the active link was attached before ``attached_since`` (stretches between
    stalls): time stalled does not count as attached."""

    tmux: bool = True
    """Whether the active link runs tmux, so that a fresh link can take over its session."""

    backoff_carry: int = 0
    """Accept-then-drop backoff steps behind the current link (the server refused probes or
    dropped links soon after attaching); forgotten once a link stays up ``stable_after``."""

    next_id: int = 1
    """Id for the next probe; a probe that wins keeps its id as the link id."""

    resetting: frozenset[int] = frozenset()
    """Links given up with ``ResetLink`` whose ``LinkReset`` has not come back yet: no win
    completes before the keys they give back are held."""


@dataclass(frozen=True, slots=True)
class State:
    """The whole state of one session's supervisor."""

    phase: PhaseData
    ctx: Context
    policy: Policy


type Outcome = tuple[State, tuple[Effect, ...]]


def initial_state(policy: Policy, size: tuple[int, int] = (80, 24)) -> State:
    """The state before ``ConnectRequested``."""
    return State(phase=Idle(), ctx=Context(size=size), policy=policy)


def step(state: State, event: Event, now: float) -> Outcome:
    """Apply ``event`` at monotonic time ``now``; return the new state and what to do."""
    handler = _HANDLERS.get((type(state.phase), type(event))) or _HANDLERS.get((Any, type(event)))
    new_state: State = state
    effects: tuple[Effect, ...] = ()
    if handler is not None:
        new_state, effects = handler(state, state.phase, event, now)
    wakeup = _wakeup(new_state)
    # A Tick consumed the armed timer, so re-arm even when the wakeup time is unchanged.
    if isinstance(event, Tick) or wakeup != _wakeup(state):
        effects = (*effects, ScheduleTimer(wakeup))
    return new_state, effects


# --------------------------------------------------------------------------------------------
# Small helpers shared by the handlers.


def _with(state: State, phase: PhaseData | None = None, **ctx_changes: Any) -> State:
    """``state`` with a new phase and/or context fields."""
    ctx = replace(state.ctx, **ctx_changes) if ctx_changes else state.ctx
    return replace(state, phase=phase if phase is not None else state.phase, ctx=ctx)


def _in_use(ctx: Context, now: float) -> bool:
    return ctx.last_key_at is not None and now - ctx.last_key_at <= ACTIVE_WINDOW


def _retry_delay(state: State, attempt: int, now: float) -> float:
    """Wait after ``attempt`` probes: the backoff, but short while the user is typing."""
    delay = state.policy.backoff.delay(attempt)
    if _in_use(state.ctx, now):
        delay = min(delay, ACTIVE_RETRY_DELAY)
    return delay


def _steps(retry: Retry) -> int:
    """Accept-then-drop backoff steps: carried in from earlier links plus this outage's."""
    return retry.backoff_base + retry.strikes


def _probe_limit(phase: PhaseData, policy: Policy) -> int:
    # The first connect tries one probe at a time: a wrong key must cost exactly one attempt.
    return 1 if isinstance(phase, Connecting) else policy.max_parallel_probes


def _hold(ctx: Context, data: bytes, limit: int) -> dict[str, Any]:
    """Context changes that hold ``data``, dropping (and counting) what does not fit."""
    room = max(0, limit - len(ctx.held))
    kept = data[:room]
    return {"held": ctx.held + kept, "held_dropped": ctx.held_dropped + len(data) - len(kept)}


def _reclaim(ctx: Context, unsent: bytes, limit: int) -> dict[str, Any]:
    """Context changes that put keys a reset link gives back before the held ones (they
    were typed first); what does not fit in the hold buffer goes from the newest end."""
    keys = unsent + ctx.held
    kept = keys[:limit]
    return {"held": kept, "held_dropped": ctx.held_dropped + len(keys) - len(kept)}


def _reset_link(state: State, link: int) -> Outcome:
    """Give up ``link``, which may still be alive: reset it, and await what it gives back."""
    return _with(state, resetting=state.ctx.resetting | {link}), (ResetLink(link),)


def _silence_deadline(ctx: Context, policy: Policy) -> float | None:
    """When plain silence makes the active link count as stalled."""
    if policy.keepalive_interval <= 0:
        return None
    return ctx.last_contact + policy.keepalive_interval


def _echo_deadline(ctx: Context) -> float | None:
    """When a reply awaited after typing (or a network change) is overdue."""
    if ctx.echo_wait_since is None:
        return None
    return ctx.echo_wait_since + max(MIN_ECHO_WAIT, ECHO_RTT_FACTOR * (ctx.rtt or 0.0))


def _stall_deadline(ctx: Context, policy: Policy) -> float | None:
    """When silence, or a keystroke without reply, makes the active link count as stalled."""
    deadlines = [_silence_deadline(ctx, policy), _echo_deadline(ctx)]
    return min((d for d in deadlines if d is not None), default=None)


def _ping_due(ctx: Context, policy: Policy) -> float | None:
    """When the active link should be pinged: after half an interval of silence, and again
    after a whole interval when a ping went unanswered."""
    if policy.keepalive_interval <= 0:
        return None
    if ctx.ping_sent_at is None:
        return ctx.last_contact + policy.keepalive_interval / 2
    return ctx.ping_sent_at + policy.keepalive_interval


def _retry_wakeup(retry: Retry, limit: int, ctx: Context) -> float | None:
    """When the next probe can start: when it is due, once no probe that reached the server
    is still young, and, with every slot taken, when the oldest probe will count as stuck."""
    if retry.next_try_at is None:
        return None
    at = max(retry.next_try_at, _reached_probes_young_until(retry, ctx))
    crowded = _without(retry, _syn_probes_to_drop(retry, limit))
    if len(crowded.probes) >= limit:
        stuck_at = _stuck_time(crowded, limit, ctx)
        if stuck_at is None:
            return None
        at = max(at, stuck_at)
    return at


def _syn_waiting(retry: Retry) -> list[int]:
    """Probes in flight whose SYN is still unanswered, oldest first."""
    return [p for p, _ in retry.started if p in retry.probes and p not in retry.reached]


def _syn_probes_to_drop(retry: Retry, limit: int) -> list[int]:
    """Probes a new start replaces: only one probe may wait on SYN retransmission, the oldest
    (TCP resends its SYN by itself); the newer unanswered ones make way for the fresh SYN,
    and the oldest too when the slots are full without it."""
    if limit <= 1:
        return []
    waiting = _syn_waiting(retry)
    return waiting[1:] if len(retry.probes) - len(waiting[1:]) < limit else waiting


def _without(retry: Retry, probes: list[int]) -> Retry:
    return replace(retry, probes=retry.probes - set(probes)) if probes else retry


def _reached_probes_young_until(retry: Retry, ctx: Context) -> float:
    """Until when a probe whose SYN was answered holds further probes back: it is doing its
    handshake, and a second connection would only be abandoned after TCP connected (which
    newer sshd penalises). A probe older than the stuck age no longer counts."""
    age = _stuck_age(ctx)
    return max(
        (at + age for p, at in retry.started if p in retry.probes and p in retry.reached),
        default=-math.inf,
    )


def _probe_gap(state: State, retry: Retry, now: float) -> float:
    """Seconds between probes while none gets through: ``syn_retry_gap`` in the first
    FAST_SYN_WINDOW of the outage and while the tab is in use, SLOW_SYN_GAP after; never
    before a SYN-ACK could have come back (1.25 RTT)."""
    fast = now < retry.since + FAST_SYN_WINDOW or _in_use(state.ctx, now)
    gap = state.policy.syn_retry_gap
    if not fast:
        gap = max(gap, SLOW_SYN_GAP)
    return max(gap, SYN_RETRY_RTTS * (state.ctx.rtt or 0.0))


def _backoff_gate(state: State, retry: Retry, now: float) -> float | None:
    """The earliest next probe after the server accepted and then refused or dropped us:
    the backoff's delay for the steps taken, from the last probe or refusal (or the
    outage's start for carried steps), so such a server sees one attempt per delay. None
    when the server never refused us."""
    steps = _steps(retry)
    if steps < 1:
        return None
    anchors = [retry.since, *(at for _, at in retry.started[-1:])]
    if retry.last_strike_at is not None:
        anchors.append(retry.last_strike_at)
    return max(anchors) + _retry_delay(state, steps, now)


def _plan_next(state: State, retry: Retry, now: float) -> float:
    """When the next probe of a parallel outage is due: a probe gap after the newest start,
    and no sooner than the backoff allows."""
    newest = retry.started[-1][1] if retry.started else retry.since
    due = newest + _probe_gap(state, retry, now)
    gate = _backoff_gate(state, retry, now)
    return due if gate is None else max(due, gate)


def _wakeup(state: State) -> float | None:
    """When this state next needs a Tick, or None."""
    phase, ctx, policy = state.phase, state.ctx, state.policy
    match phase:
        case Attached():
            times = [_stall_deadline(ctx, policy), _ping_due(ctx, policy)]
        case Stalled(retry=retry):
            limit = policy.max_parallel_probes
            times = [_retry_wakeup(retry, limit, ctx), _ping_due(ctx, policy)]
        case Connecting(retry=retry) | Reconnecting(retry=retry):
            times = [_retry_wakeup(retry, _probe_limit(phase, policy), ctx)]
        case HandingOver(ready_at=ready_at):
            times = [ready_at]
        case _:
            times = []
    return min((t for t in times if t is not None), default=None)


def _retry_of(phase: PhaseData) -> Retry | None:
    match phase:
        case Connecting(retry=retry) | Stalled(retry=retry) | Reconnecting(retry=retry):
            return retry
        case HandingOver(previous=previous):
            return previous.retry
        case _:
            return None


def _with_retry(phase: PhaseData, retry: Retry) -> PhaseData:
    if isinstance(phase, Connecting | Stalled | Reconnecting):
        return replace(phase, retry=retry)
    return phase


def _start_due_probes(state: State, now: float) -> Outcome:
    """Start a probe if one is due and may start (no young probe is in its handshake, a slot
    is free or can be freed); plan when the next one is due."""
    retry = _retry_of(state.phase)
    if retry is None or retry.next_try_at is None or retry.next_try_at > now:
        return state, ()
    if _reached_probes_young_until(retry, state.ctx) > now:
        return state, ()
    limit = _probe_limit(state.phase, state.policy)
    dropped = _syn_probes_to_drop(retry, limit)
    retry = _without(retry, dropped)
    replaced: tuple[Effect, ...] = tuple(CancelProbe(p) for p in dropped)
    if len(retry.probes) >= limit:
        stuck = _stuck_probe(retry, limit, state.ctx, now)
        if stuck is None:
            return state, ()
        retry = _without(retry, [stuck])
        replaced = (*replaced, CancelProbe(stuck))
    probe = state.ctx.next_id
    started = tuple(entry for entry in retry.started if entry[0] in retry.probes)
    new_retry = replace(
        retry,
        probes=retry.probes | {probe},
        attempt=retry.attempt + 1,
        started=(*started, (probe, now)),
        reached=retry.reached & retry.probes,
    )
    # The sequential first connect plans its next try when this one fails.
    sequential = limit == 1
    next_try_at = None if sequential else _plan_next(state, new_retry, now)
    new_retry = replace(new_retry, next_try_at=next_try_at)
    new_state = _with(state, _with_retry(state.phase, new_retry), next_id=probe + 1)
    return new_state, (*replaced, StartProbe(probe, state.ctx.size))


def _stuck_age(ctx: Context) -> float:
    return max(STUCK_PROBE_AGE, STUCK_PROBE_RTTS * (ctx.rtt or 0.0))


def _stuck_probe(retry: Retry, limit: int, ctx: Context, now: float) -> int | None:
    """The oldest probe in flight if it counts as stuck by ``now``, else None."""
    stuck_at = _stuck_time(retry, limit, ctx)
    if stuck_at is None or stuck_at > now:
        return None
    return min(retry.probes)


def _stuck_time(retry: Retry, limit: int, ctx: Context) -> float | None:
    """When the oldest probe in flight will count as stuck. Never for the sequential first
    connect, whose probe may be waiting on a password prompt."""
    if limit <= 1:
        return None
    in_flight = [started_at for probe, started_at in retry.started if probe in retry.probes]
    if not in_flight:
        return None
    return in_flight[0] + _stuck_age(ctx)


def _stop_probing(state: State, phase: PhaseData) -> Outcome:
    """Cancel every probe in flight and let go of the old link, if any: an attached one is
    closed (what was typed into it still goes out), a stalled one is reset."""
    retry = _retry_of(phase)
    effects: list[Effect] = [CancelProbe(p) for p in sorted(retry.probes)] if retry else []
    if isinstance(phase, Attached):
        effects.append(CloseLink(phase.link))
    elif isinstance(phase, Stalled):
        state, reset = _reset_link(state, phase.link)
        effects.extend(reset)
    return state, tuple(effects)


def _attached_time(ctx: Context, now: float) -> float | None:
    """Seconds the active link has been attached, stalls not counted; None without one."""
    if ctx.attached_since is None:
        return ctx.attached_for or None
    return ctx.attached_for + now - ctx.attached_since


def _outage_base(state: State, now: float, dropped: bool) -> int:
    """Accept-then-drop steps a new outage starts with.

    A link attached for ``stable_after`` clears them. A server that ended the link within
    ACCEPT_DROP_WINDOW of attaching adds one, so a server that accepts and then drops us is
    probed ever more slowly; one that ended it later keeps them as they are. A stall is the
    network (or a hung server), not a refusal: it starts from none.
    """
    ctx = state.ctx
    attached = _attached_time(ctx, now)
    if attached is None or attached >= state.policy.stable_after or not dropped:
        return 0
    if attached < ACCEPT_DROP_WINDOW:
        return ctx.backoff_carry + 1
    return ctx.backoff_carry


def _server_dropped(cause: Cause) -> bool:
    """Whether an attached link that ended with ``cause`` was ended by the server (closed,
    reset, a protocol error) rather than lost to the network or closed by us."""
    return not cause.network and cause is not Cause.LOCAL


def _begin_outage(
    state: State, now: float, old_link: int | None, cause: Cause, detail: str
) -> Outcome:
    """Enter Stalled (old link kept) or Reconnecting (old link gone) and probe.

    The first probe goes out at once unless the server dropped us again soon after a
    previous drop (two steps or more): then it waits the backoff, so a server that accepts
    and then drops us is not hammered.
    """
    reason = detail or str(cause)
    dropped = old_link is None and _server_dropped(cause)
    base = _outage_base(state, now, dropped)
    attached = _attached_time(state.ctx, now)
    state, pings = _keep_pinging(
        _with(
            state,
            echo_wait_since=None,
            echo_wait_reason="",
            attached_since=None,
            attached_for=attached or 0.0,
        ),
        old_link,
        now,
    )
    if not state.policy.reconnect:
        if old_link is not None:
            notice = f"connection stalled: {reason}; automatic reconnect is off"
            retry = Retry(since=now, cause=cause, detail=detail)
            return _with(state, Stalled(old_link, retry)), (Notify(notice), *pings)
        notice = f"connection lost: {reason}; automatic reconnect is off"
        return _with(state, Failed(cause, detail)), (Notify(notice),)
    retry = Retry(since=now, backoff_base=base, cause=cause, detail=detail)
    first_at = now if base <= 1 else _plan_next(state, retry, now)
    retry = replace(retry, next_try_at=first_at)
    phase: PhaseData = Stalled(old_link, retry) if old_link is not None else Reconnecting(retry)
    new_state, effects = _start_due_probes(_with(state, phase), now)
    return new_state, (Notify(f"connection lost: {reason}; reconnecting"), *effects, *pings)


def _keep_pinging(state: State, old_link: int | None, now: float) -> Outcome:
    """A stalled link that is kept gets a ping now unless one is already out: its reply is
    the quickest sign that the link recovered. A link that is gone needs none."""
    if old_link is None:
        return _with(state, ping_sent_at=None), ()
    due = _ping_due(state.ctx, state.policy)
    if state.ctx.ping_sent_at is not None and (due is None or due > now):
        return state, ()
    return _with(state, ping_sent_at=now), (SendPing(old_link),)


def _stall(state: State, phase: Attached, now: float) -> Outcome:
    """The active link stopped answering: report it and start probing, keeping the link."""
    ctx = state.ctx
    detail = f"no reply for {duration_text(now - ctx.last_contact, NOTICE)}"
    silence_at = _silence_deadline(ctx, state.policy)
    echo_at = _echo_deadline(ctx)
    if echo_at is not None and (silence_at is None or echo_at < silence_at):
        detail += f" (nothing came back after {ctx.echo_wait_reason})"
    return _begin_outage(state, now, phase.link, Cause.TIMEOUT, detail)


def _attach(state: State, link: int, reattached_existing: bool, now: float) -> Outcome:
    """Make ``link`` the active link: deliver or discard held keys, apply a pending resize."""
    ctx = state.ctx
    effects: list[Effect] = []
    if ctx.resize_pending:
        effects.append(ApplyResize(*ctx.size))
    if ctx.held and reattached_existing:
        effects.append(DeliverHeldKeys(ctx.held))
    elif ctx.held:
        effects.append(DiscardHeldKeys(len(ctx.held)))
        effects.append(
            Notify(
                f"{len(ctx.held)} bytes typed during the outage were discarded: "
                "this is not the same tmux session"
            )
        )
    if ctx.held_dropped:
        effects.append(
            Notify(f"{ctx.held_dropped} bytes typed during the outage did not fit and were lost")
        )
    attached = _with(
        state,
        Attached(link),
        resize_pending=False,
        held=b"",
        held_dropped=0,
        last_contact=now,
        ping_sent_at=None,
        echo_wait_since=None,
    )
    return attached, tuple(effects)


def _to_needs_user(state: State, phase: PhaseData, cause: Cause, detail: str) -> Outcome:
    """Stop retrying: the cause is one that only the user can fix."""
    state, effects = _stop_probing(state, phase)
    if cause is Cause.HOST_KEY_CHANGED:
        notice = (
            f"host key changed: {detail or 'the server sent a different key'}; refusing to "
            "connect (it could be an attack). Check the key, fix known_hosts, then reconnect"
        )
        return _with(state, Failed(cause, detail)), (*effects, Notify(notice))
    reason = f"{cause}: {detail}" if detail else str(cause)
    notice = f"{reason}; not retrying. Fix it, then reconnect"
    return _with(state, NeedsUser(cause, detail)), (*effects, Notify(notice))


def _restart(state: State, now: float) -> Outcome:
    """A fresh first connect, backoff from the beginning (after the user asked)."""
    retry = Retry(since=now, next_try_at=now)
    fresh = _with(state, Connecting(retry), backoff_carry=0)
    return _start_due_probes(fresh, now)


# --------------------------------------------------------------------------------------------
# Handlers, one per (phase, event) pair. Each takes (state, phase, event, now).


def _idle_connect(state: State, phase: Idle, event: ConnectRequested, now: float) -> Outcome:
    return _restart(state, now)


def _attached_data(state: State, phase: Attached, event: DataReceived, now: float) -> Outcome:
    if event.link != phase.link:
        return state, ()
    return _with(state, last_contact=now, echo_wait_since=None), ()


def _attached_ping(state: State, phase: Attached, event: PingReplied, now: float) -> Outcome:
    if event.link != phase.link:
        return state, ()
    return _with(
        state, last_contact=now, rtt=event.rtt, ping_sent_at=None, echo_wait_since=None
    ), ()


def _attached_key(state: State, phase: Attached, event: KeyTyped, now: float) -> Outcome:
    ctx = state.ctx
    effects: list[Effect] = [SendKeys(event.data)]
    changes: dict[str, Any] = {"last_key_at": now}
    if ctx.echo_wait_since is None:
        changes.update(echo_wait_since=now, echo_wait_reason="typed keys")
    # A ping with the keystroke proves the link alive even when nothing is echoed (a
    # password prompt), so silence after typing really means a stall.
    if ctx.ping_sent_at is None:
        changes["ping_sent_at"] = now
        effects.append(SendPing(phase.link))
    return _with(state, **changes), tuple(effects)


def _attached_reply(state: State, phase: Attached, event: TerminalReply, now: float) -> Outcome:
    """The terminal's answer goes out at once, and is not typing: no echo is awaited, no
    ping sent, the tab does not count as in use. An answer to a query from a link that has
    been replaced since is dropped: the new tmux client would read it as keystrokes."""
    if event.link != phase.link:
        return state, ()
    return state, (SendReply(phase.link, event.data),)


def _drop_reply(state: State, phase: PhaseData, event: TerminalReply, now: float) -> Outcome:
    # Never held for a later link: whoever asked is gone, or stalled and about to be
    # replaced, and an answer typed into a reattached session arrives as stray keystrokes.
    return state, ()


def _attached_resize(state: State, phase: Attached, event: Resized, now: float) -> Outcome:
    size = (event.cols, event.rows)
    return _with(state, size=size), (ApplyResize(*size),)


def _attached_tick(state: State, phase: Attached, event: Tick, now: float) -> Outcome:
    stall_at = _stall_deadline(state.ctx, state.policy)
    if stall_at is not None and now >= stall_at:
        return _stall(state, phase, now)
    ping_at = _ping_due(state.ctx, state.policy)
    if ping_at is not None and now >= ping_at:
        return _with(state, ping_sent_at=now), (SendPing(phase.link),)
    return state, ()


def _attached_ended(state: State, phase: Attached, event: LinkEnded, now: float) -> Outcome:
    if event.link != phase.link:
        return state, ()
    return _link_ended(state, now, event, cancels=())


def _link_ended(state: State, now: float, event: LinkEnded, cancels: tuple[Effect, ...]) -> Outcome:
    """The active link ended; ``cancels`` stops probes that are now pointless."""
    match event.ending:
        case Ending.ENDED:
            notice = "session ended: the shell exited or the tmux session closed"
            return _with(state, Ended()), (*cancels, Notify(notice))
        case Ending.DETACHED:
            notice = "detached from tmux; the session lives on on the server"
            return _with(state, Detached()), (*cancels, Notify(notice))
        case Ending.LOST:
            cause = event.cause or Cause.SERVER_CLOSED
            return _begin_outage(state, now, None, cause, event.detail)


def _attached_network(state: State, phase: Attached, event: NetworkChanged, now: float) -> Outcome:
    # The route or address may have moved under the link: check it now instead of waiting
    # for the keepalive interval. A ping plus the echo deadline turns "no reply" into a stall
    # within max(1 s, 3 x RTT).
    changes: dict[str, Any] = {}
    if state.ctx.echo_wait_since is None:
        changes.update(echo_wait_since=now, echo_wait_reason="a network change")
    effects: tuple[Effect, ...] = ()
    if state.ctx.ping_sent_at is None:
        changes["ping_sent_at"] = now
        effects = (SendPing(phase.link),)
    return _with(state, **changes), effects


def _attached_reconnect(state: State, phase: Attached, event: ReconnectNow, now: float) -> Outcome:
    # The user thinks the link is stuck: treat it as a stall (keep it until a probe wins).
    fresh = _with(state, backoff_carry=0, attached_since=None, attached_for=0.0)
    return _begin_outage(fresh, now, phase.link, Cause.LOCAL, "reconnect requested")


# Probing phases (Connecting, Stalled, Reconnecting) share most of their handlers.


def _probing_won(
    state: State, phase: Connecting | Stalled | Reconnecting, event: ProbeSucceeded, now: float
) -> Outcome:
    retry = phase.retry
    if event.probe not in retry.probes:
        return state, (CloseLink(event.probe),)
    losers: tuple[Effect, ...] = tuple(CancelProbe(p) for p in sorted(retry.probes - {event.probe}))
    resets: tuple[Effect, ...] = ()
    if isinstance(phase, Stalled):
        state, resets = _reset_link(state, phase.link)
    if not state.ctx.resetting:
        return _complete_win(state, phase, event, now, losers)
    # Keys the old link never delivered come back with its LinkReset: they go first.
    waiting = replace(phase, retry=replace(retry, probes=frozenset({event.probe})))
    return _with(state, HandingOver(previous=waiting, winner=event)), (*losers, *resets)


def _complete_win(
    state: State,
    phase: Connecting | Stalled | Reconnecting,
    event: ProbeSucceeded,
    now: float,
    losers: tuple[Effect, ...] = (),
) -> Outcome:
    """Probe ``event.probe`` becomes the active link; ``losers`` stop the other probes."""
    retry = phase.retry
    new_state, effects = _attach(state, event.probe, event.reattached_existing, now)
    new_state = _with(
        new_state,
        attached_since=now,
        attached_for=0.0,
        backoff_carry=_steps(retry),
        tmux=event.tmux,
    )
    notice = _attach_notice(phase, event, now - retry.since)
    return new_state, (*losers, Promote(event.probe), *effects, Notify(notice))


def _attach_notice(phase: PhaseData, event: ProbeSucceeded, took: float) -> str:
    verb = "connected" if isinstance(phase, Connecting) else "reconnected"
    after = duration_text(took, NOTICE)
    if not event.tmux:
        return (
            f"{verb} after {after}: no tmux on the server, so this session will not "
            "survive a reconnect"
        )
    if event.reattached_existing:
        what = "attached" if isinstance(phase, Connecting) else "reattached"
        return f"{what} after {after}"
    if isinstance(phase, Connecting):
        return f"connected after {after}: new tmux session"
    return f"reconnected after {after}: the old tmux session is gone, this is a new one"


def _probing_failed(
    state: State, phase: Connecting | Stalled | Reconnecting, event: ProbeFailed, now: float
) -> Outcome:
    retry = phase.retry
    if event.probe not in retry.probes:
        return state, ()
    remaining = retry.probes - {event.probe}
    first_connect = isinstance(phase, Connecting)
    if not event.cause.retryable or (first_connect and event.cause.final_at_first_connect):
        others = _with_retry(phase, replace(retry, probes=remaining))
        return _to_needs_user(state, others, event.cause, event.detail)
    reason = event.detail or str(event.cause)
    retry = _count_failure(
        replace(retry, probes=remaining, cause=event.cause, detail=event.detail), event, now
    )
    notices: tuple[Effect, ...] = ()
    planned = retry.next_try_at
    if planned is None:
        if not state.policy.reconnect:
            notice = f"could not connect: {reason}; automatic reconnect is off"
            return _with(state, Failed(event.cause, event.detail)), (Notify(notice),)
        # Sequential probing (first connect) plans the next try when one fails, and says
        # so: until the first attach, the notice is all the user sees. Every failure counts
        # here: a notice every half second would drown what the user needs to read.
        delay = _retry_delay(state, retry.attempt, now)
        retry = replace(retry, next_try_at=now + delay)
        notices = (
            Notify(f"could not connect: {reason}; trying again in {duration_text(delay, NOTICE)}"),
        )
    elif event.network_down:
        # Nothing of the server was reached: the next probe keeps the probe pace, however
        # far the backoff had gone.
        retry = replace(retry, next_try_at=min(planned, _plan_next(state, retry, now)))
    else:
        # The backoff counts from this refusal (jitter included, as the seed says).
        retry = replace(retry, next_try_at=_plan_next(state, retry, now))
    new_state, effects = _start_due_probes(_with(state, _with_retry(phase, retry)), now)
    return new_state, (*notices, *effects)


def _count_failure(retry: Retry, event: ProbeFailed, now: float) -> Retry:
    """A refusal by a server that accepted us is one more backoff step; a network found
    down says the earlier drops were not the server's doing either, so the steps go."""
    if event.network_down:
        return replace(retry, backoff_base=0, strikes=0, last_strike_at=None)
    return replace(retry, strikes=retry.strikes + 1, last_strike_at=now)


def _probing_reached(
    state: State, phase: Connecting | Stalled | Reconnecting, event: ProbeReached, now: float
) -> Outcome:
    retry = phase.retry
    if event.probe not in retry.probes:
        return state, ()
    # The server answered this one: probes still waiting on a SYN are pointless now, and
    # would only make connections abandoned after TCP connected if their SYNs got through.
    waiting = [p for p in _syn_waiting(retry) if p != event.probe]
    new_retry = replace(
        retry, probes=retry.probes - set(waiting), reached=retry.reached | {event.probe}
    )
    return _with(state, _with_retry(phase, new_retry)), tuple(CancelProbe(p) for p in waiting)


def _probing_tick(
    state: State, phase: Connecting | Stalled | Reconnecting, event: Tick, now: float
) -> Outcome:
    new_state, effects = _start_due_probes(state, now)
    if isinstance(phase, Stalled):
        ping_at = _ping_due(state.ctx, state.policy)
        if ping_at is not None and now >= ping_at:
            new_state = _with(new_state, ping_sent_at=now)
            effects = (*effects, SendPing(phase.link))
    return new_state, effects


def _keystroke_gap(state: State, retry: Retry) -> float:
    """How recent a probe may be for a keystroke not to start another. When the newest
    probe's SYN is unanswered and the network may just have come back, a fresh SYN is worth
    sending once that SYN could have been answered (1.25 RTT; on a fast link at once)."""
    newest = retry.started[-1][0] if retry.started else None
    syn_unanswered = newest in retry.probes and newest not in retry.reached
    if syn_unanswered and state.ctx.rtt is not None:
        return min(KEYSTROKE_PROBE_GAP, SYN_RETRY_RTTS * state.ctx.rtt)
    return KEYSTROKE_PROBE_GAP


def _probing_key(
    state: State, phase: Connecting | Stalled | Reconnecting, event: KeyTyped, now: float
) -> Outcome:
    held = _hold(state.ctx, event.data, state.policy.hold_limit)
    retry = phase.retry
    typed = _with(state, last_key_at=now, **held)
    if retry.next_try_at is None:
        # Sequential first connect with its probe still running: nothing to bring forward.
        return typed, ()
    # The user is waiting on this tab: probe now, unless a probe has only just started.
    last_start = retry.started[-1][1] if retry.started else None
    soon = now if last_start is None else max(now, last_start + _keystroke_gap(state, retry))
    if not isinstance(phase, Connecting):
        # In use now: the fast probe pace, and a backoff of at most ACTIVE_RETRY_DELAY.
        soon = min(soon, _plan_next(typed, retry, now))
    if retry.next_try_at <= soon:
        return _start_due_probes(typed, now)
    return _start_due_probes(
        _with(typed, _with_retry(phase, replace(retry, next_try_at=soon))), now
    )


def _probing_now(
    state: State,
    phase: Connecting | Stalled | Reconnecting,
    event: NetworkChanged | ReconnectNow,
    now: float,
) -> Outcome:
    # A new network (or an impatient user) deserves a probe now and a fresh backoff.
    if not state.policy.reconnect and not isinstance(event, ReconnectNow):
        return state, ()
    # Probes still in flight keep counting, so the status never shows "attempt 0" while
    # one is running.
    retry = replace(
        phase.retry,
        next_try_at=now,
        attempt=len(phase.retry.probes),
        backoff_base=0,
        strikes=0,
        last_strike_at=None,
    )
    return _start_due_probes(_with(state, _with_retry(phase, retry)), now)


def _stalled_data(state: State, phase: Stalled, event: DataReceived, now: float) -> Outcome:
    """Bytes from the stalled link prove only that the way back works.

    After an outage the old TCP connection still waits out its retransmission backoff for
    what we sent: measured here, output arrived 0.5 s after a 5 s drop ended but typed keys
    only went through 2 s after it, while a fresh probe was attached at 0.5 s. So the race
    goes on until the old link answers a ping (a full round trip). Without tmux a probe
    cannot take over the session, so there the old link is kept at its first sign of life.
    """
    if event.link != phase.link:
        return state, ()
    if not state.ctx.tmux:
        return _stalled_recovered(state, phase, event, now)
    return _with(state, last_contact=now), ()


def _stalled_recovered(
    state: State, phase: Stalled, event: DataReceived | PingReplied, now: float
) -> Outcome:
    """The old link answered before any probe attached: keep it, cancel the probes."""
    if event.link != phase.link:
        return state, ()
    cancels = tuple(CancelProbe(p) for p in sorted(phase.retry.probes))
    # The RTT is not taken from this reply: its ping waited out the outage, and a huge RTT
    # would make the next stall check (3 x RTT after a keystroke) needlessly slow.
    recovered = _with(state, backoff_carry=_steps(phase.retry), attached_since=now)
    # The old link is the same session, so held keys are always delivered.
    new_state, effects = _attach(recovered, phase.link, reattached_existing=True, now=now)
    notice = Notify(f"connection recovered after {duration_text(now - phase.retry.since, NOTICE)}")
    return new_state, (*cancels, *effects, notice)


def _stalled_ended(state: State, phase: Stalled, event: LinkEnded, now: float) -> Outcome:
    if event.link != phase.link:
        return state, ()
    cancels = tuple(CancelProbe(p) for p in sorted(phase.retry.probes))
    if event.ending is not Ending.LOST:
        return _link_ended(state, now, event, cancels)
    retry = phase.retry
    if event.cause is not None:
        retry = replace(retry, cause=event.cause, detail=event.detail)
    if not state.policy.reconnect:
        cause = retry.cause or Cause.SERVER_CLOSED
        notice = f"connection lost: {retry.detail or cause}; automatic reconnect is off"
        return _with(state, Failed(cause, retry.detail)), (*cancels, Notify(notice))
    # The old link is gone for good; the probes already in flight carry on.
    return _with(state, Reconnecting(retry)), ()


def _not_attached_resize(state: State, phase: PhaseData, event: Resized, now: float) -> Outcome:
    return _with(state, size=(event.cols, event.rows), resize_pending=True), ()


def _idle_resize(state: State, phase: Idle, event: Resized, now: float) -> Outcome:
    # No probe has started yet, so the first one simply uses the new size.
    return _with(state, size=(event.cols, event.rows)), ()


def _hold_key(state: State, phase: PhaseData, event: KeyTyped, now: float) -> Outcome:
    held = _hold(state.ctx, event.data, state.policy.hold_limit)
    return _with(state, last_key_at=now, **held), ()


def _reset_reported(state: State, phase: PhaseData, event: LinkReset, now: float) -> Outcome:
    """A link given up is reset: the keys its server never received join the held ones, in
    front. (Never while attached: every win waits for the resets, see ``HandingOver``.)"""
    if event.link not in state.ctx.resetting:
        return state, ()
    resetting = state.ctx.resetting - {event.link}
    held = _reclaim(state.ctx, event.unsent, state.policy.hold_limit)
    new_state = _with(state, resetting=resetting, **held)
    if isinstance(phase, HandingOver) and not resetting:
        # The win completes at the next Tick, after a status has shown these keys held.
        new_state = _with(new_state, replace(phase, ready_at=now))
    return new_state, ()


def _handover_tick(state: State, phase: HandingOver, event: Tick, now: float) -> Outcome:
    if phase.ready_at is None or now < phase.ready_at:
        return state, ()
    return _complete_win(state, phase.previous, phase.winner, now)


def _user_restart(
    state: State, phase: PhaseData, event: ReconnectNow | UserResolved, now: float
) -> Outcome:
    return _restart(state, now)


def _failed_reconnect(state: State, phase: Failed, event: ReconnectNow, now: float) -> Outcome:
    if phase.cause is Cause.HOST_KEY_CHANGED:
        notice = "host key changed: not reconnecting until the key is resolved"
        return state, (Notify(notice),)
    return _restart(state, now)


def _stray_probe_won(state: State, phase: PhaseData, event: ProbeSucceeded, now: float) -> Outcome:
    # Whatever the phase, an attached probe nobody wants must not stay open.
    return state, (CloseLink(event.probe),)


def _close(state: State, phase: PhaseData, event: CloseRequested, now: float) -> Outcome:
    state, effects = _stop_probing(state, phase)
    return _with(state, Closed()), effects


def _ignore(state: State, phase: PhaseData, event: Event, now: float) -> Outcome:
    # For pairs that would otherwise fall through to an every-phase handler.
    return state, ()


type _Handler = Callable[[State, Any, Any, float], Outcome]

_PROBING = (Connecting, Stalled, Reconnecting)
_RESTARTABLE = (NeedsUser, Detached, Ended)

_HANDLERS: dict[tuple[Any, type], _Handler] = {
    (Idle, ConnectRequested): _idle_connect,
    (Idle, Resized): _idle_resize,
    (Attached, DataReceived): _attached_data,
    (Attached, PingReplied): _attached_ping,
    (Attached, KeyTyped): _attached_key,
    (Attached, TerminalReply): _attached_reply,
    (Attached, Resized): _attached_resize,
    (Attached, Tick): _attached_tick,
    (Attached, LinkEnded): _attached_ended,
    (Attached, NetworkChanged): _attached_network,
    (Attached, ReconnectNow): _attached_reconnect,
    **{(p, ProbeSucceeded): _probing_won for p in _PROBING},
    **{(p, ProbeFailed): _probing_failed for p in _PROBING},
    **{(p, ProbeReached): _probing_reached for p in _PROBING},
    **{(p, Tick): _probing_tick for p in _PROBING},
    **{(p, KeyTyped): _probing_key for p in _PROBING},
    **{(p, NetworkChanged): _probing_now for p in _PROBING},
    **{(p, ReconnectNow): _probing_now for p in _PROBING},
    (Stalled, DataReceived): _stalled_data,
    (Stalled, PingReplied): _stalled_recovered,
    (Stalled, LinkEnded): _stalled_ended,
    (HandingOver, Tick): _handover_tick,
    (HandingOver, KeyTyped): _hold_key,
    (NeedsUser, KeyTyped): _hold_key,
    **{(p, ReconnectNow): _user_restart for p in _RESTARTABLE},
    (NeedsUser, UserResolved): _user_restart,
    (Failed, UserResolved): _user_restart,
    (Failed, ReconnectNow): _failed_reconnect,
    (Any, Resized): _not_attached_resize,
    (Any, ProbeSucceeded): _stray_probe_won,
    (Any, CloseRequested): _close,
    (Any, LinkReset): _reset_reported,
    (Closed, LinkReset): _ignore,
    (Any, TerminalReply): _drop_reply,
    (Closed, Resized): _ignore,
    (Closed, CloseRequested): _ignore,
}


# --------------------------------------------------------------------------------------------
# Status: what a status line shows.


@dataclass(frozen=True, slots=True)
class Status:
    """A snapshot for status lines: plain data, derived from the state at one moment."""

    state: Phase
    cause: Cause | None = None
    detail: str = ""
    last_contact_age: float | None = None
    rtt: float | None = None
    retry_in: float | None = None
    held: int = 0
    held_dropped: int = 0
    attempt: int = 0

    def describe(self) -> str:
        """One line in plain words, e.g. ``reconnecting (attempt 3, next try in 2.0 s)``."""
        parts: list[str] = [self.state]
        if self.state is Phase.ATTACHED and self.rtt is not None:
            parts.append(f"rtt {milliseconds_text(self.rtt)}")
        if self.detail or self.cause:
            parts.append(self.detail or str(self.cause))
        if self.attempt:
            parts.append(f"attempt {self.attempt}")
        if self.retry_in is not None:
            parts.append(f"next try in {duration_text(self.retry_in, NOTICE)}")
        if self.held or self.held_dropped:
            dropped = f", {self.held_dropped} dropped" if self.held_dropped else ""
            parts.append(f"{self.held} bytes held{dropped}")
        return " · ".join(parts)


def status_of(state: State, now: float) -> Status:
    """The status snapshot of ``state`` at time ``now``."""
    phase, ctx = state.phase, state.ctx
    cause: Cause | None = None
    detail = ""
    retry = _retry_of(phase)
    if retry is not None:
        cause, detail = retry.cause, retry.detail
    elif isinstance(phase, NeedsUser | Failed):
        cause, detail = phase.cause, phase.detail
    has_link = isinstance(phase, Attached | Stalled)
    retry_in = None
    if retry is not None and retry.next_try_at is not None:
        retry_in = max(0.0, retry.next_try_at - now)
    return Status(
        state=phase.name,
        cause=cause,
        detail=detail,
        last_contact_age=now - ctx.last_contact if has_link else None,
        rtt=ctx.rtt,
        retry_in=retry_in,
        held=len(ctx.held),
        held_dropped=ctx.held_dropped,
        attempt=retry.attempt if retry is not None else 0,
    )
