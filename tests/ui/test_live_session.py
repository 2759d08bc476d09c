"""The real Session seen through the ui's protocol, and shown by a real TerminalView.

No server answers here: a session the app starts dials a loopback port held closed, so it only
retries. The end-to-end test with sshd and tmux belongs to the session's own tests. This checks
the translation and the wiring.
"""

from __future__ import annotations

from termkeep.config.profile import Profile
from termkeep.config.settings import Settings
from termkeep.config.store import ProfileStore
from termkeep.session.tab_session import Session
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.terminal.palette import Palette
from termkeep.transport.link import Cause
from termkeep.transport.prompts import NoPrompter
from termkeep.ui.app import TermkeepApp
from termkeep.ui.live_session import (
    LiveSession,
    live_session_opener,
    live_terminal_factory,
    snapshot_of,
)
from termkeep.ui.widgets.session_tabs import SessionTabs
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.ui.pilot import wait_for


def test_status_translation_prefers_the_detail_over_the_bare_cause() -> None:
    status = Status(
        state=Phase.RECONNECTING,
        cause=Cause.REFUSED,
        detail="",
        retry_in=2.0,
        held=5,
        attempt=3,
    )
    snapshot = snapshot_of(status, "alice@web-1", "title")
    assert snapshot.state is Phase.RECONNECTING
    assert snapshot.cause == "connection refused"
    assert (snapshot.attempt, snapshot.retry_in, snapshot.held) == (3, 2.0, 5)
    detailed = snapshot_of(
        Status(state=Phase.STALLED, cause=Cause.TIMEOUT, detail="no reply for 6 s"), "d", ""
    )
    assert detailed.cause == "no reply for 6 s"
    assert snapshot_of(Status(state=Phase.IDLE), "d", "").state is Phase.IDLE


async def test_live_session_reports_profile_and_state() -> None:
    profile = Profile(name="web-1", host="127.0.0.1", port=2222, user="alice")
    live = LiveSession(Session(profile, NoPrompter()))
    status = live.status()
    assert live.name == "web-1"
    assert status.state is Phase.IDLE
    assert status.destination == "alice@127.0.0.1:2222"
    palette = Palette(background=(1, 2, 3))
    live.set_palette(palette)
    assert live.session.emulator.palette == palette


async def test_app_shows_a_terminal_view_for_a_live_session(
    store: ProfileStore, closed_port: int
) -> None:
    settings = Settings()
    local = Profile(name="web-1", host="127.0.0.1", port=closed_port, user="alice")
    store.save(local, replace=True)

    app = TermkeepApp(
        settings=settings,
        store=store,
        open_session=live_session_opener(store, NoPrompter(), settings, Palette()),
        terminal_factory=live_terminal_factory(settings),
        restore=False,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await app.open_profile("web-1")
        assert pane is not None
        await pilot.pause()
        view = pane.query_one(TerminalView)
        assert app.focused is view
        assert isinstance(pane.session, LiveSession)
        assert pane.session.session.emulator.palette == app.terminal_palette
        assert "web-1" in str(app.query_one(SessionTabs).get_tab("tab-1").label)
        app.apply_theme("nord")
        assert pane.session.session.emulator.palette.background == (0x2E, 0x34, 0x40)
        view.port.feed(b"\x1b]2;htop on web-1\x07")  # the remote sets the window title
        tab = app.query_one(SessionTabs).get_tab("tab-1")
        await wait_for(pilot, lambda: "htop on web-1" in str(tab.label), "the title in the label")
        assert str(tab.label) == "○ htop on web-1"
        await pane.session.close()


async def test_a_second_tab_on_a_profile_gets_its_own_tmux_session(store: ProfileStore) -> None:
    opener = live_session_opener(store, NoPrompter(), Settings(), Palette())
    first, second, third = (opener("web-1") for _ in range(3))
    names = [
        session.session.profile.tmux_session_name
        for session in (first, second, third)
        if isinstance(session, LiveSession)
    ]
    assert names == ["termkeep-web-1", "termkeep-web-1-2", "termkeep-web-1-3"]
    await second.close()
    again = opener("web-1")
    assert isinstance(again, LiveSession)
    assert again.session.profile.tmux_session_name == "termkeep-web-1-2"
    other = opener("web-2")
    assert isinstance(other, LiveSession)
    assert other.session.profile.tmux_session_name == "termkeep-web-2"
