"""Broadcast input in the app on the real OpenSSH sshd and tmux: one tab types, three tabs
receive, and one of those is cut off by a real silent blackhole (nftables in its network
namespace) while the keys are typed. It holds them like keys typed into it and, once it is
back, its shell has run them; the others ran them at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from termkeep.config.profile import KeepaliveSettings, ReconnectSettings
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.ui.live_session import LiveSession
from termkeep.ui.screens.broadcast import BroadcastPickerScreen
from termkeep.ui.widgets.session_pane import SessionPane
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, Bound, wait_for

RECOVERY = Bound(60.0, 0.05)
"""For a drop to be noticed or healed on a loaded machine: 60 s at most."""
COMMAND = "echo bc-$((6*7))"
OUTPUT = "bc-42"


@pytest.fixture
def store(config_dir: Path) -> ProfileStore:
    """The saved hosts of the test's own config dir."""
    return ProfileStore(config_dir / "hosts")


def screen_text(pane: SessionPane) -> str:
    session = pane.session
    assert isinstance(session, LiveSession)
    return session.session.emulator.text()


def attached(pane: SessionPane) -> Callable[[], bool]:
    return lambda: pane.status.state is Phase.ATTACHED


def shows(pane: SessionPane, text: str) -> Callable[[], bool]:
    return lambda: text in screen_text(pane)


async def test_broadcast_to_three_tabs_one_of_them_through_a_blackhole(
    store: ProfileStore, sshd: SshServer, netns_sshd: NetnsSshServer
) -> None:
    for name in ("source", "steady-1", "steady-2"):
        store.save(profile_for(sshd, name=name, tmux_session=f"tk-bc-{name}"))
    store.save(
        profile_for(
            netns_sshd,
            name="flaky",
            tmux_session="tk-bc-flaky",
            # A silent drop is noticed within seconds and healed within a second of its end.
            keepalive=KeepaliveSettings(interval=1.0, count_max=2),
            reconnect=ReconnectSettings(connect_timeout=1.0, initial_delay=0.1, max_delay=1.0),
        )
    )
    app = RecordingApp(store, open_session=None)  # real sessions, real TerminalViews
    async with app.run_test(size=(120, 30)) as pilot:
        panes = []
        for name in ("steady-1", "flaky", "steady-2", "source"):  # source last: active
            pane = await app.open_profile(name)
            assert pane is not None
            panes.append(pane)
        steady_1, flaky, steady_2, source = panes
        for pane in panes:
            await wait_for(pilot, attached(pane), f"{pane.session.name} to attach", bound=LIVE)
        await pilot.press(PREFIX, "b")
        await wait_for(
            pilot, lambda: isinstance(app.screen, BroadcastPickerScreen), "the broadcast picker"
        )
        await pilot.press("a", "enter")
        await wait_for(pilot, lambda: app.broadcast.on, "broadcasting")
        assert app.broadcast.targets == [steady_1, flaky, steady_2]

        with netns_sshd.blackhole():
            await wait_for(pilot, lambda: flaky.status.state.lost, "the drop", bound=RECOVERY)
            assert app.focused is source.children[0]
            await pilot.press(*COMMAND, "enter")
            for pane in (source, steady_1, steady_2):
                await wait_for(pilot, shows(pane, OUTPUT), "the output", bound=LIVE)
            # The cut-off tab holds the keys as typed keys: counted, not sent, not run.
            await wait_for(pilot, lambda: flaky.session.status().held > 0, "held keys")
            assert flaky.session.status().held == len(COMMAND) + 1
            assert OUTPUT not in screen_text(flaky)

        await wait_for(pilot, attached(flaky), "the reattach", bound=RECOVERY)
        await wait_for(pilot, shows(flaky, OUTPUT), "the held keys to run", bound=RECOVERY)
        assert flaky.session.status().held == 0
        assert app.broadcast.targets == [steady_1, flaky, steady_2]
        for pane in panes:
            await pane.session.close()
        # The tabs hear of the close through the app's queue: let them, while it runs.
        await wait_for(
            pilot, lambda: all(p.status.state is Phase.CLOSED for p in panes), "every tab closed"
        )
        await pilot.pause()
