"""End to end: a Session (supervisor + real transport + emulator) against the real sshd and
tmux in a network namespace, through real kernel faults.

Each test attaches, sets a shell variable, breaks the network or the server in one real way,
and checks what the user would check: the same tmux session is back, the variable is still
set, and a command typed after the fault shows its output on the emulated screen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from termkeep.config.profile import KeepaliveSettings, Profile, ReconnectSettings
from termkeep.session.tab_session import Session
from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Notice, Update
from termkeep.transport.link import Cause
from termkeep.transport.prompts import NoPrompter
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.fixtures.waiting import wait_until_async

TMUX_SESSION = "tk-reconnect"
ATTACH_WAIT = 20.0
RECOVERY_WAIT = 60.0
SETTLE = 1.5
"""A short window in which nothing must happen (no further connection attempt)."""


class Watch:
    """A Session under observation: its states, notices and screen."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.states: list[str] = []
        self.notices: list[str] = []
        self.last_status: Status | None = None
        self._changed = asyncio.Event()
        session.on_update(self._on_update)
        session.on_output(self._changed.set)

    def _on_update(self, update: Update) -> None:
        if isinstance(update, Notice):
            self.notices.append(update.text)
        else:
            self.last_status = update
            if not self.states or self.states[-1] != update.state:
                self.states.append(update.state)
        self._changed.set()

    @property
    def state(self) -> str:
        return self.session.status().state

    def screen(self) -> str:
        return self.session.emulator.text()

    async def until(self, condition: Callable[[], object], limit: float, what: str) -> None:
        """Wait for ``condition``, re-checking on every update or output, within a bound; a
        failure shows the states, notices and screen at the deadline."""
        await wait_until_async(
            condition,
            timeout=limit,
            what=lambda: (
                f"{what}; states {self.states}, notices {self.notices}, screen:\n{self.screen()}"
            ),
            # Also wake up periodically: some conditions depend on the clock.
            interval=0.25,
            pause=self._next_change,
        )

    async def _next_change(self, longest: float) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=longest)

    async def run(self, command: str, expected: str, limit: float = ATTACH_WAIT) -> None:
        """Type ``command`` and wait until ``expected`` is on the screen."""
        self.session.write(command.encode() + b"\r")
        await self.until(lambda: expected in self.screen(), limit, f"{expected!r} on screen")


def reconnect_profile(server: SshServer, **changes: Any) -> Profile:
    return profile_for(
        server,
        name="reconnect-test",
        tmux_session=TMUX_SESSION,
        # Short keepalive so a silent drop is noticed quickly; the count is generous so the
        # old connection survives a 5 s drop and make-before-break has something to race.
        keepalive=KeepaliveSettings(interval=1.0, count_max=10),
        reconnect=ReconnectSettings(connect_timeout=2.0, max_delay=2.0),
        **changes,
    )


@contextlib.asynccontextmanager
async def opened(profile: Profile) -> AsyncIterator[Watch]:
    session = Session(profile, NoPrompter(), size=(100, 30))
    watch = Watch(session)
    await session.start()
    try:
        yield watch
    finally:
        await session.close()


