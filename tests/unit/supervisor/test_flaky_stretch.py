"""A whole flaky stretch on one state machine (issue 18): the pure ``step()`` driven on a fake
clock through a simulated network and server, so that faults can follow each other on the
same session as they do for a user who keeps termkeep running all day.

The world is deliberately simple and written down here: a remote that prints every 50 ms,
nobody typing; a blackhole loses every packet (a lost SYN is resent by the kernel once a
second, as with termkeep's capped RTO); a reset refuses every connect and resets the
attached link at its next packet; an abort ends the attached link at once; a connect that
gets through attaches 50 ms later. Recovery times below are fake-clock seconds, exact and
reproducible: they check the logic, not the machine.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from termkeep.supervisor.backoff import Backoff
from termkeep.supervisor.events import (
    CancelProbe,
    CloseLink,
    ConnectRequested,
    DataReceived,
    Event,
    LinkEnded,
    LinkReset,
    Notify,
    PingReplied,
    ProbeFailed,
    ProbeReached,
    ProbeSucceeded,
    Promote,
    ResetLink,
    ScheduleTimer,
    SendPing,
    StartProbe,
    Tick,
)
from termkeep.supervisor.state import (
    SLOW_SYN_GAP,
    SYN_RETRY_GAP,
    Attached,
    NeedsUser,
    Policy,
    State,
    initial_state,
    status_of,
    step,
)
from termkeep.transport.link import Cause, Ending, Stage

MAX_DELAY = 8.0
POLICY = Policy(
    keepalive_interval=5.0,
    stable_after=30.0,
    backoff=Backoff(initial_delay=0.25, multiplier=2.0, max_delay=MAX_DELAY, jitter=0.2, seed=7),
)
CONNECT_TIMEOUT = 5.0
ATTACH_TIME = 0.05
"""A fresh connection's SYN to attached, on loopback (measured ~42-90 ms)."""
OUTPUT_EVERY = 0.05
FLOOR = ATTACH_TIME + SYN_RETRY_GAP
"""The worst a recovery may take here: the next probe's pace plus one attach."""


