"""Background tabs say what they do, on the demo server (a real SSH server, real PTYs, a
real tmux): the label marks the pane's new output (never tmux's status line), a bell and a
long output that ended; the tab in front counts the marked tabs; prefix a goes to the next
one, and showing a tab clears its marks. Bells of the tab in front ring the outer terminal;
those of a background tab, and finished outputs, become one desktop notification escape, as
the ``notify`` setting says. What the app writes to its own terminal is read from its
driver (headless under Pilot: the bytes are recorded where a real terminal would get them)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from textual.pilot import Pilot

from termkeep.config.profile import Profile, TmuxSettings
from termkeep.config.settings import Notify, Settings
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.terminal.activity import DoneTimes, Mark
from termkeep.terminal.emulator import row_text
from termkeep.transport.demo_server import DemoServer, DemoServerInfo
from termkeep.ui.desktop_notifier import PASSTHROUGH_OFF
from termkeep.ui.live_session import LiveSession
from termkeep.ui.widgets import session_pane
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.session_tabs import SessionTabs
from termkeep.ui.widgets.status_line import StatusLine
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.fixtures.outer_tmux import outer_tmux
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

SIZE = (100, 30)
NOTIFY_MARKS = ("\x1b]9;", "\x1b]99;", "\x1b]777;")


@pytest.fixture(autouse=True)
def outer_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app runs in iTerm2 (OSC 9), outside tmux, and counts output that follows an
    attach at once (the tests wait for their tab's shell before going on)."""
    monkeypatch.setenv("TERM_PROGRAM", "iTerm.app")
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("TMUX_PANE", raising=False)
    monkeypatch.setattr(session_pane, "REDRAW_SECONDS", 0.0)


def demo_profile(server: DemoServerInfo, name: str, notify: str | None = None) -> Profile:
    return Profile(
        name=name,
        host=server.host,
        port=server.port,
        identity_files=(str(server.client_key),),
        known_hosts_file=str(server.known_hosts),
        tmux=TmuxSettings(session=f"tk-bg-{name}"),
        notify=notify,
    )


@dataclass
class TwoTabs:
    app: RecordingApp
    pilot: Pilot[None]
    back: SessionPane
    front: SessionPane
    written: list[str]

    @property
    def tabs(self) -> SessionTabs:
        return self.app.query_one(SessionTabs)

    def label(self, pane: SessionPane) -> str:
        return str(self.tabs.label_for(pane))

    def notifications(self) -> list[str]:
        return [data for data in self.written if data.startswith(NOTIFY_MARKS)]

    async def run_in(self, pane: SessionPane, command: str) -> None:
        """Type ``command`` and Enter into ``pane``'s real session (in front or not)."""
        pane.session.write(command.encode() + b"\r")


async def ready(pilot: Pilot[None], pane: SessionPane, token: int) -> None:
    """Wait until ``pane`` is attached at its tab's size (tmux's status line on its last
    row) and its shell has run a command."""
    await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
    assert isinstance(pane.session, LiveSession)
    emulator = pane.session.session.emulator
    await wait_for(
        pilot,
        lambda: row_text(emulator.snapshot().rows[-1]).startswith("[tk-bg-"),
        "tmux's status line on the last row",
        bound=LIVE,
    )
    pane.session.write(f"echo ready-$(({token}*2))\r".encode())

    def printed_and_prompted() -> bool:
        """The output line, and the prompt after it: the shell has finished printing."""
        lines = emulator.text().splitlines()
        return any(
            line == f"ready-{token * 2}" and after.strip()
            for line, after in itertools.pairwise(lines)
        )

    await wait_for(pilot, printed_and_prompted, "the shell's output and prompt", bound=LIVE)


@asynccontextmanager
async def two_tabs(
    store: ProfileStore,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings | None = None,
    notify: str | None = None,
) -> AsyncIterator[TwoTabs]:
    """Tabs "back" (opened first, then in the background) and "front" on the demo server."""
    async with DemoServer() as server:
        store.save(demo_profile(server, "back", notify))
        store.save(demo_profile(server, "front", notify))
        app = RecordingApp(store, settings, open_session=None)
        async with app.run_test(size=SIZE) as pilot:
            written: list[str] = []
            driver = app._driver
            assert driver is not None
            monkeypatch.setattr(driver, "write", written.append)
            back = await app.open_profile("back")
            assert back is not None
            await ready(pilot, back, 1)
            front = await app.open_profile("front")
            assert front is not None
            await ready(pilot, front, 2)
            assert app.tabs.active_session_pane is front
            tabs = TwoTabs(app, pilot, back, front, written)
            try:
                yield tabs
            finally:
                for pane in (back, front):
                    await pane.session.close()


