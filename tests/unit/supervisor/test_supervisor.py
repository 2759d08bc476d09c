"""The runner with scripted links and a fake clock: make-before-break, never hammering,
held keys, resize at reattach, endings, pings, network changes, updates and close."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import pytest

from termkeep.supervisor.backoff import Backoff
from termkeep.supervisor.clock import FakeClock
from termkeep.supervisor.state import SYN_RETRY_GAP, Policy, Status
from termkeep.supervisor.supervisor import CONTACT_REPORT_INTERVAL, Supervisor
from termkeep.supervisor.updates import Notice, Update
from termkeep.transport.link import Cause, Ending, Stage
from tests.fixtures.waiting import wait_until_async
from tests.unit.supervisor.scripted import TURN, WITHIN, ScriptedConnector, ScriptedLink, settle

POLICY = Policy(
    keepalive_interval=5.0,
    stable_after=30.0,
    backoff=Backoff(initial_delay=0.25, multiplier=2.0, max_delay=8.0, jitter=0.2, seed=3),
)


@dataclass
class Rig:
    """A supervisor wired to a scripted connector, a fake clock and recording sinks."""

    clock: FakeClock
    connector: ScriptedConnector
    supervisor: Supervisor
    output: bytearray = field(default_factory=bytearray)
    updates: list[Update] = field(default_factory=list)
    network: list[str] = field(default_factory=lambda: ["wifi-1"])

    @property
    def notices(self) -> list[str]:
        return [u.text for u in self.updates if isinstance(u, Notice)]

    @property
    def states(self) -> list[str]:
        return [u.state for u in self.updates if isinstance(u, Status)]

    def state(self) -> str:
        return self.supervisor.status().state

    async def wait_state(self, name: str) -> None:
        await wait_until_async(
            lambda: self.state() == name,
            timeout=WITHIN,
            what=lambda: f"state {name!r} (is {self.state()!r})",
            interval=TURN,
        )

    async def wait_attempts(self, count: int) -> None:
        await wait_until_async(
            lambda: len(self.connector.attempts) >= count,
            timeout=WITHIN,
            what=lambda: f"{count} connection attempts (have {len(self.connector.attempts)})",
            interval=TURN,
        )

    async def attach_first(self, *, tmux: bool = True) -> ScriptedLink:
        """Start and attach the first link (without tmux: a fresh shell, nothing reattached)."""
        await self.supervisor.start()
        await self.wait_attempts(1)
        link = self.connector.attempts[0].attach(tmux=tmux, reattached_existing=tmux)
        await self.wait_state("attached")
        return link

    async def stall(self) -> None:
        """Let the active link go silent for a whole keepalive interval."""
        self.clock.advance(2.5)  # the ping goes out and is never answered
        await settle()
        self.clock.advance(2.5)
        await self.wait_state("stalled")


@asynccontextmanager
async def rig_with(policy: Policy) -> AsyncIterator[Rig]:
    clock = FakeClock()
    connector = ScriptedConnector(clock)
    output = bytearray()
    network = ["wifi-1"]
    supervisor = Supervisor(
        connector,
        output.extend,
        policy,
        size=(80, 24),
        clock=clock,
        network_fingerprint=lambda: network[0],
    )
    built = Rig(clock, connector, supervisor, output=output, network=network)
    supervisor.add_listener(built.updates.append)
    try:
        yield built
    finally:
        await supervisor.close()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with rig_with(POLICY) as built:
        yield built


async def test_first_attach_carries_data_both_ways(rig: Rig) -> None:
    link = await rig.attach_first()
    assert rig.connector.attempts[0].size == (80, 24)
    link.send(b"$ ")
    rig.supervisor.write(b"ls\r")
    rig.supervisor.resize(120, 40)
    assert rig.output == b"$ "
    assert link.written == b"ls\r"
    assert link.sizes == [(80, 24), (120, 40)]
    assert rig.states == ["connecting", "attached"]
    assert rig.notices == ["attached after 0.0 s"]


async def test_data_in_a_flood_is_shown_at_once_and_counted_as_contact_once_per_interval(
    rig: Rig,
) -> None:
    link = await rig.attach_first()
    rig.clock.advance(1.0)
    link.send(b"a")  # the first data after a quiet spell counts within the loop turn
    await settle()
    assert rig.supervisor.status().last_contact_age == 0.0
    rig.clock.advance(CONTACT_REPORT_INTERVAL / 5)
    link.send(b"b")
    await settle()
    assert rig.output == b"ab"  # shown at once, whatever the bookkeeping
    # Counted only once the interval since the last report is over.
    assert rig.supervisor.status().last_contact_age == pytest.approx(CONTACT_REPORT_INTERVAL / 5)
    rig.clock.advance(CONTACT_REPORT_INTERVAL)
    await wait_until_async(
        lambda: rig.supervisor.status().last_contact_age == 0.0,
        timeout=WITHIN,
        what="the deferred contact report",
        interval=TURN,
    )


async def test_a_stall_check_counts_data_whose_contact_report_was_deferred() -> None:
    # A keepalive shorter than the report interval: the stall deadline falls while the
    # report of data that did arrive is still deferred.
    short = Policy(keepalive_interval=CONTACT_REPORT_INTERVAL * 0.8, backoff=POLICY.backoff)
    async with rig_with(short) as rig:
        link = await rig.attach_first()
        link.responsive = False  # pings go unanswered: only data proves the link alive
        rig.clock.advance(0.001)
        link.send(b"a")
        await settle()
        for _ in range(4):
            rig.clock.advance(CONTACT_REPORT_INTERVAL / 5)
            link.send(b"more")
            await settle()
            assert rig.state() == "attached"
        assert rig.output == b"a" + b"more" * 4


async def test_bytes_a_probe_receives_before_it_wins_are_shown_after_it_wins(rig: Rig) -> None:
    await rig.supervisor.start()
    await rig.wait_attempts(1)
    # tmux redraws while the connector is still finishing the attach.
    rig.connector.attempts[0].sink(b"redraw")
    assert rig.output == b""
    rig.connector.attempts[0].attach()
    await rig.wait_state("attached")
    assert rig.output == b"redraw"


async def test_a_healthy_idle_link_is_pinged_and_never_stalls(rig: Rig) -> None:
    link = await rig.attach_first()
    for number in range(1, 11):
        rig.clock.advance(2.5)
        await wait_until_async(
            lambda: link.pings == number,  # noqa: B023
            timeout=WITHIN,
            what=f"ping {number}",
            interval=TURN,
        )
        await settle()  # the reply is processed
        assert rig.state() == "attached"
    assert rig.supervisor.status().rtt == pytest.approx(0.05)


async def test_stall_is_reported_at_once_and_the_probe_wins_make_before_break(rig: Rig) -> None:
    old = await rig.attach_first()
    old.responsive = False
    await rig.stall()
    assert rig.notices[-1] == "connection lost: no reply for 5.0 s; reconnecting"
    # The probe starts at once while the old link is kept.
    await rig.wait_attempts(2)
    assert not old.closed_locally
    # While stalled, keys and resizes wait instead of going into the dead link.
    rig.supervisor.write(b"echo hi\r")
    rig.supervisor.resize(100, 30)
    assert old.written == b""
    assert rig.supervisor.status().held == 8
    new = rig.connector.attempts[1].attach(reattached_existing=True)
    await rig.wait_state("attached")
    assert old.reset_locally
    assert new.written == b"echo hi\r"
    assert new.sizes[-1] == (100, 30)
    assert rig.notices[-1] == "reattached after 0.0 s"
    # Only the winner's bytes reach the screen now.
    old.send(b"stale")
    new.send(b"fresh")
    assert rig.output == b"fresh"


async def test_the_old_link_answering_a_ping_first_cancels_the_probes(rig: Rig) -> None:
    old = await rig.attach_first()
    old.responsive = False
    await rig.stall()
    await rig.wait_attempts(2)
    rig.supervisor.write(b"q")
    rig.clock.advance(1.5)
    old.responsive = True  # the ping sent at the stall is answered: a full round trip
    await rig.wait_state("attached")
    await wait_until_async(
        lambda: rig.connector.attempts[1].cancelled,
        timeout=WITHIN,
        what="the probe cancelled",
        interval=TURN,
    )
    assert not old.closed_locally
    assert old.written == b"q"  # the same session: held keys delivered
    assert rig.notices[-1] == "connection recovered after 1.5 s"


async def test_bytes_from_the_stalled_link_are_shown_but_the_probe_still_races(
    rig: Rig,
) -> None:
    old = await rig.attach_first()
    old.responsive = False
    await rig.stall()
    await rig.wait_attempts(2)
    rig.supervisor.write(b"q")
    old.send(b"late output")  # the way back works; the way out may still be stuck
    assert rig.output == b"late output"
    assert rig.state() == "stalled"
    assert old.written == b""
    new = rig.connector.attempts[1].attach()
    await rig.wait_state("attached")
    assert old.reset_locally
    assert new.written == b"q"


async def test_without_tmux_the_stalled_link_is_kept_at_its_first_bytes(rig: Rig) -> None:
    old = await rig.attach_first(tmux=False)
    old.responsive = False
    await rig.stall()
    await rig.wait_attempts(2)
    old.send(b"still here")
    await rig.wait_state("attached")
    await wait_until_async(
        lambda: rig.connector.attempts[1].cancelled,
        timeout=WITHIN,
        what="the probe cancelled",
        interval=TURN,
    )
    assert not old.closed_locally


async def test_a_probe_that_attaches_just_as_it_is_cancelled_is_closed(rig: Rig) -> None:
    old = await rig.attach_first(tmux=False)
    old.responsive = False
    await rig.stall()
    await rig.wait_attempts(2)
    # Both in the same instant: the old link (no tmux, so its first bytes keep it) comes
    # back, and the probe's connect completes before its task had a chance to report.
    old.send(b"back")
    late = rig.connector.attempts[1].attach()
    await wait_until_async(
        lambda: late.closed_locally,
        timeout=WITHIN,
        what="the orphaned probe link closed",
        interval=TURN,
    )
    assert rig.state() == "attached"
    assert not old.closed_locally


async def test_of_two_probes_the_first_to_attach_wins_and_the_other_is_cancelled(
    rig: Rig,
) -> None:
    old = await rig.attach_first()
    old.responsive = False
    await rig.stall()
    await rig.wait_attempts(2)
    rig.clock.advance(1.0)  # the next probe is due before the first has finished
    await rig.wait_attempts(3)
    rig.connector.attempts[2].attach()
    await rig.wait_state("attached")
    await wait_until_async(
        lambda: rig.connector.attempts[1].cancelled,
        timeout=WITHIN,
        what="the slower probe cancelled",
        interval=TURN,
    )
    assert old.reset_locally


async def test_keys_typed_during_the_outage_are_discarded_if_the_session_is_new(
    rig: Rig,
) -> None:
    old = await rig.attach_first()
    old.end(Ending.LOST, Cause.RESET, "connection reset by peer")
    await rig.wait_state("reconnecting")
    await rig.wait_attempts(2)
    rig.supervisor.write(b"rm -rf build\r")
    new = rig.connector.attempts[1].attach(reattached_existing=False)
    await rig.wait_state("attached")
    assert new.written == b""
    assert rig.notices[-2] == (
        "13 bytes typed during the outage were discarded: this is not the same tmux session"
    )
    assert rig.notices[-1] == (
        "reconnected after 0.0 s: the old tmux session is gone, this is a new one"
    )


async def test_auth_failure_is_exactly_one_attempt_then_needs_user(rig: Rig) -> None:
    await rig.supervisor.start()
    await rig.wait_attempts(1)
    rig.connector.attempts[0].fail(Cause.AUTH_FAILED, "no key was accepted")
    await rig.wait_state("needs-user")
    for _ in range(60):
        rig.clock.advance(5.0)
        await settle()
    assert len(rig.connector.attempts) == 1
    assert rig.notices[-1] == (
        "authentication failed: no key was accepted; not retrying. Fix it, then reconnect"
    )
    rig.supervisor.resolved()
    await rig.wait_attempts(2)


async def test_a_changed_host_key_gets_no_further_attempt(rig: Rig) -> None:
    old = await rig.attach_first()
    old.end(Ending.LOST, Cause.RESET)
    await rig.wait_attempts(2)
    rig.connector.attempts[1].fail(Cause.HOST_KEY_CHANGED, "SHA256:Zm9v")
    await rig.wait_state("failed")
    rig.supervisor.reconnect_now()
    rig.network[0] = "wifi-2"
    for _ in range(60):
        rig.clock.advance(5.0)
        await settle()
    assert len(rig.connector.attempts) == 2
    assert rig.notices[-1] == "host key changed: not reconnecting until the key is resolved"
    rig.supervisor.resolved()
    await rig.wait_attempts(3)


async def test_failed_probes_follow_the_seeded_backoff(rig: Rig) -> None:
    old = await rig.attach_first()
    old.end(Ending.LOST, Cause.SERVER_CLOSED)
    await rig.wait_attempts(2)
    for _ in range(200):  # step from timer to timer until 8 attempts were made
        if len(rig.connector.attempts) == 9:
            break
        if rig.connector.attempts[-1].pending:
            # After the server's version line: a refusal by the server, which backs off.
            rig.connector.attempts[-1].fail(Cause.SERVER_CLOSED, "the server closed it")
        await settle()
        deadline = rig.clock.next_deadline
        assert deadline is not None
        rig.clock.advance(deadline - rig.clock.now())
        await settle()
    starts = [attempt.started_at for attempt in rig.connector.attempts[1:]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # The link dropped right after the first attach (one attempt), so the backoff goes on
    # from that step: the first probe goes at once, the gap after it is the second step's.
    expected = [POLICY.backoff.delay(k) for k in range(2, 2 + len(gaps))]
    assert len(gaps) == 7
    assert rig.supervisor.status().attempt == 8  # probes of this outage
    assert gaps == pytest.approx(expected)
    assert max(gaps) <= 8.0
    assert rig.supervisor.status().cause is Cause.SERVER_CLOSED


async def test_probes_that_find_the_network_down_keep_the_probe_pace(rig: Rig) -> None:
    old = await rig.attach_first()
    old.end(Ending.LOST, Cause.SERVER_CLOSED)
    await rig.wait_attempts(2)
    for _ in range(200):
        if len(rig.connector.attempts) == 20:
            break
        if rig.connector.attempts[-1].pending:
            rig.connector.attempts[-1].fail(Cause.REFUSED, "connection refused", Stage.CONNECT)
        await settle()
        deadline = rig.clock.next_deadline
        assert deadline is not None
        rig.clock.advance(deadline - rig.clock.now())
        await settle()
    starts = [attempt.started_at for attempt in rig.connector.attempts[1:]]
    assert len(starts) == 19
    assert all(b - a <= SYN_RETRY_GAP + 1e-9 for a, b in itertools.pairwise(starts))


async def test_a_network_change_retries_at_once(rig: Rig) -> None:
    old = await rig.attach_first()
    old.end(Ending.LOST, Cause.UNREACHABLE)
    await rig.wait_attempts(2)
    rig.connector.attempts[1].fail(Cause.UNREACHABLE, "network is unreachable")
    await settle()
    started = len(rig.connector.attempts)
    rig.network[0] = "wifi-2"
    rig.clock.advance(1.0)  # the network is looked at once a second
    await rig.wait_attempts(started + 1)
    assert rig.connector.attempts[-1].started_at == rig.clock.now()


async def test_the_shell_exiting_ends_without_reconnecting(rig: Rig) -> None:
    link = await rig.attach_first()
    link.end(Ending.ENDED)
    await rig.wait_state("ended")
    rig.clock.advance(60)
    await settle()
    assert len(rig.connector.attempts) == 1


async def test_detaching_from_tmux_is_not_reconnected_until_asked(rig: Rig) -> None:
    link = await rig.attach_first()
    link.end(Ending.DETACHED)
    await rig.wait_state("detached")
    rig.clock.advance(60)
    await settle()
    assert len(rig.connector.attempts) == 1
    rig.supervisor.reconnect_now()
    await rig.wait_attempts(2)


async def test_a_connector_bug_does_not_block_retries(rig: Rig) -> None:
    await rig.supervisor.start()
    await rig.wait_attempts(1)
    rig.connector.attempts[0].crash(RuntimeError("boom"))
    await wait_until_async(
        lambda: rig.supervisor.status().cause is Cause.PROTOCOL,
        timeout=WITHIN,
        what="the failure recorded",
        interval=TURN,
    )
    assert rig.supervisor.status().detail == "unexpected error: boom"
    rig.clock.advance(1.0)
    await rig.wait_attempts(2)


async def test_typing_while_reconnecting_keeps_probes_within_a_second(rig: Rig) -> None:
    old = await rig.attach_first()
    old.end(Ending.LOST, Cause.TIMEOUT)
    for number in range(2, 8):
        await rig.wait_attempts(number)
        rig.connector.attempts[number - 1].fail(Cause.TIMEOUT, "no answer")
        rig.supervisor.write(b"x")
        await settle()
        rig.clock.advance(1.0)
    starts = [a.started_at for a in rig.connector.attempts[1:]]
    assert all(b - a <= 1.0 for a, b in itertools.pairwise(starts))
    assert rig.supervisor.status().held == 6


async def test_updates_stream_status_and_notices_until_close(rig: Rig) -> None:
    stream = rig.supervisor.updates()
    link = await rig.attach_first()
    link.end(Ending.ENDED)
    await rig.wait_state("ended")
    await rig.supervisor.close()
    received = [update async for update in stream]
    assert [u.state for u in received if isinstance(u, Status)] == [
        "connecting",
        "attached",
        "ended",
        "closed",
    ]
    assert Notice("session ended: the shell exited or the tmux session closed") in received


async def test_a_link_that_fails_to_write_does_not_break_the_supervisor(rig: Rig) -> None:
    link = await rig.attach_first()
    link.broken = True
    rig.supervisor.write(b"lost")
    link.broken = False
    rig.supervisor.write(b"sent")
    link.send(b"ok")
    assert link.written == b"sent"
    assert rig.output == b"ok"
    assert rig.state() == "attached"


async def test_updates_asked_for_after_close_end_at_once(rig: Rig) -> None:
    await rig.attach_first()
    await rig.supervisor.close()
    assert [update async for update in rig.supervisor.updates()] == []


async def test_close_cancels_probes_and_resets_the_stalled_link(rig: Rig) -> None:
    old = await rig.attach_first()
    old.responsive = False
    await rig.stall()
    await rig.wait_attempts(2)
    await rig.supervisor.close()
    assert old.reset_locally
    assert rig.connector.attempts[1].cancelled
    assert rig.state() == "closed"
    assert rig.clock.next_deadline is None  # no timer or network poll left behind


async def test_fresh_syns_replace_unanswered_probes_until_the_connector_reports_a_syn_ack() -> None:
    async with rig_with(replace(POLICY, syn_retry_gap=SYN_RETRY_GAP)) as rig:
        old = await rig.attach_first()
        old.end(Ending.LOST, Cause.SERVER_CLOSED)
        for count in range(2, 6):
            await rig.wait_attempts(count)
            await settle()
            rig.clock.advance(SYN_RETRY_GAP)
        attempts = rig.connector.attempts[1:]
        # The oldest keeps waiting on its own SYN retries; the ones between were dropped.
        assert not attempts[0].cancelled
        assert all(attempt.cancelled for attempt in attempts[1:-1])
        newest = attempts[-1]
        assert newest.reached is not None
        newest.reached()  # the server answered its SYN: let it finish its handshake
        await settle()
        count = len(rig.connector.attempts)
        rig.clock.advance(SYN_RETRY_GAP)
        await settle()
        assert len(rig.connector.attempts) == count
        assert not newest.cancelled
        newest.attach()
        await rig.wait_state("attached")
        assert attempts[0].cancelled


# A stalled link given up while it may still be alive: reset, and what it never delivered
# goes first over the new link.


async def stalled_with_keys_in_flight(rig: Rig, unreceived: bytes) -> ScriptedLink:
    """An attached link that took ``unreceived`` and then went silent; the server never got
    those keys (what the transport will find when the link is given up)."""
    old = await rig.attach_first()
    rig.supervisor.write(unreceived)
    old.responsive = False
    old.unreceived = unreceived
    await rig.stall()
    await rig.wait_attempts(2)
    return old


async def test_keys_the_given_up_link_never_delivered_go_first_over_the_new_link(
    rig: Rig,
) -> None:
    old = await stalled_with_keys_in_flight(rig, b"k20 k21 ")
    rig.supervisor.write(b"k22 ")  # typed after the stall: held
    new = rig.connector.attempts[1].attach(reattached_existing=True)
    await rig.wait_state("attached")
    assert old.reset_locally
    assert not old.closed_locally
    assert new.written == b"k20 k21 k22 "
    assert rig.notices[-1].startswith("reattached after")


async def test_the_win_waits_for_the_reset_and_keys_typed_meanwhile_come_after(
    rig: Rig,
) -> None:
    old = await stalled_with_keys_in_flight(rig, b"k20 ")
    old.abandoning = asyncio.get_running_loop().create_future()  # an ACK may be on its way
    rig.supervisor.write(b"k21 ")
    new = rig.connector.attempts[1].attach(reattached_existing=True)
    new.send(b"redraw")
    await settle()
    rig.supervisor.write(b"k22 ")
    assert rig.state() == "stalled"
    assert new.written == b""
    assert rig.output == b""  # the winner's screen is shown once it is the active link
    assert rig.supervisor.status().held == 8
    old.abandoning.set_result(None)
    await rig.wait_state("attached")
    assert new.written == b"k20 k21 k22 "
    assert rig.output == b"redraw"


async def test_keys_the_given_up_link_never_delivered_are_discarded_in_a_new_session(
    rig: Rig,
) -> None:
    fates: list[bool] = []
    rig.supervisor.add_held_keys_listener(fates.append)
    await stalled_with_keys_in_flight(rig, b"rm -rf build\r")
    new = rig.connector.attempts[1].attach(reattached_existing=False)
    await rig.wait_state("attached")
    assert new.written == b""
    assert fates == [False]
    assert (
        "13 bytes typed during the outage were discarded: this is not the same tmux session"
        in rig.notices
    )


async def test_closing_during_the_reset_still_resets_the_link(rig: Rig) -> None:
    old = await stalled_with_keys_in_flight(rig, b"k20 ")
    old.abandoning = asyncio.get_running_loop().create_future()
    new = rig.connector.attempts[1].attach(reattached_existing=True)
    await wait_until_async(
        lambda: rig.state() == "stalled" and new.sizes != [],
        timeout=WITHIN,
        what="the win pending",
        interval=TURN,
    )
    await settle()
    await rig.supervisor.close()
    assert old.reset_locally
    assert new.closed_locally
    assert new.written == b""


async def test_a_link_that_ended_by_itself_is_not_reset(rig: Rig) -> None:
    old = await stalled_with_keys_in_flight(rig, b"k20 ")
    old.end(Ending.LOST, Cause.RESET, "connection reset by peer")
    await rig.wait_state("reconnecting")
    new = rig.connector.attempts[1].attach(reattached_existing=True)
    await rig.wait_state("attached")
    assert not old.reset_locally
    assert new.written == b""  # what it took is gone with it: nothing is sent twice


CPR_QUERY = b"\x1b[6n"
CPR_REPLY = b"\x1b[24;80R"


async def test_a_terminal_reply_goes_to_the_link_that_asked_and_only_while_attached() -> None:
    replied: list[int] = []

    def answer(data: bytes) -> None:
        """An emulator's part: a cursor report for each query, while it is being fed."""
        for _ in range(data.count(CPR_QUERY)):
            supervisor.reply(CPR_REPLY)

    clock = FakeClock()
    connector = ScriptedConnector(clock)
    supervisor = Supervisor(connector, answer, POLICY, clock=clock, network_fingerprint=None)
    supervisor.add_reply_listener(replied.append)
    rig = Rig(clock, connector, supervisor)
    try:
        old = await rig.attach_first()
        await settle()
        pings = old.pings
        old.send(b"$ " + CPR_QUERY)
        await settle()
        assert old.written == CPR_REPLY  # at once, to the link that asked
        assert old.replies == CPR_REPLY  # as a reply: never given back as keys by abandon()
        assert old.pings == pings  # not typing: no ping goes with it
        assert replied == [len(CPR_REPLY)]
        supervisor.reply(CPR_REPLY)  # no link's bytes being shown: nobody asked
        assert old.written == CPR_REPLY
        old.responsive = False
        await rig.stall()
        await rig.wait_attempts(2)
        old.send(CPR_QUERY)  # late output of the stalled link: its answer is not kept
        # The probe's first redraw asks too; that answer goes to the probe once it wins.
        connector.attempts[1].sink(CPR_QUERY)
        new = connector.attempts[1].attach(reattached_existing=True)
        await rig.wait_state("attached")
        assert old.written == CPR_REPLY
        assert new.written == CPR_REPLY
        assert replied == [len(CPR_REPLY)] * 2
    finally:
        await supervisor.close()