@dataclass
class World:
    """The network, the server and the clock around one state machine."""

    state: State = field(default_factory=lambda: initial_state(POLICY))
    now: float = 0.0
    blackholes: list[tuple[float, float]] = field(default_factory=list)
    resets: list[tuple[float, float]] = field(default_factory=list)
    drops_after: float | None = None
    """The server ends every link this long after it attached (a flapping server)."""
    refuses_after_greeting: bool = False
    """The server answers with its version line, then closes every new connection."""
    starts: list[float] = field(default_factory=list)
    attached_at: list[float] = field(default_factory=list)
    """Each time the tab became attached (from any other phase)."""
    _queue: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _timer_generation: int = 0
    _dead: set[int] = field(default_factory=set)
    """Probes cancelled and links closed by the client or ended by the server."""

    # -- the network

    def blocked(self, at: float) -> bool:
        return any(start <= at < end for start, end in self.blackholes)

    def resetting(self, at: float) -> bool:
        return any(start <= at < end for start, end in self.resets)

    def through_at(self, sent: float, limit: float) -> float | None:
        """When a packet first sent at ``sent`` and resent every second gets through."""
        at = sent
        while at <= limit:
            if not self.blocked(at):
                return at
            at += 1.0
        return None

    # -- driving the machine

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._seq), action))

    def send(self, event: Event) -> None:
        before = self.state.phase
        self.state, effects = step(self.state, event, self.now)
        if isinstance(self.state.phase, Attached) and not isinstance(before, Attached):
            self.attached_at.append(self.now)
        for effect in effects:
            self._carry_out(effect)

    def _carry_out(self, effect: object) -> None:
        match effect:
            case StartProbe(probe=probe):
                self.starts.append(self.now)
                self._connect(probe)
            case CancelProbe(probe=probe) | CloseLink(link=probe):
                self._dead.add(probe)
            case ResetLink(link=link):
                # Nothing was typed into it: the reset gives nothing back, at once.
                self._dead.add(link)
                self.at(self.now, lambda: self.send(LinkReset(link)))
            case Promote(probe=probe):
                self._serve(probe, attached=self.now)
            case SendPing(link=link):
                self._answer_ping(link)
            case ScheduleTimer(at=at):
                self._timer_generation += 1
                if at is not None:
                    generation = self._timer_generation
                    self.at(at, lambda: self._tick(generation))
            case _:
                pass

    def _tick(self, generation: int) -> None:
        if generation == self._timer_generation:
            self.send(Tick())

    def _alive(self, probe: int) -> Callable[[Event], None]:
        def deliver(event: Event) -> None:
            if probe not in self._dead:
                self.send(event)

        return deliver

    def _connect(self, probe: int) -> None:
        deliver = self._alive(probe)
        if self.resetting(self.now):
            self.at(
                self.now + 0.001,
                lambda: deliver(ProbeFailed(probe, Cause.REFUSED, "", Stage.CONNECT)),
            )
            return
        syn_ack = self.through_at(self.now, self.now + CONNECT_TIMEOUT - 0.001)
        if syn_ack is None:
            timeout = ProbeFailed(probe, Cause.TIMEOUT, "no answer", Stage.CONNECT)
            self.at(self.now + CONNECT_TIMEOUT, lambda: deliver(timeout))
            return
        self.at(syn_ack, lambda: deliver(ProbeReached(probe)))
        if self.refuses_after_greeting:
            refused = ProbeFailed(probe, Cause.SERVER_CLOSED, "closed", Stage.ACCEPTED)
            self.at(syn_ack + 0.01, lambda: deliver(refused))
            return
        won = ProbeSucceeded(probe, reattached_existing=True, tmux=True)
        self.at(syn_ack + ATTACH_TIME, lambda: deliver(won))

    def _serve(self, link: int, attached: float) -> None:
        """The remote prints every 50 ms while the link lives (nobody types)."""

        def output() -> None:
            if link in self._dead:
                return
            phase = self.state.phase
            if not isinstance(phase, Attached) or phase.link != link:
                self.at(self.now + OUTPUT_EVERY, output)  # stalled: tried again
                return
            if self.drops_after is not None and self.now >= attached + self.drops_after:
                self._dead.add(link)
                self.send(LinkEnded(link, Ending.LOST, Cause.SERVER_CLOSED))
                return
            if self.resetting(self.now):
                self._dead.add(link)
                self.send(LinkEnded(link, Ending.LOST, Cause.RESET, "connection reset"))
                return
            if not self.blocked(self.now):
                self.send(DataReceived(link))
            self.at(self.now + OUTPUT_EVERY, output)

        self.at(self.now + OUTPUT_EVERY, output)

    def _answer_ping(self, link: int) -> None:
        back = self.through_at(self.now, self.now + 120)
        if back is not None:
            rtt = back - self.now + 0.001
            self.at(back + 0.001, lambda: self._alive(link)(PingReplied(link, rtt)))

    def abort(self, when: float) -> None:
        """The server kills the attached link's sshd at ``when``."""

        def kill() -> None:
            phase = self.state.phase
            assert isinstance(phase, Attached), f"abort at {when}: not attached ({phase})"
            self._dead.add(phase.link)
            self.send(LinkEnded(phase.link, Ending.LOST, Cause.SERVER_CLOSED))

        self.at(when, kill)

    def run_until(self, end: float) -> None:
        for _ in range(1_000_000):
            if not self._queue or self._queue[0][0] > end:
                break
            when, _, action = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            action()
        else:
            raise AssertionError("the simulation never settled")
        self.now = end

    # -- what a user would measure

    def first_start_after(self, when: float) -> float:
        return min(at for at in self.starts if at >= when)

    def recovered_after(self, when: float) -> float:
        """Seconds from ``when`` to the next time the tab was attached again."""
        return min(at for at in self.attached_at if at >= when) - when


def connected_world() -> World:
    world = World()
    world.send(ConnectRequested())
    world.run_until(1.0)
    assert isinstance(world.state.phase, Attached)
    return world


def starts_per_second(starts: list[float]) -> int:
    """The most probes started in any one-second window."""
    return max((sum(1 for at in starts if s <= at < s + 1.0) for s in starts), default=0)


def test_a_burst_of_mixed_faults_recovers_at_the_floor_every_time() -> None:
    world = connected_world()
    world.run_until(100.0)  # a long-lived, stable link
    faults: list[tuple[str, float, float]] = []  # (kind, start, end)
    t = 100.0
    world.blackholes.append((t, t + 10.0))
    faults.append(("blackhole 10 s", t, t + 10.0))
    world.abort(t + 15.0)
    faults.append(("abort", t + 15.0, t + 15.0))
    world.blackholes.append((t + 20.0, t + 45.0))
    faults.append(("blackhole 25 s", t + 20.0, t + 45.0))
    world.abort(t + 50.0)
    faults.append(("abort", t + 50.0, t + 50.0))
    world.resets.append((t + 55.0, t + 58.0))
    faults.append(("reset 3 s", t + 55.0, t + 58.0))
    world.abort(t + 63.0)
    faults.append(("abort", t + 63.0, t + 63.0))
    world.run_until(t + 70.0)

    for kind, start, end in faults:
        if kind == "abort":
            # Every abort's first probe goes out at once: nothing of the blackholes or the
            # reset before it was carried over.
            assert world.first_start_after(start) == start, kind
        assert world.recovered_after(end) <= FLOOR + 1e-9, (kind, world.recovered_after(end))
    assert isinstance(world.state.phase, Attached)
    assert world.state.ctx.backoff_carry <= 1
    assert starts_per_second(world.starts) <= 1 / SYN_RETRY_GAP


