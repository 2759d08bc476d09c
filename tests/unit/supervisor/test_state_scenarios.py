"""step() over time: whole scenarios on a simulated clock, and invariants that must hold
after any sequence of events (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from termkeep.config.profile import KeepaliveSettings, Profile, ReconnectSettings
from termkeep.supervisor.backoff import Backoff
from termkeep.supervisor.events import (
    CloseLink,
    ConnectRequested,
    DataReceived,
    DeliverHeldKeys,
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
    ReconnectNow,
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
from termkeep.supervisor.state import (
    SYN_RETRY_GAP,
    Attached,
    Connecting,
    Failed,
    NeedsUser,
    Policy,
    Reconnecting,
    Stalled,
    State,
    Status,
    initial_state,
    status_of,
    step,
)
from termkeep.transport.link import Cause, Ending, Stage

T0 = 1000.0
POLICY = Policy(
    keepalive_interval=5.0,
    stable_after=30.0,
    backoff=Backoff(initial_delay=0.25, multiplier=2.0, max_delay=30.0, jitter=0.2, seed=11),
)


@dataclass
class Sim:
    """Runs the machine on a simulated clock, firing the timer it asks for."""

    state: State
    now: float = T0
    timer: float | None = None
    log: list[tuple[float, Effect]] = field(default_factory=list)

    def send(self, event: Event) -> tuple[Effect, ...]:
        self.state, effects = step(self.state, event, self.now)
        for effect in effects:
            self.log.append((self.now, effect))
            if isinstance(effect, ScheduleTimer):
                self.timer = effect.at
        return effects

    def run_until(self, end: float, answer_pings_after: float | None = None) -> None:
        """Advance to ``end``, delivering each Tick when its timer is due (bounded). With
        ``answer_pings_after``, the link answers every ping after that many seconds."""
        for _ in range(100_000):
            if self.timer is None or self.timer > end:
                break
            self.now = max(self.now, self.timer)
            self.timer = None
            effects = self.send(Tick())
            pings = [e for e in effects if isinstance(e, SendPing)]
            if pings and answer_pings_after is not None:
                self.now += answer_pings_after
                self.send(PingReplied(pings[0].link, answer_pings_after))
        else:
            raise AssertionError("the timer kept firing without time passing")
        self.now = end

    def effects(self, kind: type) -> list[tuple[float, Effect]]:
        return [(at, e) for at, e in self.log if isinstance(e, kind)]

    @property
    def status(self) -> Status:
        return status_of(self.state, self.now)


def attached_sim(attached_at: float = T0) -> Sim:
    sim = Sim(initial_state(POLICY), now=attached_at)
    sim.send(ConnectRequested())
    sim.send(ProbeSucceeded(1, reattached_existing=True, tmux=True))
    assert isinstance(sim.state.phase, Attached)
    sim.log.clear()
    return sim


def test_a_healthy_idle_link_answers_pings_and_is_never_stalled() -> None:
    sim = attached_sim()
    sim.run_until(T0 + 600, answer_pings_after=0.08)
    assert isinstance(sim.state.phase, Attached)
    pings = sim.effects(SendPing)
    assert len(pings) >= 200  # one every 2.5 s of silence
    assert sim.status.rtt == 0.08


def test_silence_is_reported_as_a_stall_at_the_keepalive_interval() -> None:
    sim = attached_sim()
    sim.run_until(T0 + 4.99)
    assert isinstance(sim.state.phase, Attached)
    sim.run_until(T0 + 5.0)
    assert isinstance(sim.state.phase, Stalled)
    notices = [e.text for _, e in sim.effects(Notify)]
    assert notices == ["connection lost: no reply for 5.0 s; reconnecting"]
    assert [at for at, _ in sim.effects(StartProbe)] == [T0 + 5.0]


def test_typed_keys_without_any_reply_stall_after_one_second() -> None:
    sim = attached_sim()
    sim.run_until(T0 + 1.0)
    sim.send(KeyTyped(b"l"))
    sim.run_until(T0 + 1.99)
    assert isinstance(sim.state.phase, Attached)
    sim.run_until(T0 + 2.0)
    assert isinstance(sim.state.phase, Stalled)
    assert sim.status.detail == "no reply for 2.0 s (nothing came back after typed keys)"


def test_a_da_reply_starts_no_echo_deadline_and_no_ping() -> None:
    sim = attached_sim()
    sim.run_until(T0 + 1.0)
    effects = sim.send(TerminalReply(1, b"\x1b[?62;22c"))
    assert [e for e in effects if not isinstance(e, ScheduleTimer)] == [
        SendReply(1, b"\x1b[?62;22c")
    ]
    # A keystroke unanswered for a second is a stall; a reply is not waited on at all,
    # so nothing happens until the idle link's own ping, half a keepalive interval on.
    sim.run_until(T0 + 2.4)
    assert isinstance(sim.state.phase, Attached)
    assert sim.effects(SendPing) == []
    assert sim.state.ctx.echo_wait_since is None
    assert sim.state.ctx.last_key_at is None


def test_a_reply_pending_at_a_drop_is_not_delivered_after_the_reattach() -> None:
    sim = attached_sim()
    sim.send(LinkEnded(1, Ending.LOST, Cause.RESET, "reset by peer"))
    # The cursor report to a query of link 1 comes after link 1 is gone; keys are typed.
    sim.send(TerminalReply(1, b"\x1b[24;80R"))
    sim.send(KeyTyped(b"ls"))
    assert isinstance(sim.state.phase, Reconnecting)
    assert sim.state.ctx.held == b"ls"  # typed keys are held, the reply is not
    sim.run_until(sim.now + 5.0)
    (_, probe), *_ = sim.effects(StartProbe)
    assert isinstance(probe, StartProbe)
    sim.send(ProbeSucceeded(probe.probe, reattached_existing=True, tmux=True))
    assert isinstance(sim.state.phase, Attached)
    sent = [e for _, e in sim.log if isinstance(e, SendKeys | DeliverHeldKeys | SendReply)]
    assert sent == [DeliverHeldKeys(b"ls")]
    # Late again, now over the new link: still dropped; the new link's own replies go.
    assert sim.send(TerminalReply(1, b"\x1b[24;80R")) == ()
    assert SendReply(probe.probe, b"\x1b[1;1R") in sim.send(
        TerminalReply(probe.probe, b"\x1b[1;1R")
    )


def test_a_password_prompt_that_echoes_nothing_is_not_a_stall() -> None:
    sim = attached_sim()
    sim.run_until(T0 + 1.0)
    effects = sim.send(KeyTyped(b"secret"))
    assert SendPing(1) in effects
    sim.now += 0.05
    sim.send(PingReplied(1, 0.05))  # no echo, but the link answers
    sim.run_until(T0 + 4.0)
    assert isinstance(sim.state.phase, Attached)


def _lose_and_first_probe(sim: Sim) -> tuple[float, int]:
    """Lose the link; return (delay until the first probe, its attempt number)."""
    lost_at = sim.now
    assert isinstance(sim.state.phase, Attached)
    sim.send(LinkEnded(sim.state.phase.link, Ending.LOST, Cause.RESET))
    attempt_after_loss = sim.status.attempt
    sim.run_until(sim.now + 60)
    first_at, _ = sim.effects(StartProbe)[0]
    return first_at - lost_at, attempt_after_loss


def test_backoff_starts_afresh_after_a_stable_period_and_not_before() -> None:
    stable = attached_sim()
    stable.run_until(T0 + 31, answer_pings_after=0.05)
    stable.log.clear()
    delay, attempt = _lose_and_first_probe(stable)
    assert (delay, attempt) == (0.0, 1)

    # A server that accepts and drops us again and again is probed ever more slowly.
    flapping = attached_sim()
    waits = []
    for _ in range(5):
        flapping.log.clear()
        lost_at = flapping.now
        assert isinstance(flapping.state.phase, Attached)
        flapping.send(LinkEnded(flapping.state.phase.link, Ending.LOST, Cause.SERVER_CLOSED))
        if not flapping.effects(StartProbe):
            assert flapping.timer is not None
            flapping.run_until(flapping.timer)  # the only timer while reconnecting: the probe
        first_at, probe = flapping.effects(StartProbe)[0]
        assert isinstance(probe, StartProbe)
        waits.append(first_at - lost_at)
        flapping.now = first_at + 0.1
        flapping.send(ProbeSucceeded(probe.probe, reattached_existing=True, tmux=True))
        flapping.now += 1.0
    assert waits[0] == 0.0
    assert waits[1:] == sorted(waits[1:])
    assert waits[-1] > 1.0


def test_a_server_that_keeps_refusing_probes_is_backed_off_to_the_cap() -> None:
    sim = attached_sim()
    sim.run_until(T0 + 31, answer_pings_after=0.05)
    sim.send(LinkEnded(1, Ending.LOST, Cause.TIMEOUT))
    for _ in range(40):
        for _, effect in sim.effects(StartProbe):
            assert isinstance(effect, StartProbe)
            # The server said its version line, then closed: a refusal, not the network.
            sim.send(ProbeFailed(effect.probe, Cause.SERVER_CLOSED, stage=Stage.ACCEPTED))
        sim.log.clear()
        sim.run_until(sim.timer if sim.timer is not None else sim.now)
    assert isinstance(sim.state.phase, Reconnecting)
    assert sim.status.retry_in is not None
    assert 24.0 <= sim.status.retry_in <= 30.0


def test_probes_that_find_the_network_down_never_back_off() -> None:
    sim = attached_sim()
    sim.send(LinkEnded(1, Ending.LOST, Cause.SERVER_CLOSED))
    for _ in range(400):
        for _, effect in sim.effects(StartProbe):
            assert isinstance(effect, StartProbe)
            sim.send(ProbeFailed(effect.probe, Cause.REFUSED, stage=Stage.CONNECT))
        sim.log.clear()
        sim.run_until(sim.timer if sim.timer is not None else sim.now)
    assert sim.now - T0 > 60
    assert sim.status.retry_in is not None
    assert sim.status.retry_in <= 0.5


def test_a_profile_becomes_a_policy() -> None:
    profile = Profile(
        name="box",
        host="box.example",
        keepalive=KeepaliveSettings(interval=7.0),
        reconnect=ReconnectSettings(enabled=False, initial_delay=0.5, stable_after=60.0),
    )
    policy = Policy.from_profile(profile, seed=99)
    assert policy.keepalive_interval == 7.0
    assert policy.stable_after == 60.0
    assert policy.reconnect is False
    assert policy.backoff == Backoff(
        initial_delay=0.5, multiplier=2.0, max_delay=30.0, jitter=0.2, seed=99
    )


def test_with_reconnect_off_a_lost_link_fails_and_waits_for_the_user() -> None:
    sim = attached_sim()
    sim.state = State(sim.state.phase, sim.state.ctx, Policy(reconnect=False))
    sim.send(LinkEnded(1, Ending.LOST, Cause.RESET, "reset by peer"))
    sim.run_until(T0 + 300)
    assert isinstance(sim.state.phase, Failed)
    assert sim.effects(StartProbe) == []
    sim.send(ReconnectNow())
    assert isinstance(sim.state.phase, Connecting)


def test_status_lines_read_plainly() -> None:
    assert Status(Phase.ATTACHED, rtt=0.042).describe() == "attached · rtt 42 ms"
    line = Status(
        Phase.RECONNECTING,
        cause=Cause.TIMEOUT,
        detail="no reply for 6.0 s",
        retry_in=2.0,
        attempt=3,
        held=12,
        held_dropped=2,
    ).describe()
    assert line == (
        "reconnecting · no reply for 6.0 s · attempt 3 · next try in 2.0 s · "
        "12 bytes held, 2 dropped"
    )
    assert Status(Phase.NEEDS_USER, cause=Cause.AUTH_FAILED).describe() == (
        "needs-user · authentication failed"
    )


# --------------------------------------------------------------------------------------------
# Invariants over arbitrary event sequences.

ids = st.integers(min_value=1, max_value=3)
causes = st.sampled_from(list(Cause))
events = st.one_of(
    st.just(ConnectRequested()),
    st.builds(ProbeSucceeded, ids, st.booleans(), st.booleans()),
    st.builds(ProbeFailed, ids, causes, st.just(""), st.sampled_from(list(Stage))),
    st.builds(ProbeReached, ids),
    st.builds(DataReceived, ids),
    st.builds(KeyTyped, st.binary(min_size=1, max_size=3000)),
    st.builds(Resized, st.integers(1, 300), st.integers(1, 100)),
    st.builds(PingReplied, ids, st.floats(0.001, 2.0)),
    st.just(Tick()),
    st.builds(LinkEnded, ids, st.sampled_from(list(Ending)), st.none() | causes),
    st.builds(LinkReset, ids, st.binary(max_size=40)),
    st.just(NetworkChanged()),
    st.just(ReconnectNow()),
    st.just(UserResolved()),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(events, st.floats(0.0, 20.0)), max_size=60))
def test_invariants_hold_for_any_sequence_of_events(
    script: list[tuple[Event, float]],
) -> None:
    check_invariants(POLICY, script)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(events, st.floats(0.0, 2.0)), max_size=60))
def test_invariants_hold_with_fresh_syns_too(script: list[tuple[Event, float]]) -> None:
    check_invariants(replace(POLICY, syn_retry_gap=SYN_RETRY_GAP), script)


def check_invariants(policy: Policy, script: list[tuple[Event, float]]) -> None:
    state = initial_state(policy)
    now = T0
    started: set[int] = set()
    for event, wait in script:
        now += wait
        before = state
        state, effects = step(before, event, now)
        assert step(before, event, now) == (state, effects)  # pure: same input, same output
        phase, ctx = state.phase, state.ctx
        assert len(ctx.held) <= policy.hold_limit
        if isinstance(phase, Connecting):
            assert len(phase.retry.probes) <= 1  # one attempt at a time on the first connect
        if isinstance(phase, Stalled | Reconnecting):
            assert len(phase.retry.probes) <= policy.max_parallel_probes
        new_probes = [e.probe for e in effects if isinstance(e, StartProbe)]
        assert not started & set(new_probes)  # probe ids are never reused
        started |= set(new_probes)
        stopped_by_user_cause = (
            isinstance(before.phase, NeedsUser | Failed)
            and not isinstance(event, UserResolved | ReconnectNow)
        ) or (
            isinstance(before.phase, Failed)
            and before.phase.cause is Cause.HOST_KEY_CHANGED
            and not isinstance(event, UserResolved)
        )
        if stopped_by_user_cause:
            assert not new_probes  # never hammer: only the user restarts these
        if any(isinstance(e, SendKeys) for e in effects):
            assert isinstance(phase, Attached)
        if any(isinstance(e, SendKeys | DeliverHeldKeys) for e in effects):
            # Keys a link being reset may give back were typed first: nothing overtakes them.
            assert not ctx.resetting
        if isinstance(before.phase, Stalled) and not isinstance(phase, Stalled | Attached):
            # A stalled link left behind alive is reset, never closed gracefully.
            assert CloseLink(before.phase.link) not in effects
        if isinstance(event, Tick):
            # A Tick always re-arms, and never for a time already past: no busy loop.
            timers = [e.at for e in effects if isinstance(e, ScheduleTimer)]
            assert len(timers) == 1
            assert timers[0] is None or timers[0] > now
