"""The app end to end on a real SSH server: the demo server (asyncssh on loopback, a real
PTY, the local shell inside a real tmux on a private socket), a real Session, the real
TerminalView. Typing goes through the prefix router and the key encoder to the remote."""

from __future__ import annotations

import re
import shutil

import pytest

from termkeep.config.profile import (
    KeepaliveSettings,
    Profile,
    ReconnectSettings,
    TmuxSettings,
)
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.transport.demo_server import DemoServer, DemoServerInfo
from termkeep.transport.relay import FaultRelay
from termkeep.ui.live_session import LiveSession
from termkeep.ui.screens.dialogs import ConfirmScreen
from termkeep.ui.widgets.session_tabs import SessionTabs
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def demo_profile(server: DemoServerInfo, name: str, tmux_session: str) -> Profile:
    """A profile reaching the demo server directly, with its key and known_hosts."""
    return Profile(
        name=name,
        host=server.host,
        port=server.port,
        identity_files=(str(server.client_key),),
        known_hosts_file=str(server.known_hosts),
        tmux=TmuxSettings(session=tmux_session),
    )


async def test_open_type_and_close_on_a_real_server(store: ProfileStore) -> None:
    async with DemoServer() as server:
        store.save(demo_profile(server, "demo", "termkeep-ui-test"))
        app = RecordingApp(store, open_session=None)  # the real opener and TerminalView
        async with app.run_test(size=(100, 30)) as pilot:
            pane = await app.open_profile("demo")
            assert pane is not None
            assert isinstance(pane.session, LiveSession)
            await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
            # The supervisor's notice reaches the user, named after the tab.
            await wait_for(
                pilot,
                lambda: any(m.startswith("demo: connected after ") for m in app.messages),
                "the attach notice",
                bound=LIVE,
            )
            view = pane.query_one(TerminalView)
            assert app.focused is view
            await pilot.press(*"echo tk-$((6*7))", "enter")
            emulator = pane.session.session.emulator
            await wait_for(
                pilot, lambda: "tk-42" in emulator.text(), "the command's output", bound=LIVE
            )
            tabs = app.query_one(SessionTabs)
            assert str(tabs.get_tab("tab-1").label).startswith("● ")
            await pilot.press(PREFIX, "x")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, lambda: not tabs.panes, "the tab to close", bound=LIVE)


async def test_a_drop_and_reattach_are_shown_and_the_shell_survives(store: ProfileStore) -> None:
    async with DemoServer() as server:
        relay = FaultRelay(server.host, server.port)
        await relay.start()
        try:
            await _drop_and_reattach(store, server, relay)
        finally:
            await relay.close()


def save_relayed_profile(
    store: ProfileStore, server: DemoServerInfo, relay: FaultRelay, name: str, tmux_session: str
) -> None:
    """Save profile ``name`` reaching the demo server through ``relay``, with a short
    keepalive and quick retries, so a blackhole is noticed and healed within seconds."""
    # The relay listens on its own port, so the host key is trusted under that port.
    key_line = server.known_hosts.read_text().split(" ", 1)[1]
    known_hosts = server.known_hosts.with_name(f"known_hosts_relay_{relay.port}")
    known_hosts.write_text(f"[127.0.0.1]:{relay.port} {key_line}")
    store.save(
        Profile(
            name=name,
            host="127.0.0.1",
            port=relay.port,
            identity_files=(str(server.client_key),),
            known_hosts_file=str(known_hosts),
            keepalive=KeepaliveSettings(interval=1.0, count_max=2),
            reconnect=ReconnectSettings(connect_timeout=1.0, initial_delay=0.1, max_delay=1.0),
            tmux=TmuxSettings(session=tmux_session),
        )
    )


async def _drop_and_reattach(
    store: ProfileStore, server: DemoServerInfo, relay: FaultRelay
) -> None:
    save_relayed_profile(store, server, relay, "flaky", "termkeep-ui-drop")
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await app.open_profile("flaky")
        assert pane is not None
        assert isinstance(pane.session, LiveSession)
        emulator = pane.session.session.emulator
        await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
        await pilot.press(*"TKV=kept; echo set-$((1+1))", "enter")
        await wait_for(
            pilot, lambda: "set-2" in emulator.text(), "the variable to be set", bound=LIVE
        )

        relay.blackhole()
        await wait_for(pilot, lambda: pane.status.state.lost, "the stall to show", bound=LIVE)
        await wait_for(
            pilot,
            lambda: any(m.startswith("flaky: connection lost") for m in app.messages),
            "the drop notice",
            bound=LIVE,
        )
        # The label follows the status through the app's message queue, so it may trail the
        # notice by a frame.
        await wait_for(
            pilot,
            lambda: str(app.query_one(SessionTabs).get_tab("tab-1").label)[0] in "◐↻",
            "the tab label to show the outage",
            bound=LIVE,
        )

        before_restore = len(app.messages)
        relay.restore()
        await wait_for(
            pilot, lambda: pane.status.state is Phase.ATTACHED, "the reattach", bound=LIVE
        )
        await wait_for(
            pilot,
            lambda: any(
                re.match(r"flaky: .* after \d+(\.\d)? s", m) for m in app.messages[before_restore:]
            ),
            "the reattach notice with its duration",
            bound=LIVE,
        )
        await pilot.press(*"echo got-$TKV", "enter")
        await wait_for(pilot, lambda: "got-kept" in emulator.text(), "the same shell", bound=LIVE)
        await pane.session.close()