def test_a_server_that_accepts_and_drops_at_once_is_still_backed_off() -> None:
    world = connected_world()
    world.run_until(60.0)
    world.drops_after = 0.1
    world.abort(60.0)
    world.run_until(300.0)
    connects = [at for at in world.starts if at >= 60.0]
    waits = [later - earlier for earlier, later in itertools.pairwise(connects)]
    # Each drop comes 0.15 s after the probe started; the wait before the next one grows
    # step by step to max_delay, as the backoff settings say.
    assert waits[0] < 0.5
    assert max(waits) <= MAX_DELAY + 0.2
    assert max(waits) >= MAX_DELAY * (1 - POLICY.backoff.jitter)
    assert len(connects) < 50  # not four a second for four minutes
    assert world.state.ctx.backoff_carry >= 5


def test_a_server_that_refuses_after_its_version_line_is_backed_off() -> None:
    world = connected_world()
    world.run_until(60.0)
    world.refuses_after_greeting = True
    world.abort(60.0)
    world.run_until(300.0)
    assert len(world.starts) < 50
    late = [at for at in world.starts if at > 200]
    assert all(
        b - a >= MAX_DELAY * (1 - POLICY.backoff.jitter) for a, b in itertools.pairwise(late)
    )


def test_a_long_outage_keeps_the_syn_pace_and_the_abort_after_it_probes_at_once() -> None:
    world = connected_world()
    world.run_until(100.0)
    world.blackholes.append((100.0, 160.0))
    world.run_until(160.0)
    during = [at for at in world.starts if 105.0 <= at < 160.0]
    gaps = [later - earlier for earlier, later in itertools.pairwise(during)]
    assert max(gaps) <= SLOW_SYN_GAP + 1e-9  # a fresh SYN at least every 500 ms
    assert starts_per_second(during) <= 1 / SYN_RETRY_GAP  # never more than four a second
    world.run_until(165.0)
    assert world.recovered_after(160.0) <= SLOW_SYN_GAP + ATTACH_TIME + 1e-9
    world.abort(166.0)
    world.run_until(170.0)
    assert world.first_start_after(166.0) == 166.0
    assert world.recovered_after(166.0) == pytest.approx(ATTACH_TIME)


def test_the_old_link_recovering_carries_nothing_either() -> None:
    world = connected_world()
    world.run_until(3.0)  # young link
    world.blackholes.append((3.0, 9.6))  # the old link answers again first
    world.run_until(12.0)
    world.abort(12.0)
    world.run_until(15.0)
    assert world.first_start_after(12.0) == 12.0
    assert world.recovered_after(12.0) == pytest.approx(ATTACH_TIME)


# --------------------------------------------------------------------------------------------
# A name that does not resolve: final at the first connect (like ssh), retried on reconnect.


def test_a_name_that_does_not_exist_ends_the_first_connect() -> None:
    state, effects = step(initial_state(POLICY), ConnectRequested(), 0.0)
    probe = next(e.probe for e in effects if isinstance(e, StartProbe))
    detail = "could not resolve hostname typo: Name or service not known"
    state, effects = step(state, ProbeFailed(probe, Cause.DNS, detail, Stage.CONNECT), 0.1)
    assert state.phase == NeedsUser(Cause.DNS, detail)
    assert any(
        isinstance(e, Notify) and "could not resolve hostname typo" in e.text for e in effects
    )
    assert status_of(state, 5.0).retry_in is None  # no retry loop


def test_no_resolver_answering_is_retried_at_the_first_connect() -> None:
    state, effects = step(initial_state(POLICY), ConnectRequested(), 0.0)
    probe = next(e.probe for e in effects if isinstance(e, StartProbe))
    failed = ProbeFailed(probe, Cause.DNS_UNAVAILABLE, "Temporary failure", Stage.CONNECT)
    state, _ = step(state, failed, 0.1)
    assert state.phase.name == "connecting"
    assert status_of(state, 0.1).retry_in is not None


def test_a_name_that_stops_resolving_during_a_reconnect_is_retried() -> None:
    world = connected_world()
    world.run_until(40.0)
    world.send(LinkEnded(1, Ending.LOST, Cause.SERVER_CLOSED))
    probe = max(world.state.phase.retry.probes)  # type: ignore[union-attr]
    no_name = ProbeFailed(probe, Cause.DNS, "could not resolve hostname box", Stage.CONNECT)
    world._dead.add(probe)
    world.send(no_name)
    assert world.state.phase.name == "reconnecting"
    world.run_until(42.0)
    assert isinstance(world.state.phase, Attached)
