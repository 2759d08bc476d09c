"""The clipboard both ways, in the app with real emulators and TerminalViews over scripted
sessions (issue 19): a background tab's OSC 52 write asks once per tab and every write is
announced on the status line; a paste that would run several lines asks first."""

from __future__ import annotations

import base64

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widget import Widget

from termkeep.config.profile import Profile
from termkeep.config.settings import PasteConfirm, Settings, settings_from_mapping
from termkeep.config.store import ProfileStore
from termkeep.session.tab import SessionTerminal
from termkeep.terminal.emulator import Emulator
from termkeep.ui.live_session import paste_confirm, terminal_view
from termkeep.ui.screens.clipboard import ClipboardWriteScreen, PasteConfirmScreen
from termkeep.ui.session_api import SessionLike
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.status_line import StatusLine
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import wait_for

SIZE = (100, 30)
BRACKETED_PASTE_ON = b"\x1b[?2004h"
SEVERAL_LINES = "cd /tmp\nrm -rf ~/important\n"


def osc52(text: str) -> bytes:
    """What a remote program writes to set the clipboard to ``text``."""
    return b"\x1b]52;c;" + base64.b64encode(text.encode()) + b"\x07"


def clipboard_app(store: ProfileStore, settings: Settings | None = None) -> RecordingApp:
    """The app, each tab a real TerminalView made as the live factory makes it, from the
    app's settings."""
    chosen = settings or Settings()

    def build(session: SessionLike) -> Widget:
        emulator = Emulator(80, 20, write=lambda _reply: None)
        return terminal_view(SessionTerminal(emulator, send=session.write), chosen, None)

    return RecordingApp(store, settings=chosen, terminal_factory=build)


async def two_tabs(pilot: Pilot[None], app: RecordingApp) -> tuple[SessionPane, SessionPane]:
    """web-1 in the background, db-main on screen."""
    background = await app.open_profile("web-1")
    shown = await app.open_profile("db-main")
    assert background is not None
    assert shown is not None
    await pilot.pause()
    return background, shown


def view_of(pane: SessionPane) -> TerminalView:
    view = pane.body
    assert isinstance(view, TerminalView)
    return view


def status_text(pane: SessionPane) -> str:
    return pane.query_one(StatusLine).render().plain


async def choose_yes(pilot: Pilot[None], app: RecordingApp) -> None:
    """Answer the question on screen with its first button, from the keyboard: tab away
    from the focused safe answer, then enter."""
    await pilot.press("tab")
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "yes", "yes")
    await pilot.press("enter")


def written(app: RecordingApp, name: str) -> bytes:
    return bytes(app.sessions[name].written)


async def test_a_background_tab_asks_once_and_allowed_it_writes_from_then_on(
    store: ProfileStore,
) -> None:
    app = clipboard_app(store)
    async with app.run_test(size=SIZE) as pilot:
        background, shown = await two_tabs(pilot, app)
        assert not view_of(background).shown
        assert view_of(shown).shown
        view_of(background).port.feed(osc52("first"))
        await wait_for(pilot, lambda: isinstance(app.screen, ClipboardWriteScreen), "the question")
        question = app.screen
        assert isinstance(question, ClipboardWriteScreen)
        assert "web-1" in question.question
        view_of(background).port.feed(osc52("latest"))  # while asked: no second question
        await pilot.press("y")  # typed for the remote: a one-letter answer allows nothing
        await pilot.pause()
        assert app.screen is question
        assert app.clipboard == ""
        await choose_yes(pilot, app)
        await wait_for(pilot, lambda: app.clipboard == "latest", "the allowed write")
        assert not isinstance(app.screen, ClipboardWriteScreen)
        await wait_for(pilot, lambda: "clipboard set by web-1" in status_text(shown), "news")
        assert status_text(shown).startswith("● clipboard set by web-1 (6 characters) · ")
        view_of(background).port.feed(osc52("again"))  # the answer holds for the tab
        await wait_for(pilot, lambda: app.clipboard == "again", "the next write")
        assert not isinstance(app.screen, ClipboardWriteScreen)
        await wait_for(pilot, lambda: "(5 characters)" in status_text(shown), "the news")
        assert "clipboard set by web-1 (5 characters)" in status_text(shown)


async def test_a_denied_background_tab_stays_denied_and_the_tab_on_screen_writes(
    store: ProfileStore,
) -> None:
    app = clipboard_app(store)
    async with app.run_test(size=SIZE) as pilot:
        background, shown = await two_tabs(pilot, app)
        view_of(background).port.feed(osc52("stolen focus"))
        await wait_for(pilot, lambda: isinstance(app.screen, ClipboardWriteScreen), "the question")
        await pilot.press("enter")  # an Enter typed on lands on the focused Deny
        await wait_for(pilot, lambda: not isinstance(app.screen, ClipboardWriteScreen), "deny")
        view_of(background).port.feed(osc52("again"))
        await pilot.pause()
        assert not isinstance(app.screen, ClipboardWriteScreen)  # asked once only
        assert app.clipboard == ""
        assert "clipboard" not in status_text(shown)
        view_of(shown).port.feed(osc52("mine"))  # the tab on screen: no question, announced
        await wait_for(pilot, lambda: app.clipboard == "mine", "the write on screen")
        await wait_for(pilot, lambda: "clipboard set" in status_text(shown), "the news")
        assert "clipboard set (4 characters)" in status_text(shown)
        assert "by" not in status_text(shown)


