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
* Probes back off exponentially (backoff.py), but never wait more than 1 s while the user is
  typing, and a keystroke starts one at once; the backoff restarts after the link has been
  stable for ``stable_after``. At most three probes run at once; a probe stuck in TCP's SYN
  retransmissions (older than max(2 s, 20 RTT)) makes room for a fresh one.
* During an outage only one probe may wait on SYN retransmission: while the newest probe's
  SYN is unanswered, a fresh one starts every max(250 ms, 1.25 RTT) (the first 30 s of an
  outage, and while the user types), and older unanswered ones but the oldest are dropped.
  So a SYN leaves within about 250 ms of the network coming back, not at TCP's next SYN
  retry (1 s, then 1 s apart with the capped RTO).
* Causes that retrying cannot fix (auth, host key) stop retries; a changed host key stops
  everything until the user resolves it.
* Keys typed while not attached are held (bounded) and delivered only into the same tmux
  session; a resize while not attached is applied at reattach.
"""

# Every handler takes (state, phase, event, now) so one table can dispatch them all; a
# handler that needs fewer of them still keeps the shared signature.
# ruff: noqa: ARG001

from __future__ import annotations

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
    NetworkChanged,
    Notify,
    PingReplied,
    ProbeFailed,
    ProbeReached,
    ProbeSucceeded,
    Promote,
    ReconnectNow,
    Resized,
    ScheduleTimer,
    SendKeys,
    SendPing,
    StartProbe,
    Tick,
    UserResolved,
)
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
"""Seconds from the start of an outage during which SYNs go out at that pace whether or not
the user types (after that only while the tab is in use): 4 SYNs a second is nothing for a
network that is down, but not kept up for hours on an idle tab."""

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
    syn_retry_gap: float = 0.0
    """Pace of fresh SYNs while probes wait on unanswered ones (``SYN_RETRY_GAP`` for a
    profile); 0 leaves probing to the backoff alone."""

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
    """Backoff steps carried over from earlier outages of a link that never became stable;
    the delay after a probe is the backoff's delay for ``backoff_base + attempt``."""

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

    name: ClassVar[str] = "idle"


@dataclass(frozen=True, slots=True)
class Connecting:
    """The first connection (or the first after the user resolved a problem). One probe at a
    time, so an authentication failure is exactly one attempt."""

    retry: Retry
    name: ClassVar[str] = "connecting"


@dataclass(frozen=True, slots=True)
class Attached:
    """Link ``link`` is up and carries the session."""

    link: int
    name: ClassVar[str] = "attached"


@dataclass(frozen=True, slots=True)
class Stalled:
    """Link ``link`` went silent. It is kept in case it recovers while probes try to replace
    it (make-before-break)."""

    link: int
    retry: Retry
    name: ClassVar[str] = "stalled"


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The link is gone; probing for a new one."""

    retry: Retry
    name: ClassVar[str] = "reconnecting"


@dataclass(frozen=True, slots=True)
class NeedsUser:
    """Retrying cannot help (authentication, unknown host key); waiting for the user."""

    cause: Cause
    detail: str = ""
    name: ClassVar[str] = "needs-user"


@dataclass(frozen=True, slots=True)
class Detached:
    """The user detached from tmux; the session lives on on the server."""

    name: ClassVar[str] = "detached"


@dataclass(frozen=True, slots=True)
class Ended:
    """The shell exited or the tmux session ended; nothing to reconnect to."""

    name: ClassVar[str] = "ended"


@dataclass(frozen=True, slots=True)
class Failed:
    """Gave up: the host key changed, or the link was lost with reconnect turned off."""

    cause: Cause
    detail: str = ""
    name: ClassVar[str] = "failed"


@dataclass(frozen=True, slots=True)
class Closed:
    """The tab closed; every event is ignored from now on."""

    name: ClassVar[str] = "closed"


type Phase = (
    Idle
    | Connecting
    | Attached
    | Stalled
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
    tmux: bool = True
    """Whether the active link runs tmux, so that a fresh link can take over its session."""

    backoff_carry: int = 0
    """Backoff steps the current link took to attach (earlier outages included); carried
    into its next outage unless it stays up for ``stable_after``."""

    next_id: int = 1
    """Id for the next probe; a probe that wins keeps its id as the link id."""


@dataclass(frozen=True, slots=True)
class State:
    """The whole state of one session's supervisor."""

    phase: Phase
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


