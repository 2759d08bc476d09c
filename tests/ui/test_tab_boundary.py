"""One tab's unexpected error stays in that tab: logged with its traceback, shown on the tab,
and the other tab keeps working, on a real server (the demo server, real tmux)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.transport.demo_server import DemoServer, DemoServerInfo
from termkeep.ui.live_session import LiveSession
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.session_tabs import SessionTabs
from termkeep.ui.widgets.status_line import StatusLine
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, wait_for
from tests.ui.test_app_live import demo_profile

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class InjectedError(RuntimeError):
    """The bug this test plants in one tab."""


def save(store: ProfileStore, server: DemoServerInfo, name: str) -> None:
    store.save(demo_profile(server, name, f"termkeep-boundary-{name}"))


def boom(*_: object) -> None:
    raise InjectedError("planted [/bug]")


async def test_a_failing_tab_is_marked_and_logged_while_the_other_keeps_echoing(
    store: ProfileStore, log_path: Path
) -> None:
    async with DemoServer() as server:
        save(store, server, "bad")
        save(store, server, "good")
        app = RecordingApp(store, open_session=None)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            bad = await app.open_profile("bad")
            good = await app.open_profile("good")
            assert isinstance(bad, SessionPane)
            assert isinstance(good, SessionPane)
            await wait_for(
                pilot,
                lambda: all(p.status.state is Phase.ATTACHED for p in (bad, good)),
                "both tabs to attach",
                bound=LIVE,
            )

            # A session callback of the bad tab raises (its status line breaks), and so
            # does the drawing of its terminal.
            bad.query_one(StatusLine).show = boom  # type: ignore[method-assign,assignment]
            bad.query_one(TerminalView)._lines_of = boom  # type: ignore[method-assign,assignment]
            app.query_one(SessionTabs).select(0)
            bad.session.reconnect_now()  # the session publishes a new status: the listener runs
            await wait_for(pilot, lambda: bad.failure is not None, "the failure", bound=LIVE)
            assert bad.failure == "InjectedError: planted [/bug]"
            assert bad.status.state is Phase.FAILED
            await wait_for(
                pilot,
                lambda: str(app.query_one(SessionTabs).get_tab("tab-1").label).startswith("✕"),
                "the failed marker",
            )
            assert any("internal error (InjectedError: planted [/bug])" in m for m in app.messages)

            # The other tab, its connection and the app go on.
            app.query_one(SessionTabs).select(1)
            assert isinstance(good.session, LiveSession)
            emulator = good.session.session.emulator
            await pilot.press(*"echo still-$((20+22))", "enter")
            await wait_for(pilot, lambda: "still-42" in emulator.text(), "the echo", bound=LIVE)
            assert app.is_running
            assert good.failure is None
            await bad.session.close()
            await good.session.close()

    logged = log_path.read_text()
    assert "Traceback" in logged
    assert "InjectedError: planted [/bug]" in logged
    assert log_path.stat().st_mode & 0o777 == 0o600