async def test_background_output_marks_the_tab_and_prefix_a_goes_to_it(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_tabs(store, monkeypatch) as tabs:
        pilot, back, front = tabs.pilot, tabs.back, tabs.front
        assert not back.activity.marked  # its output came while it was in front
        view = back.query_one(TerminalView)

        # tmux redraws its status line (a clock, a title): that is not the pane's output.
        await tabs.run_in(front, "tmux set-option -t tk-bg-back status-right tkst-$((4+5))")
        await wait_for(
            pilot,
            lambda: (
                view.snapshot is not None
                and any("tkst-9" in row_text(row) for row in view.snapshot.rows)
            ),
            "the background tab's status line redrawn",
            bound=LIVE,
        )
        assert not back.activity.marked
        assert "+" not in tabs.label(back)

        # Output of the pane is.
        await tabs.run_in(back, "echo out-$((2+3))")
        await wait_for(pilot, lambda: "+" in tabs.label(back), "the activity mark", bound=LIVE)
        status = front.query_one(StatusLine)
        await wait_for(
            pilot, lambda: "1 tab marked" in str(status.render()), "the count", bound=LIVE
        )

        await pilot.press(PREFIX, "a")
        await wait_for(pilot, lambda: tabs.app.tabs.active_session_pane is back, "prefix a")
        assert not back.activity.marked
        await wait_for(pilot, lambda: "+" not in tabs.label(back), "the mark cleared")
        assert "marked" not in str(back.query_one(StatusLine).render())

        # Nothing marked: prefix a says so and stays.
        await pilot.press(PREFIX, "a")
        assert tabs.app.tabs.active_session_pane is back
        assert tabs.app.messages[-1].startswith("No other tab has new output")
        assert tabs.notifications() == []  # output alone notifies nobody


async def test_a_background_bell_marks_and_notifies_once_the_front_bell_rings(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_tabs(store, monkeypatch) as tabs:  # notify: "bell", the default
        pilot, back, front = tabs.pilot, tabs.back, tabs.front
        await tabs.run_in(back, "printf 'x\\a'")
        await wait_for(pilot, lambda: Mark.BELL in back.activity.marks, "the bell", bound=LIVE)
        await wait_for(pilot, lambda: "!" in tabs.label(back), "the bell mark", bound=LIVE)
        await wait_for(pilot, tabs.notifications, "the notification", bound=LIVE)
        assert tabs.notifications() == ["\x1b]9;back: bell rang\x07"]
        assert "\x07" not in tabs.written  # a background bell does not ring

        # Rung again (a loop of bells, too) before anyone looked: still the one notification.
        await tabs.run_in(
            back, "for i in 1 2 3 4 5 6 7 8 9; do printf '\\a'; done; echo rung-$((5*5))"
        )
        emulator = back.session.session.emulator  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "rung-25" in emulator.text(), "the bells", bound=LIVE)
        await pilot.pause()
        assert len(tabs.notifications()) == 1

        await tabs.run_in(front, "printf 'y\\a'")
        await wait_for(pilot, lambda: "\x07" in tabs.written, "the front tab's bell", bound=LIVE)
        assert len(tabs.notifications()) == 1  # the tab in front rings, it does not notify
        assert not front.activity.marked


async def test_a_long_output_that_stops_is_done(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten seconds of output and five of silence, shrunk so the test runs quickly.
    monkeypatch.setattr(session_pane, "DONE_TIMES", DoneTimes(busy=1.0, quiet=0.5))
    async with two_tabs(store, monkeypatch, Settings(notify=Notify.ALL)) as tabs:
        pilot, back = tabs.pilot, tabs.back
        # A short output is not a finished run.
        await tabs.run_in(back, "echo short")
        await wait_for(pilot, lambda: back.activity.marked, "activity", bound=LIVE)
        await tabs.run_in(back, "for i in 1 2 3 4 5 6 7 8 9 10; do echo tick-$i; sleep 0.2; done")
        await wait_for(pilot, lambda: "✓" in tabs.label(back), "the done mark", bound=LIVE)
        # The mark and the notification are two messages: the label may change first.
        await wait_for(pilot, tabs.notifications, "the notification", bound=LIVE)
        assert tabs.notifications() == ["\x1b]9;back: output finished\x07"]


async def test_notify_off_in_the_profile_keeps_the_marks_and_sends_nothing(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_tabs(store, monkeypatch, Settings(notify=Notify.ALL), notify="off") as tabs:
        pilot, back = tabs.pilot, tabs.back
        await tabs.run_in(back, "printf 'z\\a'; echo rang-$((3*3))")
        emulator = back.session.session.emulator  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "rang-9" in emulator.text(), "the bell's command", bound=LIVE)
        await wait_for(pilot, lambda: "!" in tabs.label(back), "the bell mark", bound=LIVE)
        assert tabs.notifications() == []
        assert "\x07" not in tabs.written


@pytest.mark.parametrize("allowed", ["off", "on"])
async def test_inside_tmux_the_notification_is_wrapped_and_a_closed_passthrough_said_once(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch, allowed: str
) -> None:
    with outer_tmux() as outer:
        outer.allow_passthrough(allowed)
        for name, value in outer.environ.items():
            monkeypatch.setenv(name, value)
        async with two_tabs(store, monkeypatch) as tabs:
            pilot, back = tabs.pilot, tabs.back
            wrapped = "\x1bPtmux;\x1b\x1b]9;back: bell rang\x07\x1b\\"

            def sent() -> int:
                return tabs.written.count(wrapped)

            def said() -> int:
                return tabs.app.messages.count(PASSTHROUGH_OFF)

            async def ring(count: int) -> None:
                await tabs.run_in(back, f"printf 'b{count}\\a'")
                emulator = back.session.session.emulator  # type: ignore[attr-defined]

                def state() -> str:
                    return (
                        f"notification {count}: marks {set(back.activity.marks)}, shown "
                        f"{back.shown}, written {tabs.written!r}, screen {emulator.text()!r}"
                    )

                await wait_for(pilot, lambda: sent() >= count, state, bound=LIVE)
                assert sent() == count
                tabs.app.tabs.select(0)  # seen: the next bell marks the tab again
                await wait_for(pilot, lambda: back.shown and not back.activity.marked, "shown")
                tabs.app.tabs.select(1)
                await wait_for(pilot, lambda: not back.shown, "back in the background")

            await ring(1)
            await ring(2)
            assert tabs.notifications() == []  # never bare inside tmux
            if allowed == "off":
                await wait_for(pilot, lambda: said() == 1, "the passthrough notice", bound=LIVE)
            else:
                # The answer came: the question is asked once, and it is settled.
                notifier = tabs.app.desktop
                await wait_for(pilot, notifier.passthrough_checked, "the outer tmux's answer")
            assert said() == (1 if allowed == "off" else 0)