def _with(state: State, phase: Phase | None = None, **ctx_changes: Any) -> State:
    """``state`` with a new phase and/or context fields."""
    ctx = replace(state.ctx, **ctx_changes) if ctx_changes else state.ctx
    return replace(state, phase=phase if phase is not None else state.phase, ctx=ctx)


def _seconds(value: float) -> str:
    """Seconds for a notice: one decimal below 10 s, whole seconds above."""
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _in_use(ctx: Context, now: float) -> bool:
    return ctx.last_key_at is not None and now - ctx.last_key_at <= ACTIVE_WINDOW


def _retry_delay(state: State, attempt: int, now: float) -> float:
    """Wait after ``attempt`` probes: the backoff, but short while the user is typing."""
    delay = state.policy.backoff.delay(attempt)
    if _in_use(state.ctx, now):
        delay = min(delay, ACTIVE_RETRY_DELAY)
    return delay


def _steps(retry: Retry) -> int:
    """Backoff steps taken so far, earlier unstable outages included."""
    return retry.backoff_base + retry.attempt


def _probe_limit(phase: Phase, policy: Policy) -> int:
    # The first connect tries one probe at a time: a wrong key must cost exactly one attempt.
    return 1 if isinstance(phase, Connecting) else policy.max_parallel_probes


def _hold(ctx: Context, data: bytes, limit: int) -> dict[str, Any]:
    """Context changes that hold ``data``, dropping (and counting) what does not fit."""
    room = max(0, limit - len(ctx.held))
    kept = data[:room]
    return {"held": ctx.held + kept, "held_dropped": ctx.held_dropped + len(data) - len(kept)}


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


def _retry_wakeup(retry: Retry, limit: int, ctx: Context, policy: Policy) -> float | None:
    """When the next probe can start: when it is due (or a fresh SYN is), and, with every
    slot taken, when the oldest probe will count as stuck."""
    if retry.next_try_at is None:
        return None
    syn_at = _syn_retry_time(retry, limit, ctx, policy)
    if syn_at is not None and syn_at < retry.next_try_at:
        return syn_at  # replaces a probe waiting on SYN, so a full set of slots is no bar
    if len(retry.probes) < limit:
        return retry.next_try_at
    stuck_at = _stuck_time(retry, limit, ctx)
    return None if stuck_at is None else max(retry.next_try_at, stuck_at)


def _syn_waiting(retry: Retry) -> list[int]:
    """Probes in flight whose SYN is still unanswered, oldest first."""
    return [p for p, _ in retry.started if p in retry.probes and p not in retry.reached]


def _syn_retry_time(retry: Retry, limit: int, ctx: Context, policy: Policy) -> float | None:
    """When a fresh SYN is due because the newest probe's is still unanswered; None when
    the newest probe got through, or outside the fast-SYN window."""
    if limit <= 1 or policy.syn_retry_gap <= 0 or not retry.started:
        return None
    newest, started_at = retry.started[-1]
    if newest not in retry.probes or newest in retry.reached:
        return None
    due = started_at + max(policy.syn_retry_gap, SYN_RETRY_RTTS * (ctx.rtt or 0.0))
    fast_until = retry.since + FAST_SYN_WINDOW
    if ctx.last_key_at is not None:
        fast_until = max(fast_until, ctx.last_key_at + ACTIVE_WINDOW)
    return due if due <= fast_until else None


def _wakeup(state: State) -> float | None:
    """When this state next needs a Tick, or None."""
    phase, ctx, policy = state.phase, state.ctx, state.policy
    match phase:
        case Attached():
            times = [_stall_deadline(ctx, policy), _ping_due(ctx, policy)]
        case Stalled(retry=retry):
            limit = policy.max_parallel_probes
            times = [_retry_wakeup(retry, limit, ctx, policy), _ping_due(ctx, policy)]
        case Connecting(retry=retry) | Reconnecting(retry=retry):
            times = [_retry_wakeup(retry, _probe_limit(phase, policy), ctx, policy)]
        case _:
            times = []
    return min((t for t in times if t is not None), default=None)


