"""Broadcast input on scripted sessions with real emulators and TerminalViews: the picker
(space, a, enter, escape), the tab marks and status lines, keys and pastes encoded per
receiving tab's own modes, what is never broadcast, the off key, and closing tabs."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, SelectionList

from termkeep.config.settings import Settings, settings_from_mapping
from termkeep.config.store import ProfileStore
from termkeep.session.tab import SessionTerminal
from termkeep.terminal.emulator import Emulator
from termkeep.ui.broadcast import SOURCE_GLYPH, TARGET_GLYPH
from termkeep.ui.screens.broadcast import BroadcastPickerScreen
from termkeep.ui.screens.dialogs import ConfirmScreen, TextInputScreen
from termkeep.ui.screens.scrollback import ScrollbackScreen
from termkeep.ui.session_api import SessionLike
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.session_tabs import SessionTabs
from termkeep.ui.widgets.status_line import StatusLine
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for
from tests.ui.test_scrollback_snapshot import FixedScrollback

SIZE = (100, 30)
HOSTS = ("web-1", "db-main", "web-2")
BRACKETED_PASTE_ON = b"\x1b[?2004h"
APPLICATION_CURSOR_KEYS_ON = b"\x1b[?1h"


def emulator_view(session: SessionLike) -> Widget:
    """A real TerminalView over a real emulator, typing into the scripted session."""
    emulator = Emulator(80, 20, write=lambda _reply: None)
    return TerminalView(SessionTerminal(emulator, send=session.write))


def broadcast_app(store: ProfileStore, settings: Settings | None = None) -> RecordingApp:
    return RecordingApp(store, settings=settings, terminal_factory=emulator_view)


async def open_tabs(pilot: Pilot[None], app: RecordingApp) -> list[SessionPane]:
    """web-1, db-main and web-2, in that order; web-2 (the last) is active."""
    panes = []
    for name in HOSTS:
        pane = await app.open_profile(name)
        assert pane is not None
        panes.append(pane)
    await pilot.pause()
    return panes


def label(app: RecordingApp, pane: SessionPane) -> str:
    tab_pane = pane.parent
    assert tab_pane is not None
    assert tab_pane.id is not None
    return str(app.query_one(SessionTabs).get_tab(tab_pane.id).label)


def status_text(pane: SessionPane) -> str:
    return pane.query_one(StatusLine).render().plain


def written(app: RecordingApp, name: str) -> bytes:
    return bytes(app.sessions[name].written)


def view_of(pane: SessionPane) -> TerminalView:
    return pane.query_one(TerminalView)


async def pick(pilot: Pilot[None], app: RecordingApp, *keys: str) -> None:
    """Open the picker on the active tab and press ``keys`` in it."""
    await pilot.press(PREFIX, "b")
    await wait_for(pilot, lambda: isinstance(app.screen, BroadcastPickerScreen), "the picker")
    await pilot.press(*keys)
    await wait_for(pilot, lambda: not isinstance(app.screen, BroadcastPickerScreen), "close")


async def test_the_picker_lists_the_other_tabs_and_space_checks_one(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, db_main, web_2 = await open_tabs(pilot, app)
        await pilot.press(PREFIX, "b")
        await wait_for(
            pilot, lambda: isinstance(app.screen, BroadcastPickerScreen), "the broadcast picker"
        )
        targets = app.screen.query_one(SelectionList)
        prompts = [str(targets.get_option_at_index(i).prompt) for i in range(2)]
        assert prompts == ["web-1", "db-main"]  # the others, in tab order; not web-2 itself
        await pilot.press("down", "space", "enter")  # db-main only
        await pilot.pause()
        assert app.broadcast.source is web_2
        assert app.broadcast.targets == [db_main]

        await pilot.press(*"uptime", "enter")
        assert written(app, "web-2") == b"uptime\r"
        assert written(app, "db-main") == b"uptime\r"
        assert written(app, "web-1") == b""
        assert web_1 is not app.broadcast.source


async def test_marks_and_status_lines_say_who_sends_and_who_receives(
    store: ProfileStore,
) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, db_main, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        assert app.broadcast.targets == [web_1, db_main]
        assert label(app, web_2) == f"● {SOURCE_GLYPH} web-2"
        assert label(app, web_1) == f"● {TARGET_GLYPH} web-1"
        assert label(app, db_main) == f"● {TARGET_GLYPH} db-main"
        assert status_text(web_2).startswith(
            f"● {SOURCE_GLYPH} broadcasting to 2 tabs (ctrl+\\ B stops) · alice@web-2"
        )
        assert web_2.query_one(StatusLine).has_class("-broadcast")
        assert "Broadcasting what is typed in web-2 to 2 tabs" in app.messages
        # A receiving tab's status line shows once its tab is shown.
        await pilot.press(PREFIX, "1")
        await wait_for(pilot, lambda: TARGET_GLYPH in status_text(web_1), "web-1's line")
        assert status_text(web_1).startswith(f"● {TARGET_GLYPH} receives what is typed in web-2")
        # Typing in a receiving tab goes to that tab alone.
        await pilot.press("x")
        assert (written(app, "web-1"), written(app, "web-2"), written(app, "db-main")) == (
            b"x",
            b"",
            b"",
        )


async def test_a_checks_all_then_none_and_enter_on_none_turns_it_off(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, _db_main, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "space", "enter")
        assert app.broadcast.targets == [web_1]
        # The picker opens with the receiving tabs checked.
        await pilot.press(PREFIX, "b")
        await wait_for(
            pilot, lambda: isinstance(app.screen, BroadcastPickerScreen), "the broadcast picker"
        )
        targets = app.screen.query_one(SelectionList)
        assert targets.selected == [web_1.id]
        await pilot.press("a")
        assert len(targets.selected) == 2
        await pilot.press("a")
        assert targets.selected == []
        await pilot.press("enter")
        await pilot.pause()
        assert not app.broadcast.on
        assert label(app, web_2) == "● web-2"
        assert label(app, web_1) == "● web-1"
        assert "Broadcast input is off" in app.messages


async def test_escape_leaves_broadcasting_as_it_was(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, _db_main, _web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "space", "enter")
        await pick(pilot, app, "a", "escape")
        assert app.broadcast.targets == [web_1]


async def test_one_tab_has_nothing_to_broadcast_to(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await app.open_profile("web-1")
        await pilot.press(PREFIX, "b")
        await pilot.pause()
        assert not isinstance(app.screen, BroadcastPickerScreen)
        assert "Broadcast input needs two tabs: open another one first" in app.messages


async def test_the_off_key_stops_it_in_one_key(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, db_main, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        await pilot.press(PREFIX, "B")
        await pilot.pause()
        assert not app.broadcast.on
        for pane in (web_1, db_main, web_2):
            assert SOURCE_GLYPH not in label(app, pane)
            assert TARGET_GLYPH not in label(app, pane)
        assert not web_2.query_one(StatusLine).has_class("-broadcast")
        assert SOURCE_GLYPH not in status_text(web_2)
        await pilot.press("z")
        assert (written(app, "web-2"), written(app, "web-1")) == (b"z", b"")
        await pilot.press(PREFIX, "B")
        assert app.messages[-1] == "Nothing is broadcast"


async def test_the_off_key_as_the_kitty_protocol_names_it(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        await pilot.press(PREFIX, "shift+b")
        await pilot.pause()
        assert not app.broadcast.on


async def test_a_remapped_off_key_is_the_one_the_status_line_names(store: ProfileStore) -> None:
    settings = settings_from_mapping({"keys": {"broadcast.off": "o"}}, Path("settings.toml"))
    app = broadcast_app(store, settings)
    async with app.run_test(size=SIZE) as pilot:
        *_, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        assert "(ctrl+\\ o stops)" in status_text(web_2)
        await pilot.press(PREFIX, "o")
        assert not app.broadcast.on


async def test_an_unbound_off_key_points_to_the_palette(store: ProfileStore) -> None:
    settings = settings_from_mapping({"keys": {"broadcast.off": ""}}, Path("settings.toml"))
    app = broadcast_app(store, settings)
    async with app.run_test(size=(140, 30)) as pilot:
        *_, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        assert "(the palette's Broadcast input off stops)" in status_text(web_2)
        await app.run_keymap_action("broadcast.off")  # what the palette runs
        assert not app.broadcast.on


async def test_keys_are_encoded_for_each_receiving_tabs_modes(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, _db_main, _web_2 = await open_tabs(pilot, app)
        # web-1's remote runs a full-screen program: application cursor keys.
        view_of(web_1).port.feed(APPLICATION_CURSOR_KEYS_ON)
        await pick(pilot, app, "a", "enter")
        await pilot.press("up", "left", "ctrl+c", "tab")
        assert written(app, "web-2") == b"\x1b[A\x1b[D\x03\t"
        assert written(app, "db-main") == b"\x1b[A\x1b[D\x03\t"
        assert written(app, "web-1") == b"\x1bOA\x1bOD\x03\t"


async def test_a_paste_is_bracketed_only_where_that_remote_asked(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, _db_main, web_2 = await open_tabs(pilot, app)
        view_of(web_1).port.feed(BRACKETED_PASTE_ON)
        await pick(pilot, app, "a", "enter")
        view_of(web_2).post_message(events.Paste("echo one\necho two"))
        await wait_for(pilot, lambda: written(app, "web-1"), "the paste")
        # Unbracketed, a newline goes as enter would (CR); bracketed, the text is kept as is.
        assert written(app, "web-2") == b"echo one\recho two"
        assert written(app, "db-main") == b"echo one\recho two"
        assert written(app, "web-1") == b"\x1b[200~echo one\necho two\x1b[201~"


async def test_the_prefix_app_keys_and_local_scrollback_keys_are_never_broadcast(
    store: ProfileStore,
) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, *_ = await open_tabs(pilot, app)
        await pick(pilot, app, "space", "enter")
        await pilot.press(PREFIX, PREFIX)  # twice: the prefix itself goes to this remote
        assert written(app, "web-2") == b"\x1c"
        await pilot.press("shift+pageup", "shift+pagedown")  # local scrollback
        await pilot.press(PREFIX, "question_mark", "escape")  # an app action and its dialog
        await pilot.press(PREFIX, "escape")
        await pilot.press("k")
        assert written(app, "web-2") == b"\x1ck"
        assert written(app, "web-1") == b"k"
        assert app.broadcast.targets == [web_1]


async def test_the_history_view_is_never_broadcast(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        *_, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        await app.push_screen(ScrollbackScreen(FixedScrollback(), view_of(web_2), "web-2"))
        await pilot.pause()
        # Moving, searching, then a key that leaves the view and goes to this tab's remote.
        await pilot.press("up", "k", "slash", *"colour", "enter")
        assert isinstance(app.screen, ScrollbackScreen)
        await pilot.press("x")
        await wait_for(pilot, lambda: not isinstance(app.screen, ScrollbackScreen), "leaving")
        assert written(app, "web-2") == b"x"
        assert (written(app, "web-1"), written(app, "db-main")) == (b"", b"")
        await pilot.press("y")  # typing in the terminal again is broadcast again
        assert (written(app, "web-1"), written(app, "db-main")) == (b"y", b"y")


async def test_closing_receiving_tabs_takes_them_out_then_ends_it(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, db_main, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        await app._close_pane(db_main)
        await pilot.pause()
        assert app.broadcast.targets == [web_1]
        assert "broadcasting to 1 tab (" in status_text(web_2)
        await pilot.press("q")
        assert written(app, "web-1") == b"q"

        await pilot.press(PREFIX, "1", PREFIX, "x")  # close web-1 the user's way
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: web_1 not in app.tabs.panes, "web-1 to close")
        assert not app.broadcast.on
        assert "Broadcast input is off: no receiving tab is left" in app.messages
        assert label(app, web_2) == "● web-2"


async def test_closing_the_source_ends_it(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, db_main, web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        await app._close_pane(web_2)
        await pilot.pause()
        assert not app.broadcast.on
        assert "Broadcast input is off: its source tab closed" in app.messages
        assert label(app, web_1) == "● web-1"
        assert label(app, db_main) == "● db-main"
        assert view_of(web_1).on_typed is None


async def test_receiving_tabs_name_the_source_by_its_current_label(store: ProfileStore) -> None:
    app = broadcast_app(store)
    async with app.run_test(size=SIZE) as pilot:
        web_1, _db_main, _web_2 = await open_tabs(pilot, app)
        await pick(pilot, app, "a", "enter")
        app.sessions["web-2"].set(title="build-box")  # the source's remote sets a title
        await pilot.press(PREFIX, "1")
        await wait_for(
            pilot,
            lambda: "receives what is typed in build-box" in status_text(web_1),
            "the receiver's line after the title change",
        )
        await pilot.press(PREFIX, "3", PREFIX, "comma")
        await wait_for(pilot, lambda: isinstance(app.screen, TextInputScreen), "the rename")
        app.screen.query_one(Input).value = "deploy"
        await pilot.press("enter", PREFIX, "1")
        await wait_for(
            pilot,
            lambda: "receives what is typed in deploy" in status_text(web_1),
            "the receiver's line after the rename",
        )
