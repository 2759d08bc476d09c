"""Probe scheduling during an outage on the fake clock: only one probe waits on SYN
retransmission, and a fresh SYN leaves every max(250 ms, 1.25 RTT) while the newest one is
unanswered, so one leaves within about 250 ms of the network coming back."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from termkeep.config.profile import Profile
from termkeep.supervisor.backoff import Backoff
from termkeep.supervisor.events import (
    CancelProbe,
    Effect,
    Event,
    KeyTyped,
    LinkEnded,
    ProbeFailed,
    ProbeReached,
    ProbeSucceeded,
    ScheduleTimer,
    StartProbe,
    Tick,
)
from termkeep.supervisor.state import (
    FAST_SYN_WINDOW,
    SLOW_SYN_GAP,
    SYN_RETRY_GAP,
    Attached,
    Context,
    Policy,
    Reconnecting,
    Retry,
    State,
    step,
)
from termkeep.transport.link import Cause, Ending, Stage

T0 = 1000.0
POLICY = Policy(
    keepalive_interval=5.0,
    backoff=Backoff(initial_delay=0.25, multiplier=2.0, max_delay=30.0, jitter=0.0),
    syn_retry_gap=SYN_RETRY_GAP,
)


class Outage:
    """A session that lost its link at T0, on a simulated clock that fires its timer."""

    def __init__(self, policy: Policy = POLICY, rtt: float | None = None) -> None:
        attached = State(
            phase=Attached(link=1),
            ctx=Context(last_contact=T0, attached_since=T0 - 100, next_id=2, rtt=rtt),
            policy=policy,
        )
        self.state = attached
        self.now = T0
        self.timer: float | None = None
        self.started: dict[int, float] = {}
        self.cancelled: set[int] = set()
        self.send(LinkEnded(1, Ending.LOST, Cause.SERVER_CLOSED))

    def send(self, event: Event) -> tuple[Effect, ...]:
        self.state, effects = step(self.state, event, self.now)
        for effect in effects:
            match effect:
                case ScheduleTimer(at=at):
                    self.timer = at
                case StartProbe(probe=probe):
                    self.started[probe] = self.now
                case CancelProbe(probe=probe):
                    self.cancelled.add(probe)
        return effects

    def run_until(self, end: float) -> None:
        for _ in range(10_000):
            if self.timer is None or self.timer > end:
                break
            self.now = self.timer
            self.timer = None
            self.send(Tick())
        self.now = end

    @property
    def in_flight(self) -> frozenset[int]:
        assert isinstance(self.state.phase, Reconnecting)
        return self.state.phase.retry.probes

    @property
    def retry(self) -> Retry:
        assert isinstance(self.state.phase, Reconnecting)
        return self.state.phase.retry


def test_while_no_syn_is_answered_a_fresh_one_leaves_every_250_ms() -> None:
    outage = Outage()
    outage.run_until(T0 + 10)
    starts = sorted(outage.started.values())
    assert starts[0] == T0
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert max(gaps) <= SYN_RETRY_GAP + 1e-9
    # So whenever the network comes back, a SYN leaves within 250 ms.
    assert len(starts) >= 10 / SYN_RETRY_GAP


def test_only_the_oldest_unanswered_probe_is_kept_besides_the_newest() -> None:
    outage = Outage()
    first = min(outage.started)
    for step_end in (T0 + 0.3, T0 + 0.6, T0 + 3.0, T0 + 9.0):
        outage.run_until(step_end)
        newest = max(outage.started)
        # The first probe keeps waiting on TCP's own SYN retries (until it times out);
        # every later unanswered one made way for the next fresh SYN.
        assert outage.in_flight == {first, newest}
    assert outage.cancelled == set(outage.started) - {first, max(outage.started)}


def test_fresh_syns_do_not_run_the_backoff_up() -> None:
    outage = Outage()
    outage.run_until(T0 + 10)
    for probe in sorted(outage.in_flight):
        outage.send(ProbeFailed(probe, Cause.TIMEOUT, stage=Stage.CONNECT))
    # Forty SYNs lost: the network is down, nothing the server did; the pace stays.
    assert outage.retry.strikes == 0
    assert outage.retry.next_try_at is not None
    assert outage.retry.next_try_at - outage.now <= SYN_RETRY_GAP


def test_an_answered_syn_stops_the_fresh_syns() -> None:
    outage = Outage()
    outage.run_until(T0 + 5.1)
    newest = max(outage.started)
    outage.send(ProbeReached(newest))
    before = set(outage.started)
    outage.run_until(T0 + 5.1 + 1.0)
    # The probe that reached the server is left to finish its handshake: nothing new
    # starts until the backoff says so, and it is not cancelled.
    next_by_backoff = outage.retry.next_try_at
    assert next_by_backoff is not None
    new = set(outage.started) - before
    assert all(outage.started[p] >= next_by_backoff for p in new)
    assert newest in outage.in_flight
    assert newest not in outage.cancelled


def test_the_probe_that_reached_the_server_wins() -> None:
    outage = Outage()
    outage.run_until(T0 + 2.0)
    newest = max(outage.started)
    outage.send(ProbeReached(newest))
    others = outage.in_flight - {newest}
    effects = outage.send(ProbeSucceeded(newest, reattached_existing=True, tmux=True))
    assert isinstance(outage.state.phase, Attached)
    assert outage.state.phase.link == newest
    assert {e.probe for e in effects if isinstance(e, CancelProbe)} == others


def test_on_a_slow_link_a_syn_is_given_1_25_rtt_to_be_answered() -> None:
    outage = Outage(rtt=0.4)
    outage.run_until(T0 + 5)
    starts = sorted(outage.started.values())
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # 1.25 x 0.4 s: a SYN-ACK still on its way is not cut off.
    assert max(gaps) <= 0.5 + 1e-9
    assert len(starts) <= 5 / 0.5 + 2


def test_after_the_fast_window_an_idle_tab_keeps_a_fresh_syn_every_500_ms() -> None:
    outage = Outage()
    outage.run_until(T0 + FAST_SYN_WINDOW + 60)
    late = sorted(at for at in outage.started.values() if at > T0 + FAST_SYN_WINDOW + 1)
    gaps = [later - earlier for earlier, later in itertools.pairwise(late)]
    # Two SYNs a second: the network is found within half a second of coming back, the
    # kernel's own SYN retry (1 s) would take twice as long.
    assert max(gaps) <= SLOW_SYN_GAP + 1e-9
    assert len(late) <= 59 / SLOW_SYN_GAP + 1


def test_typing_keeps_the_fast_syns_going_after_the_window() -> None:
    outage = Outage()
    outage.run_until(T0 + FAST_SYN_WINDOW + 20)
    outage.send(KeyTyped(b"x"))
    typed_at = outage.now
    outage.run_until(typed_at + 5)
    recent = sorted(at for at in outage.started.values() if at >= typed_at)
    gaps = [later - earlier for earlier, later in itertools.pairwise(recent)]
    assert recent[0] == typed_at  # a keystroke probes at once
    assert max(gaps) <= SYN_RETRY_GAP + 1e-9


def test_a_failed_syn_probe_is_replaced_by_the_backoff_as_before() -> None:
    outage = Outage()
    first = min(outage.started)
    outage.run_until(T0 + 0.1)
    outage.send(ProbeFailed(first, Cause.REFUSED))
    # A refused connect is an answer: no fresh-SYN pace, just the backoff.
    assert outage.in_flight == frozenset()
    outage.run_until(T0 + 0.2)
    assert len(outage.started) == 1


def test_a_policy_without_a_probe_pace_is_refused() -> None:
    with pytest.raises(ValueError, match="syn_retry_gap"):
        replace(POLICY, syn_retry_gap=0.0)


def test_a_profile_turns_fresh_syns_on() -> None:
    policy = Policy.from_profile(Profile(name="p", host="h"), seed=1)
    assert policy.syn_retry_gap == SYN_RETRY_GAP


def test_on_a_slow_link_no_syn_is_cut_short() -> None:
    outage = Outage(rtt=0.6)
    outage.run_until(T0 + 0.8)
    # The second probe waited the first one's 1.25 RTT (0.75 s); neither is dropped.
    assert outage.in_flight == {2, 3}
    assert not outage.cancelled


def test_on_a_fast_link_a_keystroke_sends_a_fresh_syn_at_once() -> None:
    outage = Outage(rtt=0.001)
    outage.run_until(T0 + 10.1)  # the newest SYN is 0.1 s old: lost, on this link
    before = set(outage.started)
    outage.send(KeyTyped(b"x"))
    assert set(outage.started) - before
    assert max(outage.started.values()) == T0 + 10.1


def test_on_a_slow_link_a_keystroke_leaves_a_young_syn_its_round_trip() -> None:
    outage = Outage(rtt=0.2)
    outage.run_until(T0 + 10.1)
    newest_at = max(outage.started.values())
    before = set(outage.started)
    assert outage.now - newest_at < 1.25 * 0.2  # its SYN-ACK may still be on the way
    outage.send(KeyTyped(b"x"))
    assert set(outage.started) == before