def _retry_of(phase: Phase) -> Retry | None:
    match phase:
        case Connecting(retry=retry) | Stalled(retry=retry) | Reconnecting(retry=retry):
            return retry
        case _:
            return None


def _with_retry(phase: Phase, retry: Retry) -> Phase:
    if isinstance(phase, Connecting | Stalled | Reconnecting):
        return replace(phase, retry=retry)
    return phase


def _start_due_probes(state: State, now: float) -> Outcome:
    """Start a probe if one is due and a slot is free (or can be freed from a stuck probe);
    plan when the next one is due."""
    retry = _retry_of(state.phase)
    if retry is None or retry.next_try_at is None:
        return state, ()
    limit = _probe_limit(state.phase, state.policy)
    syn_at = _syn_retry_time(retry, limit, state.ctx, state.policy)
    if retry.next_try_at > now and (syn_at is None or syn_at > now):
        return state, ()
    only_syn_due = retry.next_try_at > now
    replaced: tuple[Effect, ...] = ()
    if syn_at is not None and syn_at <= now:
        # Only one probe may wait on SYN retransmission: the oldest (TCP resends its SYN
        # by itself); the newer unanswered ones make way for the fresh SYN.
        waiting = _syn_waiting(retry)
        dropped = waiting[1:] if len(retry.probes) - len(waiting[1:]) < limit else waiting
        retry = replace(retry, probes=retry.probes - set(dropped))
        replaced = tuple(CancelProbe(p) for p in dropped)
    if len(retry.probes) >= limit:
        stuck = _stuck_probe(retry, limit, state.ctx, now)
        if stuck is None:
            return state, ()
        retry = replace(retry, probes=retry.probes - {stuck})
        replaced = (*replaced, CancelProbe(stuck))
    probe = state.ctx.next_id
    sequential = limit == 1
    if only_syn_due:
        # Only a fresh SYN was due: the same attempt again, so neither the count nor the
        # backoff moves (four SYNs a second must not run the backoff up to its cap).
        attempt, next_try_at = retry.attempt, retry.next_try_at
    else:
        attempt = retry.attempt + 1
        # Sequential probes plan the next try when this one fails; parallel ones at a
        # fixed pace.
        steps = retry.backoff_base + attempt
        next_try_at = None if sequential else now + _retry_delay(state, steps, now)
    started = tuple(entry for entry in retry.started if entry[0] in retry.probes)
    new_retry = replace(
        retry,
        probes=retry.probes | {probe},
        attempt=attempt,
        next_try_at=next_try_at,
        started=(*started, (probe, now)),
        reached=retry.reached & retry.probes,
    )
    new_state = _with(state, _with_retry(state.phase, new_retry), next_id=probe + 1)
    return new_state, (*replaced, StartProbe(probe, state.ctx.size))


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
    return in_flight[0] + max(STUCK_PROBE_AGE, STUCK_PROBE_RTTS * (ctx.rtt or 0.0))


def _stop_probing(phase: Phase) -> tuple[Effect, ...]:
    """Cancel every probe in flight and close the old link, if any."""
    retry = _retry_of(phase)
    effects: list[Effect] = [CancelProbe(p) for p in sorted(retry.probes)] if retry else []
    if isinstance(phase, Attached | Stalled):
        effects.append(CloseLink(phase.link))
    return tuple(effects)


def _first_try_at(state: State, now: float) -> tuple[int, float]:
    """(backoff base, time) for the first probe of a new outage.

    After a stable period the backoff starts afresh and the first probe goes out at once.
    A link that dropped soon after attaching carries its backoff over, so a server that
    accepts and then drops us is not hammered: the first probe still goes out at once when
    the link took a single attempt, later ones wait their backoff.
    """
    ctx = state.ctx
    stable = ctx.attached_since is not None and now - ctx.attached_since >= (
        state.policy.stable_after
    )
    base = 0 if stable else ctx.backoff_carry
    if base <= 1:
        return base, now
    return base, now + _retry_delay(state, base, now)


