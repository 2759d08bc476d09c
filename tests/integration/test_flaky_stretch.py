"""One long-lived session through a stretch of real faults, as on a train (issue 18): a
blackhole, an abort, another blackhole, an abort, a reset, an abort. A flaky stretch must
never make the next recovery slower: after each abort the first probe starts at once, with
no backoff wait carried over from the probes the outages before it made. That is read from
what the supervisor published (its status as the loss was announced), not from timings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Update
from tests.fixtures.netns import NetnsSshServer
from tests.integration.test_reconnect import (
    ATTACH_WAIT,
    RECOVERY_WAIT,
    Watch,
    assert_same_session_back,
    opened,
    reconnect_profile,
    tmux_session_id,
)

BLACKHOLE = 4.0
"""Long enough for the stall to be seen and probes to time out (connect timeout 2 s)."""
RESET = 2.0


@pytest.fixture
async def flaky(netns_sshd: NetnsSshServer) -> AsyncIterator[Watch]:
    """One session, attached, with TKV=kept set in its shell, kept through every fault."""
    async with opened(reconnect_profile(netns_sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the first attach")
        await watch.run("export TKV=kept; echo set$((40+2))", "set42")
        yield watch


class LossLog:
    """For each "connection lost" notice: the status published with it (same step)."""

    def __init__(self, watch: Watch) -> None:
        self.at_loss: list[Status] = []
        self._status: Status | None = None
        watch.session.on_update(self._heard)

    def _heard(self, update: Update) -> None:
        if isinstance(update, Status):
            self._status = update
        elif update.text.startswith("connection lost") and self._status is not None:
            self.at_loss.append(self._status)


async def abort_and_reattach(watch: Watch, server: NetnsSshServer, losses: LossLog) -> Status:
    before = len(losses.at_loss)
    server.kill_connections()
    await watch.until(lambda: len(losses.at_loss) > before, 15.0, "the abort noticed")
    await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "reattached")
    return losses.at_loss[before]


async def outage(watch: Watch, fault_started: object, seconds: float) -> None:
    await watch.until(lambda: watch.state != "attached", 15.0, "the fault noticed")
    await asyncio.sleep(seconds)  # the outage itself: time, not a condition


async def test_every_abort_in_a_flaky_stretch_is_probed_at_once(
    flaky: Watch, netns_sshd: NetnsSshServer
) -> None:
    attached = flaky
    session_id = tmux_session_id(netns_sshd)
    losses = LossLog(attached)
    at_aborts = []
    for fault in ("blackhole", "blackhole", "reset"):
        with getattr(netns_sshd, fault)() as started:
            if fault == "reset":
                attached.session.write(b"echo into-the-reset\r")
            await outage(attached, started, BLACKHOLE if fault == "blackhole" else RESET)
        await attached.until(lambda: attached.state == "attached", RECOVERY_WAIT, "recovered")
        # Seconds after the recovery, the server drops us: the link is young, but the
        # probes that failed during the outage must not count against it.
        at_aborts.append(await abort_and_reattach(attached, netns_sshd, losses))
    for status in at_aborts:
        assert status.state == "reconnecting"
        assert status.attempt == 1, status  # the first probe was started with the loss
    await assert_same_session_back(attached, netns_sshd, session_id)
    assert not any("new one" in notice for notice in attached.notices), attached.notices
