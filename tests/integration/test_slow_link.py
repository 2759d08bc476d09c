"""Recovery on a slow link: a Session against the real sshd and tmux in a network namespace
with 100 ms added each way (RTT 200 ms, real kernel TCP, ``NetnsSshServer.delay``).

Each test checks what the user would: the same tmux session is back and a command typed
after the fault shows its output. How fast is measured by scripts/bench_reconnect.py
--rtt 200, not asserted here (the machine is shared); what is asserted is *which way* the
session came back, which the retransmission options and the pipelined attach decide.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from termkeep.config.profile import KeepaliveSettings, Profile, ReconnectSettings
from tests.fixtures.netns import NetnsSshServer
from tests.integration.test_reconnect import (
    Watch,
    assert_same_session_back,
    opened,
    reconnect_profile,
    tmux_session_id,
)

ONE_WAY_MS = 100.0
SLOW_ATTACH_WAIT = 40.0


def slow_profile(server: NetnsSshServer) -> Profile:
    """The reconnect tests' profile, with room for a whole attach at 200 ms RTT (about ten
    round trips) in each probe's connect timeout."""
    return replace(
        reconnect_profile(server), reconnect=ReconnectSettings(connect_timeout=8.0, max_delay=2.0)
    )


@pytest.fixture
async def slow(netns_sshd: NetnsSshServer) -> AsyncIterator[Watch]:
    """Attached through 200 ms of RTT, with TKV=kept set in the remote shell."""
    netns_sshd.delay(ONE_WAY_MS)
    async with opened(slow_profile(netns_sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", SLOW_ATTACH_WAIT, "the attach")
        await watch.run("export TKV=kept; echo set$((40+2))", "set42", limit=SLOW_ATTACH_WAIT)
        yield watch


async def test_a_10_s_silent_drop_at_200_ms_rtt_reattaches_the_same_session(
    slow: Watch, netns_sshd: NetnsSshServer
) -> None:
    session_id = tmux_session_id(netns_sshd)
    with netns_sshd.blackhole():
        await slow.until(lambda: slow.state != "attached", 15.0, "the stall reported")
        await asyncio.sleep(10.0)  # the outage itself: time, not a condition
    await assert_same_session_back(slow, netns_sshd, session_id)


async def test_a_server_side_abort_at_200_ms_rtt_reattaches_with_a_fresh_connection(
    slow: Watch, netns_sshd: NetnsSshServer
) -> None:
    session_id = tmux_session_id(netns_sshd)
    netns_sshd.kill_connections()
    await slow.until(lambda: slow.state != "attached", 15.0, "the abort noticed")
    await assert_same_session_back(slow, netns_sshd, session_id)
    # The second login went through the known-key path (signature sent at once) and the
    # one-command attach, against the real sshd.
    assert any(notice.startswith("reattached after") for notice in slow.notices), slow.notices


async def test_after_a_short_drop_the_old_connection_comes_back_first(
    netns_sshd: NetnsSshServer,
) -> None:
    """A 3 s drop: the kernel still holds the old connection. With the retransmission
    timeout capped at 1 s it resends within a second of the network's return, a round trip
    before any fresh connection could be attached (about ten round trips)."""
    netns_sshd.delay(ONE_WAY_MS)
    # Keepalive 1 s: the stall shows within about a second; 30 unanswered ones before
    # asyncssh gives up, so the old connection survives the drop.
    profile = replace(
        slow_profile(netns_sshd), keepalive=KeepaliveSettings(interval=1.0, count_max=30)
    )
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "attached", SLOW_ATTACH_WAIT, "the attach")
        await watch.run("export TKV=kept; echo set$((40+2))", "set42", limit=SLOW_ATTACH_WAIT)
        session_id = tmux_session_id(netns_sshd)
        with netns_sshd.blackhole():
            await watch.until(lambda: watch.state == "stalled", 15.0, "the stall reported")
            await asyncio.sleep(3.0)
        await assert_same_session_back(watch, netns_sshd, session_id)
        recovered = [n for n in watch.notices if n.startswith("connection recovered after")]
        assert recovered, watch.notices
        assert not any(n.startswith("reattached after") for n in watch.notices), watch.notices