def _begin_outage(
    state: State, now: float, old_link: int | None, cause: Cause, detail: str
) -> Outcome:
    """Enter Stalled (old link kept) or Reconnecting (old link gone) and probe."""
    reason = detail or str(cause)
    state, pings = _keep_pinging(
        _with(state, echo_wait_since=None, echo_wait_reason=""), old_link, now
    )
    if not state.policy.reconnect:
        if old_link is not None:
            notice = f"connection stalled: {reason}; automatic reconnect is off"
            retry = Retry(since=now, cause=cause, detail=detail)
            return _with(state, Stalled(old_link, retry)), (Notify(notice), *pings)
        notice = f"connection lost: {reason}; automatic reconnect is off"
        return _with(state, Failed(cause, detail)), (Notify(notice),)
    base, first_at = _first_try_at(state, now)
    retry = Retry(since=now, backoff_base=base, next_try_at=first_at, cause=cause, detail=detail)
    phase: Phase = Stalled(old_link, retry) if old_link is not None else Reconnecting(retry)
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
    detail = f"no reply for {_seconds(now - ctx.last_contact)}"
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


def _to_needs_user(state: State, phase: Phase, cause: Cause, detail: str) -> Outcome:
    """Stop retrying: the cause is one that only the user can fix."""
    effects = _stop_probing(phase)
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
    fresh = _with(state, backoff_carry=0, attached_since=None)
    return _begin_outage(fresh, now, phase.link, Cause.LOCAL, "reconnect requested")


# Probing phases (Connecting, Stalled, Reconnecting) share most of their handlers.


def _probing_won(
    state: State, phase: Connecting | Stalled | Reconnecting, event: ProbeSucceeded, now: float
) -> Outcome:
    retry = phase.retry
    if event.probe not in retry.probes:
        return state, (CloseLink(event.probe),)
    losers: list[Effect] = [CancelProbe(p) for p in sorted(retry.probes - {event.probe})]
    if isinstance(phase, Stalled):
        losers.append(CloseLink(phase.link))
    new_state, effects = _attach(state, event.probe, event.reattached_existing, now)
    new_state = _with(new_state, attached_since=now, backoff_carry=_steps(retry), tmux=event.tmux)
    notice = _attach_notice(phase, event, now - retry.since)
    return new_state, (*losers, Promote(event.probe), *effects, Notify(notice))


def _attach_notice(phase: Phase, event: ProbeSucceeded, took: float) -> str:
    verb = "connected" if isinstance(phase, Connecting) else "reconnected"
    if not event.tmux:
        return (
            f"{verb} after {_seconds(took)}: no tmux on the server, so this session will not "
            "survive a reconnect"
        )
    if event.reattached_existing:
        what = "attached" if isinstance(phase, Connecting) else "reattached"
        return f"{what} after {_seconds(took)}"
    if isinstance(phase, Connecting):
        return f"connected after {_seconds(took)}: new tmux session"
    return f"reconnected after {_seconds(took)}: the old tmux session is gone, this is a new one"


def _probing_failed(
    state: State, phase: Connecting | Stalled | Reconnecting, event: ProbeFailed, now: float
) -> Outcome:
    retry = phase.retry
    if event.probe not in retry.probes:
        return state, ()
    remaining = retry.probes - {event.probe}
    if not event.cause.retryable:
        others = _with_retry(phase, replace(retry, probes=remaining))
        return _to_needs_user(state, others, event.cause, event.detail)
    reason = event.detail or str(event.cause)
    next_try_at = retry.next_try_at
    notices: tuple[Effect, ...] = ()
    if next_try_at is None:
        if not state.policy.reconnect:
            notice = f"could not connect: {reason}; automatic reconnect is off"
            return _with(state, Failed(event.cause, event.detail)), (Notify(notice),)
        # Sequential probing (first connect) plans the next try when one fails, and says
        # so: until the first attach, the notice is all the user sees.
        delay = _retry_delay(state, _steps(retry), now)
        next_try_at = now + delay
        notices = (Notify(f"could not connect: {reason}; trying again in {_seconds(delay)}"),)
    new_retry = replace(
        retry, probes=remaining, next_try_at=next_try_at, cause=event.cause, detail=event.detail
    )
    new_state, effects = _start_due_probes(_with(state, _with_retry(phase, new_retry)), now)
    return new_state, (*notices, *effects)