@pytest.mark.parametrize(("rule", "result"), [("allow", "copied"), ("deny", "")])
async def test_background_writes_follow_allow_and_deny_without_a_question(
    store: ProfileStore, rule: str, result: str
) -> None:
    settings = settings_from_mapping({"clipboard_write_background": rule}, store.directory)
    app = clipboard_app(store, settings)
    async with app.run_test(size=SIZE) as pilot:
        background, shown = await two_tabs(pilot, app)
        view_of(background).port.feed(osc52("copied"))
        news = "clipboard set by web-1 (6 characters)"
        if result:
            await wait_for(pilot, lambda: news in status_text(shown), "the news")
        else:
            await pilot.pause()
            assert news not in status_text(shown)
        assert not isinstance(app.screen, ClipboardWriteScreen)
        assert app.clipboard == result


async def test_clipboard_write_deny_keeps_every_tab_out(store: ProfileStore) -> None:
    settings = settings_from_mapping({"clipboard_write": "deny"}, store.directory)
    app = clipboard_app(store, settings)
    async with app.run_test(size=SIZE) as pilot:
        background, shown = await two_tabs(pilot, app)
        view_of(background).port.feed(osc52("one"))
        view_of(shown).port.feed(osc52("two"))
        await pilot.pause()
        assert not isinstance(app.screen, ClipboardWriteScreen)
        assert app.clipboard == ""


async def test_a_paste_of_several_lines_asks_first_without_bracketed_paste(
    store: ProfileStore,
) -> None:
    app = clipboard_app(store)
    async with app.run_test(size=SIZE) as pilot:
        _background, shown = await two_tabs(pilot, app)
        view = view_of(shown)
        view.post_message(events.Paste(SEVERAL_LINES))
        await wait_for(pilot, lambda: isinstance(app.screen, PasteConfirmScreen), "the question")
        question = app.screen
        assert isinstance(question, PasteConfirmScreen)
        assert question.question == "Paste 2 lines into db-main?"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PasteConfirmScreen), "cancel")
        assert written(app, "db-main") == b""
        view.post_message(events.Paste(SEVERAL_LINES))
        await wait_for(pilot, lambda: isinstance(app.screen, PasteConfirmScreen), "asked again")
        await choose_yes(pilot, app)
        await wait_for(pilot, lambda: written(app, "db-main") != b"", "the paste")
        assert written(app, "db-main") == b"cd /tmp\rrm -rf ~/important\r"


async def test_one_line_or_bracketed_paste_goes_at_once(store: ProfileStore) -> None:
    app = clipboard_app(store)
    async with app.run_test(size=SIZE) as pilot:
        _background, shown = await two_tabs(pilot, app)
        view = view_of(shown)
        view.post_message(events.Paste("echo one line"))
        await wait_for(pilot, lambda: written(app, "db-main") != b"", "the one-line paste")
        assert written(app, "db-main") == b"echo one line"
        view.port.feed(BRACKETED_PASTE_ON)  # the shell marks pastes: it will not run them
        view.post_message(events.Paste(SEVERAL_LINES))
        expected = b"echo one line\x1b[200~" + SEVERAL_LINES.encode() + b"\x1b[201~"
        await wait_for(pilot, lambda: written(app, "db-main") == expected, "the marked paste")
        assert not isinstance(app.screen, PasteConfirmScreen)


async def test_paste_confirm_never_sends_several_lines_at_once(store: ProfileStore) -> None:
    settings = settings_from_mapping({"paste_confirm": "never"}, store.directory)
    app = clipboard_app(store, settings)
    async with app.run_test(size=SIZE) as pilot:
        _background, shown = await two_tabs(pilot, app)
        view_of(shown).post_message(events.Paste(SEVERAL_LINES))
        await wait_for(pilot, lambda: written(app, "db-main") != b"", "the paste")
        assert not isinstance(app.screen, PasteConfirmScreen)


def test_a_profiles_paste_confirm_wins_over_the_setting() -> None:
    asking = Settings()
    quiet = Profile(name="quiet", host="192.0.2.1", paste_confirm="never")
    plain = Profile(name="plain", host="192.0.2.2")
    assert paste_confirm(quiet, asking) is PasteConfirm.NEVER
    assert paste_confirm(plain, asking) is PasteConfirm.MULTILINE
    never = Settings(paste_confirm=PasteConfirm.NEVER)
    careful = Profile(name="careful", host="192.0.2.3", paste_confirm="multiline")
    assert paste_confirm(careful, never) is PasteConfirm.MULTILINE
    assert paste_confirm(None, never) is PasteConfirm.NEVER
