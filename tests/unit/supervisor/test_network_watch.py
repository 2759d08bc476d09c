"""One network watch per process: every supervisor on the same fingerprint and clock shares a
single once-a-second poll, each still hears of a change, and the poll stops with the last."""

from __future__ import annotations

from dataclasses import dataclass, field

from termkeep.platform.netroutes import local_network_fingerprint
from termkeep.supervisor.backoff import Backoff
from termkeep.supervisor.clock import FakeClock, RealClock
from termkeep.supervisor.netwatch import shared_watch
from termkeep.supervisor.state import Policy
from termkeep.supervisor.supervisor import Supervisor
from termkeep.transport.link import Cause, Ending
from tests.fixtures.waiting import wait_until_async
from tests.unit.supervisor.scripted import TURN, WITHIN, ScriptedConnector, settle

SLOW_RETRY = Policy(
    keepalive_interval=5.0,
    stable_after=30.0,
    backoff=Backoff(initial_delay=30.0, multiplier=2.0, max_delay=60.0, jitter=0.0, seed=1),
)
"""Retries far apart, so a probe within a second can only come from the network change."""


@dataclass
class Network:
    """A fingerprint source the test changes, counting how often it is read."""

    name: str = "wifi-1"
    reads: list[float] = field(default_factory=list)
    clock: FakeClock = field(default_factory=FakeClock)

    def fingerprint(self) -> str:
        self.reads.append(self.clock.now())
        return self.name


def supervisors_on(network: Network, count: int) -> list[tuple[Supervisor, ScriptedConnector]]:
    """Supervisors on one fingerprint source and clock, with scripted connectors."""
    made = []
    for _ in range(count):
        connector = ScriptedConnector(network.clock)
        supervisor = Supervisor(
            connector,
            bytearray().extend,
            SLOW_RETRY,
            clock=network.clock,
            network_fingerprint=network.fingerprint,
        )
        made.append((supervisor, connector))
    return made


async def test_supervisors_share_one_poll_and_each_hears_a_change() -> None:
    network = Network()
    clock = network.clock
    rigs = supervisors_on(network, 3)
    for supervisor, connector in rigs:
        await supervisor.start()
        await wait_until_async(
            lambda: len(connector.attempts) == 1,  # noqa: B023
            timeout=WITHIN,
            what="the first attempt",
            interval=TURN,
        )
        connector.attempts[0].attach()
    await settle()
    reads_before = len(network.reads)
    for _ in range(5):
        clock.advance(1.0)
        await settle()
    assert len(network.reads) - reads_before == 5  # one look a second for all three

    for _, connector in rigs:  # every link is lost and the first probe fails
        link = connector.attempts[0].link
        assert link is not None
        link.end(Ending.LOST, Cause.UNREACHABLE)
        await wait_until_async(
            lambda: len(connector.attempts) == 2,  # noqa: B023
            timeout=WITHIN,
            what="the reconnect probe",
            interval=TURN,
        )
        # Refused by a server that accepted it: the next probe waits the 30 s backoff (a
        # network that is down would be probed again within half a second).
        connector.attempts[1].fail(Cause.SERVER_CLOSED, "the server closed the connection")
    await settle()
    network.name = "wifi-2"
    clock.advance(1.0)  # long before the next backoff retry
    for _, connector in rigs:
        await wait_until_async(
            lambda: len(connector.attempts) == 3,  # noqa: B023
            timeout=WITHIN,
            what="a probe after the change",
            interval=TURN,
        )

    for supervisor, _ in rigs:
        await supervisor.close()
    assert clock.next_deadline is None  # the shared poll stopped with the last supervisor


async def test_the_last_unsubscribe_stops_the_poll_and_a_new_watch_starts_fresh() -> None:
    network = Network()
    clock = network.clock
    watch = shared_watch(network.fingerprint, clock)
    heard: list[str] = []

    def listener() -> None:
        heard.append(network.name)

    watch.subscribe(listener)
    assert shared_watch(network.fingerprint, clock) is watch
    stopped = watch.unsubscribe(listener)
    assert stopped is not None
    await settle()
    assert stopped.cancelled()
    assert clock.next_deadline is None
    assert shared_watch(network.fingerprint, clock) is not watch
    network.name = "wifi-2"
    clock.advance(5.0)
    await settle()
    assert heard == []


async def test_a_failing_listener_does_not_deafen_the_others() -> None:
    network = Network()
    watch = shared_watch(network.fingerprint, network.clock)
    heard: list[str] = []

    def broken() -> None:
        raise RuntimeError("listener bug")

    def working() -> None:
        heard.append(network.name)

    watch.subscribe(broken)
    watch.subscribe(working)
    await settle()  # the poll is asleep until its first look
    network.name = "vpn"
    network.clock.advance(1.0)
    await wait_until_async(
        lambda: heard == ["vpn"],
        timeout=WITHIN,
        what="the change reaching the working listener",
        interval=TURN,
    )
    watch.unsubscribe(broken)
    task = watch.unsubscribe(working)
    assert task is not None


async def test_real_clocks_are_one_clock_so_the_apps_tabs_share_a_watch() -> None:
    first = shared_watch(local_network_fingerprint, RealClock())
    assert shared_watch(local_network_fingerprint, RealClock()) is first
    assert shared_watch(local_network_fingerprint, FakeClock()) is not first