def _probing_reached(
    state: State, phase: Connecting | Stalled | Reconnecting, event: ProbeReached, now: float
) -> Outcome:
    retry = phase.retry
    if event.probe not in retry.probes:
        return state, ()
    return _with(
        state, _with_retry(phase, replace(retry, reached=retry.reached | {event.probe}))
    ), ()


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
    if state.policy.syn_retry_gap > 0 and syn_unanswered and state.ctx.rtt is not None:
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
    retry = replace(phase.retry, next_try_at=now, attempt=len(phase.retry.probes), backoff_base=0)
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
    recovered = _with(state, backoff_carry=_steps(phase.retry))
    # The old link is the same session, so held keys are always delivered.
    new_state, effects = _attach(recovered, phase.link, reattached_existing=True, now=now)
    notice = Notify(f"connection recovered after {_seconds(now - phase.retry.since)}")
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


def _not_attached_resize(state: State, phase: Phase, event: Resized, now: float) -> Outcome:
    return _with(state, size=(event.cols, event.rows), resize_pending=True), ()


def _idle_resize(state: State, phase: Idle, event: Resized, now: float) -> Outcome:
    # No probe has started yet, so the first one simply uses the new size.
    return _with(state, size=(event.cols, event.rows)), ()


def _hold_key(state: State, phase: NeedsUser, event: KeyTyped, now: float) -> Outcome:
    held = _hold(state.ctx, event.data, state.policy.hold_limit)
    return _with(state, last_key_at=now, **held), ()


def _user_restart(
    state: State, phase: Phase, event: ReconnectNow | UserResolved, now: float
) -> Outcome:
    return _restart(state, now)


def _failed_reconnect(state: State, phase: Failed, event: ReconnectNow, now: float) -> Outcome:
    if phase.cause is Cause.HOST_KEY_CHANGED:
        notice = "host key changed: not reconnecting until the key is resolved"
        return state, (Notify(notice),)
    return _restart(state, now)


def _stray_probe_won(state: State, phase: Phase, event: ProbeSucceeded, now: float) -> Outcome:
    # Whatever the phase, an attached probe nobody wants must not stay open.
    return state, (CloseLink(event.probe),)


def _close(state: State, phase: Phase, event: CloseRequested, now: float) -> Outcome:
    return _with(state, Closed()), _stop_probing(phase)


def _ignore(state: State, phase: Phase, event: Event, now: float) -> Outcome:
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
    (NeedsUser, KeyTyped): _hold_key,
    **{(p, ReconnectNow): _user_restart for p in _RESTARTABLE},
    (NeedsUser, UserResolved): _user_restart,
    (Failed, UserResolved): _user_restart,
    (Failed, ReconnectNow): _failed_reconnect,
    (Any, Resized): _not_attached_resize,
    (Any, ProbeSucceeded): _stray_probe_won,
    (Any, CloseRequested): _close,
    (Closed, Resized): _ignore,
    (Closed, CloseRequested): _ignore,
}


# --------------------------------------------------------------------------------------------
# Status: what a status line shows.


@dataclass(frozen=True, slots=True)
class Status:
    """A snapshot for status lines: plain data, derived from the state at one moment."""

    state: str
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
        parts = [self.state]
        if self.state == "attached" and self.rtt is not None:
            parts.append(f"rtt {self.rtt * 1000:.0f} ms")
        if self.detail or self.cause:
            parts.append(self.detail or str(self.cause))
        if self.attempt:
            parts.append(f"attempt {self.attempt}")
        if self.retry_in is not None:
            parts.append(f"next try in {_seconds(self.retry_in)}")
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
