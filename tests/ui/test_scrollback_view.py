"""The scrollback view in the app, on a real sshd and tmux: open it, search, select, copy (the
OSC 52 the app writes to the outer terminal is checked), leave; and over the local scrollback
for a tab without tmux."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from termkeep.config.profile import TmuxSettings
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.ui.live_session import LiveSession
from termkeep.ui.screens.dialogs import HelpScreen
from termkeep.ui.screens.scrollback import ScrollbackScreen
from termkeep.ui.screens.scrollback_keys import HISTORY_KEYS
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.integration.test_away import LINES, PRINTER, last_number_above_cursor, pane_text
from tests.integration.test_reconnect import reconnect_profile
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for
from tests.ui.test_terminal_view import scroll_up

OSC52 = "\x1b]52;c;"


@pytest.fixture
def long_history(sshd: SshServer) -> SshServer:
    sshd.tmux("new-session", "-d", "-s", "holder", check=True)
    sshd.tmux("set-option", "-g", "history-limit", "20000", check=True)
    return sshd


def clipboard_writes(app: RecordingApp) -> list[str]:
    """Record what the app writes to the outer terminal; return the OSC 52 payloads."""
    driver = app._driver
    assert driver is not None
    payloads: list[str] = []
    write = driver.write

    def recording_write(data: str) -> None:
        if data.startswith(OSC52):
            payloads.append(base64.b64decode(data[len(OSC52) :].rstrip("\a")).decode())
        write(data)

    driver.write = recording_write  # type: ignore[method-assign]
    return payloads


async def attached_pane(app: RecordingApp, pilot: Pilot[None], name: str) -> SessionPane:
    pane = await app.open_profile(name)
    assert pane is not None
    await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
    return pane


async def test_search_select_and_copy_5000_remote_lines(
    store: ProfileStore, long_history: SshServer
) -> None:
    store.save(profile_for(long_history, name="hist", tmux_session="tk-hist"))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        payloads = clipboard_writes(app)
        pane = await attached_pane(app, pilot, "hist")
        assert isinstance(pane.session, LiveSession)
        emulator = pane.session.session.emulator
        await pilot.press(*"seq -f 'n%g' 1 5000", "enter")
        await wait_for(pilot, lambda: "n5000" in emulator.text(), "the output", bound=LIVE)

        await pilot.press(PREFIX, "left_square_bracket")
        screen = app.screen
        assert isinstance(screen, ScrollbackScreen)
        await wait_for(pilot, lambda: screen.loaded, "the first page", bound=LIVE)
        assert screen.source.remote
        assert "remote tmux history" in screen.position_text()

        # Scrolling up towards the top of the first page fetches the next older page.
        view = screen.lines_widget
        first_page = len(view.lines)
        assert screen.source.more_above
        for _ in range(first_page // view.page + 1):
            await pilot.press("pageup")
        await wait_for(pilot, lambda: len(view.lines) > first_page, "an older page", bound=LIVE)
        await pilot.press("G")

        await pilot.press("question_mark", *"n1234", "enter")
        view = screen.lines_widget
        await wait_for(
            pilot, lambda: view.lines[view.cursor].text == "n1234", "the match", bound=LIVE
        )
        # The server answered: the view jumped to the rows around the match, and the rows
        # between it and the screen come as it scrolls down.
        assert screen.source.more_below
        await pilot.press("n")  # the next match going back: none other, it wraps to itself
        await wait_for(pilot, lambda: view.lines[view.cursor].text == "n1234", "wrap", bound=LIVE)
        await wait_for(pilot, lambda: not screen.fetching, "the rows above", bound=LIVE)
        numbered = [line.text for line in view.lines if line.text[:1] == "n"]
        numbered = [text for text in numbered if text[1:].isdigit()]
        # Around the match (and the rows above it, fetched as the view neared its top):
        # each row once, in order (the rows below, page by page: test_scrollback).
        first = int(numbered[0][1:])
        assert numbered == [f"n{n}" for n in range(first, first + len(numbered))]
        assert "n1234" in numbered

        await pilot.press("v", "y")
        assert payloads == ["n1234"]

        await pilot.press("q")
        assert not isinstance(app.screen, ScrollbackScreen)
        assert app.focused is pane.query_one(TerminalView)


async def test_typing_leaves_the_view_and_goes_to_the_remote(
    store: ProfileStore, sshd: SshServer
) -> None:
    store.save(profile_for(sshd, name="hist", tmux_session="tk-hist-type"))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await attached_pane(app, pilot, "hist")
        assert isinstance(pane.session, LiveSession)
        emulator = pane.session.session.emulator
        await pilot.press("shift+pageup")
        screen = app.screen
        assert isinstance(screen, ScrollbackScreen)
        await wait_for(pilot, lambda: screen.loaded, "the first page", bound=LIVE)
        await pilot.press("e")  # not a view key: leaves, and the 'e' reaches the shell
        assert not isinstance(app.screen, ScrollbackScreen)
        await pilot.press(*"cho typed-$((2*21))", "enter")
        await wait_for(pilot, lambda: "typed-42" in emulator.text(), "the output", bound=LIVE)


async def test_a_tab_without_tmux_gets_its_own_scrollback(
    store: ProfileStore, sshd: SshServer
) -> None:
    profile = profile_for(sshd, name="plain")
    store.save(replace(profile, tmux=TmuxSettings(enabled=False)))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        payloads = clipboard_writes(app)
        pane = await attached_pane(app, pilot, "plain")
        assert isinstance(pane.session, LiveSession)
        emulator = pane.session.session.emulator
        await pilot.press(*"seq -f 'p%g' 1 200", "enter")
        await wait_for(pilot, lambda: "p200" in emulator.text(), "the output", bound=LIVE)
        await pilot.press(PREFIX, "left_square_bracket")
        screen = app.screen
        assert isinstance(screen, ScrollbackScreen)
        await wait_for(pilot, lambda: screen.loaded, "the lines", bound=LIVE)
        assert not screen.source.remote
        assert "termkeep scrollback" in screen.position_text()
        await pilot.press("slash", *"P17", "enter")  # a capital: exact case, no match
        view = screen.lines_widget
        assert view.lines[view.cursor].text != "p17"
        await pilot.press("slash", *"p17", "enter")
        assert view.lines[view.cursor].text == "p17"
        # Drag across "p17" with the mouse: copied when the button is let go.
        row = view.cursor - view.top
        await pilot.mouse_down(view, offset=(0, row))
        await pilot.hover(view, offset=(2, row))
        await pilot.mouse_up(view, offset=(3, row))
        await wait_for(pilot, lambda: payloads == ["p17"], "the copy", bound=LIVE)
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("escape")
        assert not isinstance(app.screen, ScrollbackScreen)


async def loaded_view(app: RecordingApp, pilot: Pilot[None]) -> ScrollbackScreen:
    """The scrollback view once it is open and its first page drawn."""
    await wait_for(pilot, lambda: isinstance(app.screen, ScrollbackScreen), "the view", bound=LIVE)
    screen = app.screen
    assert isinstance(screen, ScrollbackScreen)
    await wait_for(pilot, lambda: screen.loaded, "the first page", bound=LIVE)
    return screen


async def test_the_view_opens_a_page_up_follows_the_pane_and_pages_back_to_live(
    store: ProfileStore, long_history: SshServer
) -> None:
    store.save(profile_for(long_history, name="hist", tmux_session="tk-hist-live"))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await attached_pane(app, pilot, "hist")
        live = pane.session
        assert isinstance(live, LiveSession)
        emulator = live.session.emulator
        await pilot.press(*"seq -f 'n%g' 1 500", "enter")
        await wait_for(pilot, lambda: "n500" in emulator.text(), "the output", bound=LIVE)

        # shift+PageUp: the first picture is already a page up (drawn from the first fetch).
        await pilot.press("shift+pageup")
        screen = await loaded_view(app, pilot)
        view = screen.lines_widget
        assert view.top == len(view.lines) - 2 * view.page
        await pilot.press("pagedown")  # a whole page: at the bottom
        assert view.at_bottom
        # At the bottom the view follows the pane: output typed in the tab shows up here.
        live.write(b"echo live-$((6*7))\r")
        await wait_for(
            pilot, lambda: any(line.text == "live-42" for line in view.lines), "live", bound=LIVE
        )
        assert view.at_bottom
        # Scrolled up it keeps its place and counts the new lines below.
        await pilot.press("pageup")
        place = [line.text for line in view.lines[view.top : view.top + view.page]]
        live.write(b"seq -f 'm%g' 1 5\r")
        await wait_for(pilot, lambda: screen.new_below >= 5, "the count", bound=LIVE)
        assert [line.text for line in view.lines[view.top : view.top + view.page]] == place
        assert f"{screen.new_below:,} new below" in screen.position_text()
        texts = [line.text for line in view.lines]
        numbered = [t for t in texts if t.startswith("n")]
        first = int(numbered[0][1:])
        assert numbered == [f"n{n}" for n in range(first, 501)]  # followed: none twice
        # shift+PageDown at the bottom returns to the live screen.
        await pilot.press("pagedown", "pagedown")
        assert view.at_bottom
        await pilot.press("shift+pagedown")
        assert not isinstance(app.screen, ScrollbackScreen)

        # The first wheel tick opens the view three lines up.
        terminal = pane.query_one(TerminalView)
        terminal.post_message(scroll_up(terminal))
        view = (await loaded_view(app, pilot)).lines_widget
        assert view.top == len(view.lines) - view.page - 3
        await pilot.press("escape")
        assert not isinstance(app.screen, ScrollbackScreen)

        # Over a full-screen program in the pane (less, no mouse) the tick goes to it as
        # three arrows, as in any terminal: less shows three lines further up.
        def pane_says(format_: str) -> str:
            shown = long_history.tmux("display-message", "-p", "-t", "tk-hist-live", format_)
            return shown.stdout.strip()

        def last_row_shown() -> int:
            rows = [line for line in emulator.text().splitlines() if line.startswith("p")]
            return int(rows[-1][1:]) if rows and rows[-1][1:].isdigit() else 0

        await pilot.press(*"seq -f 'p%g' 1 200 | less +G", "enter")
        await wait_for(pilot, lambda: last_row_shown() == 200, "less at the end", bound=LIVE)
        await wait_for(pilot, lambda: pane_says("#{alternate_on}") == "1", "less", bound=LIVE)
        terminal.post_message(scroll_up(terminal))
        await wait_for(pilot, lambda: last_row_shown() == 197, "less scrolled", bound=LIVE)
        assert not isinstance(app.screen, ScrollbackScreen)
        await pilot.press("q")
        await wait_for(pilot, lambda: pane_says("#{alternate_on}") == "0", "less gone", bound=LIVE)

        # With tmux's mouse on, the remote tracks the mouse: the wheel goes to it (tmux's
        # own copy mode opens), not to the view (issue 21 item 9).
        long_history.tmux("set-option", "-t", "tk-hist-live", "mouse", "on", check=True)
        await wait_for(pilot, lambda: live.terminal.mouse_tracking.value, "tracking", bound=LIVE)
        terminal.post_message(scroll_up(terminal))

        await wait_for(
            pilot, lambda: pane_says("#{pane_in_mode}") == "1", "tmux's copy mode", bound=LIVE
        )
        assert not isinstance(app.screen, ScrollbackScreen)


async def test_a_new_session_keeps_5000_lines_and_the_view_finds_line_42(
    store: ProfileStore, sshd: SshServer
) -> None:
    # A server with tmux's own default limit (2,000 lines): the session termkeep creates
    # keeps scrollback_lines (10,000 by default), its first pane included (issue 21 item 5).
    store.save(profile_for(sshd, name="kept", tmux_session="tk-kept"))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await attached_pane(app, pilot, "kept")
        live = pane.session
        assert isinstance(live, LiveSession)
        emulator = live.session.emulator
        await pilot.press(*"seq -f 'line %g.' 1 5000", "enter")
        await wait_for(pilot, lambda: "line 5000." in emulator.text(), "the output", bound=LIVE)
        await pilot.press(PREFIX, "left_square_bracket")
        screen = await loaded_view(app, pilot)
        assert screen.source.limit_note is None  # nothing to say: it keeps what was asked
        await pilot.press("question_mark", *"line 42.", "enter")
        view = screen.lines_widget
        await wait_for(
            pilot, lambda: view.lines[view.cursor].text == "line 42.", "line 42", bound=LIVE
        )


async def test_a_session_made_before_keeps_its_limit_and_the_view_says_so(
    store: ProfileStore, sshd: SshServer
) -> None:
    # Made outside termkeep with tmux's default: it keeps its 2,000 lines (tmux cannot
    # resize a pane's history), and the view says what new termkeep sessions would keep.
    sshd.tmux("new-session", "-d", "-s", "tk-old", check=True)
    store.save(profile_for(sshd, name="old", tmux_session="tk-old"))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(160, 30)) as pilot:
        await attached_pane(app, pilot, "old")
        await pilot.press(PREFIX, "left_square_bracket")
        screen = await loaded_view(app, pilot)
        note = "the server keeps 2,000 lines; new termkeep sessions keep 10,000"
        assert note in screen.position_text()
        position = screen.query_one("#history-position", Static)
        assert note in str(position.content)


async def test_the_help_and_the_readme_list_the_view_s_keys(store: ProfileStore) -> None:
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.press(PREFIX, "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = str(app.screen.query_one("#help-text", Static).render())
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "In the scrollback view" in text
    for key, meaning in HISTORY_KEYS:
        assert key in text
        assert f"| {key} | {meaning} |" in readme


async def test_the_ruler_marks_the_first_line_printed_during_an_outage_and_a_jumps_to_it(
    store: ProfileStore, netns_sshd: NetnsSshServer, tmp_path: Path
) -> None:
    # seq's numbers one every 0.1 s (tests/integration/test_away.py), most of them printed
    # while a blackhole keeps them from the tab; then the reattach says how many.
    printer = tmp_path / "printer.pl"
    printer.write_text(PRINTER.removeprefix("perl -e '").removesuffix("'") + "\n")
    printer.chmod(0o644)
    tmp_path.chmod(0o755)
    store.save(reconnect_profile(netns_sshd))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=(100, 30)) as pilot:
        payloads = clipboard_writes(app)
        pane = await attached_pane(app, pilot, "reconnect-test")
        assert isinstance(pane.session, LiveSession)
        session = pane.session.session
        await pilot.press(*f"clear; perl {printer}", "enter")
        await wait_for(pilot, lambda: "n30" in session.emulator.text(), "n30", bound=LIVE)
        with netns_sshd.blackhole():
            await wait_for(
                pilot, lambda: pane.status.state is Phase.RECONNECTING, "the drop", bound=LIVE
            )
            seen = last_number_above_cursor(session)
            await wait_for(pilot, lambda: "end-42" in pane_text(netns_sshd), "the end", bound=LIVE)
        await wait_for(pilot, lambda: session.away_mark() is not None, "the away mark", bound=LIVE)
        mark = session.away_mark()
        assert mark is not None
        assert f": {LINES - seen + 1} lines printed" in mark.text, mark.text

        await pilot.press(PREFIX, "left_square_bracket")
        screen = app.screen
        assert isinstance(screen, ScrollbackScreen)
        await wait_for(pilot, lambda: screen.loaded, "the first page", bound=LIVE)
        view = screen.lines_widget
        await wait_for(pilot, lambda: view.ruler is not None, "the ruler", bound=LIVE)
        ruler = view.ruler
        assert ruler is not None
        assert ruler.text == mark.text
        # Exactly above the first line printed during the outage.
        assert view.lines[ruler.index - 1].text == f"n{seen}"
        assert view.lines[ruler.index].text == f"n{seen + 1}"
        # It is drawn, not held: no line of the history is the ruler.
        assert not any("while you were away" in line.text for line in view.lines)

        await pilot.press("a")
        await pilot.pause()
        assert view.cursor == ruler.index
        rows = [view.render_line(y).text for y in range(view.size.height)]
        at = next(y for y, row in enumerate(rows) if row.startswith("── while you were away"))
        assert rows[at].rstrip().endswith("─")
        assert rows[at - 1].rstrip() == f"n{seen}"
        assert rows[at + 1].rstrip() == f"n{seen + 1}"
        assert mark.text in rows[at]
        # Copying across it copies history lines only.
        await pilot.press("up", "v", "down", "y")
        await wait_for(pilot, lambda: bool(payloads), "the copy", bound=LIVE)
        assert payloads[-1] == f"n{seen}\nn{seen + 1}"
