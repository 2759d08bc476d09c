"""Thirty tabs of one host in one process (thirty supervisors, as the app runs them) against
the real sshd with its default MaxStartups (10:30:100): after the server drops every
connection at once, every tab reattaches its own tmux session, and sshd never had to drop a
probe for too many unauthenticated connections (the connects are paced per destination)."""

from __future__ import annotations

import asyncio

from termkeep.config.profile import KeepaliveSettings, ReconnectSettings
from termkeep.session.core import build_supervisor
from termkeep.supervisor.supervisor import Supervisor
from termkeep.supervisor.updates import Notice, Update
from termkeep.transport.prompts import NoPrompter
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.waiting import wait_until_async

TABS = 30
SSHD_DEFAULT_MAX_STARTUPS = "MaxStartups 10:30:100"
ATTACH_WAIT = 120.0
"""Thirty logins and tmux sessions on a shared two-core machine: generous, never slept."""
THROTTLED = ("past MaxStartups", "MaxStartups throttling")
"""What sshd logs when it drops a connection for too many unauthenticated ones."""


class Tab:
    """One supervisor and what it told the user."""

    def __init__(self, server: NetnsSshServer, number: int) -> None:
        self.session = f"tk-many-{number}"
        profile = profile_for(
            server,
            name=f"many-{number}",
            tmux_session=self.session,
            keepalive=KeepaliveSettings(interval=5.0, count_max=3),
            reconnect=ReconnectSettings(connect_timeout=10.0),
        )
        self.notices: list[str] = []
        self.supervisor: Supervisor = build_supervisor(
            profile, NoPrompter(), on_data=lambda _data: None, size=(80, 24)
        )
        self.supervisor.add_listener(self._heard)

    def _heard(self, update: Update) -> None:
        if isinstance(update, Notice):
            self.notices.append(update.text)

    @property
    def state(self) -> str:
        return self.supervisor.status().state


def session_ids(server: NetnsSshServer) -> dict[str, str]:
    """tmux session name -> who it is (server pid, session id, creation time)."""
    listed = server.tmux(
        "list-sessions", "-F", "#{session_name} #{pid}:#{session_id}:#{session_created}"
    )
    assert listed.returncode == 0, listed.stderr
    return dict(line.split(" ", 1) for line in listed.stdout.splitlines())


async def test_thirty_tabs_of_one_host_all_reattach_their_session_after_an_abort(
    netns_sshd: NetnsSshServer,
) -> None:
    netns_sshd.extra_config = (SSHD_DEFAULT_MAX_STARTUPS,)
    netns_sshd.restart()
    tabs = [Tab(netns_sshd, number) for number in range(1, TABS + 1)]
    try:
        for tab in tabs:
            await tab.supervisor.start()
        await wait_until_async(
            lambda: all(tab.state == "attached" for tab in tabs),
            timeout=ATTACH_WAIT,
            what=lambda: f"every tab attached: {[tab.state for tab in tabs]}",
            interval=0.05,
        )
        before = session_ids(netns_sshd)
        assert {tab.session for tab in tabs} <= before.keys()
        log_start = len(netns_sshd.log_text())
        heard = [len(tab.notices) for tab in tabs]

        netns_sshd.kill_connections()

        def reattached(index: int) -> bool:
            tab = tabs[index]
            later = tab.notices[heard[index] :]
            return tab.state == "attached" and any(n.startswith("reattached") for n in later)

        await wait_until_async(
            lambda: all(reattached(index) for index in range(TABS)),
            timeout=ATTACH_WAIT,
            what=lambda: (
                "every tab reattached: "
                + str([tab.notices[heard[i] :] for i, tab in enumerate(tabs) if not reattached(i)])
            ),
            interval=0.05,
        )
        after = session_ids(netns_sshd)
        assert {tab.session: after[tab.session] for tab in tabs} == {
            tab.session: before[tab.session] for tab in tabs
        }
        since_abort = netns_sshd.log_text()[log_start:]
        assert not any(mark in since_abort for mark in THROTTLED), since_abort[-2000:]
    finally:
        await asyncio.gather(*(tab.supervisor.close() for tab in tabs))