@pytest.fixture
async def attached(netns_sshd: NetnsSshServer) -> AsyncIterator[Watch]:
    """A session attached to the namespace server, with TKV=kept set in its shell."""
    async with opened(reconnect_profile(netns_sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the first attach")
        await watch.run("export TKV=kept; echo set$((40+2))", "set42")
        yield watch


def tmux_session_id(server: SshServer) -> str:
    """Who the test session is: tmux server PID, session id and creation time together (a new
    tmux server numbers its sessions from $0 again)."""
    result = server.tmux(
        "list-sessions", "-F", "#{session_name} #{pid}:#{session_id}:#{session_created}"
    )
    assert result.returncode == 0, result.stderr
    ids = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert TMUX_SESSION in ids, result.stdout
    return ids[TMUX_SESSION]


async def assert_same_session_back(watch: Watch, server: SshServer, session_id: str) -> None:
    await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "reattached")
    await watch.run("echo tk$((1+1))$TKV", "tk2kept", limit=RECOVERY_WAIT)
    assert tmux_session_id(server) == session_id


@pytest.mark.parametrize("outage", [5.0, 30.0])
async def test_silent_drop_reattaches_the_same_session(
    attached: Watch, netns_sshd: NetnsSshServer, outage: float
) -> None:
    session_id = tmux_session_id(netns_sshd)
    with netns_sshd.blackhole():
        await attached.until(lambda: attached.state != "attached", 10.0, "the stall reported")
        await asyncio.sleep(outage)  # the outage itself: time, not a condition
    assert "stalled" in attached.states
    await assert_same_session_back(attached, netns_sshd, session_id)


@pytest.mark.parametrize("fault", ["reset", "link_down"])
async def test_a_fault_the_next_keystroke_meets_reattaches(
    attached: Watch, netns_sshd: NetnsSshServer, fault: str
) -> None:
    """A TCP reset, or the client's link going down: typing runs into the broken path."""
    session_id = tmux_session_id(netns_sshd)
    with getattr(netns_sshd, fault)():
        attached.session.write(b"echo into-the-fault\r")
        await attached.until(lambda: attached.state != "attached", 15.0, f"the {fault} noticed")
    await assert_same_session_back(attached, netns_sshd, session_id)


async def test_server_side_abort_reattaches(attached: Watch, netns_sshd: NetnsSshServer) -> None:
    session_id = tmux_session_id(netns_sshd)
    netns_sshd.kill_connections()
    await attached.until(lambda: attached.state != "attached", 15.0, "the abort noticed")
    await assert_same_session_back(attached, netns_sshd, session_id)


async def test_sshd_restart_reattaches(attached: Watch, netns_sshd: NetnsSshServer) -> None:
    session_id = tmux_session_id(netns_sshd)
    netns_sshd.restart_sshd(drop_connections=True)
    await attached.until(lambda: attached.state != "attached", 15.0, "the restart noticed")
    await assert_same_session_back(attached, netns_sshd, session_id)


async def test_killed_tmux_gives_a_new_session_with_a_notice(
    attached: Watch, netns_sshd: NetnsSshServer
) -> None:
    old_id = tmux_session_id(netns_sshd)
    netns_sshd.kill_tmux()
    await attached.until(
        lambda: attached.state == "attached" and len(attached.states) > 2,
        RECOVERY_WAIT,
        "attached to a new tmux session",
    )
    await attached.run("echo fresh$((1+2))${TKV:-unset}", "fresh3unset")
    assert tmux_session_id(netns_sshd) != old_id
    assert any("new" in notice for notice in attached.notices), attached.notices


async def test_exit_ends_without_reconnecting(attached: Watch, netns_sshd: NetnsSshServer) -> None:
    attached.session.write(b"exit\r")
    await attached.until(lambda: attached.state == "ended", 15.0, "ended")
    connections = netns_sshd.connection_count()
    await asyncio.sleep(SETTLE)  # a window for any (wrong) reconnect attempt to show up
    assert attached.state == "ended"
    assert netns_sshd.connection_count() == connections


async def test_wrong_key_fails_auth_after_exactly_one_attempt(netns_sshd: NetnsSshServer) -> None:
    stranger = netns_sshd.add_client_key("stranger", authorize=False)
    profile = reconnect_profile(netns_sshd, identity_files=(str(stranger),))
    before = netns_sshd.connection_count()
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "needs-user", ATTACH_WAIT, "needs-user")
        await asyncio.sleep(SETTLE)
        assert watch.state == "needs-user"
        assert watch.session.status().cause is Cause.AUTH_FAILED
    assert netns_sshd.connection_count() - before == 1


async def test_changed_host_key_on_reconnect_is_refused_for_good(
    attached: Watch, netns_sshd: NetnsSshServer
) -> None:
    netns_sshd.swap_host_key()
    netns_sshd.restart_sshd(drop_connections=True)
    await attached.until(lambda: attached.state == "failed", RECOVERY_WAIT, "failed")
    assert attached.session.status().cause is Cause.HOST_KEY_CHANGED
    connections = netns_sshd.connection_count()
    attached.session.reconnect_now()  # even the user's "reconnect now" must not go there
    await asyncio.sleep(SETTLE)
    assert attached.state == "failed"
    assert netns_sshd.connection_count() == connections
