"""Pilot tests of the app's flows: prefix keys, tabs, picker, questions, themes, status."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from termkeep.config.settings import Settings, settings_from_mapping
from termkeep.config.store import ProfileStore
from termkeep.config.themes import load_themes
from termkeep.supervisor.phase import Phase
from termkeep.ui.screens.dialogs import ConfirmScreen, HelpScreen, PickerScreen
from termkeep.ui.session_api import SessionLike
from termkeep.ui.widgets.session_tabs import SessionTabs
from termkeep.ui.widgets.status_line import StatusLine
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for
from tests.ui.plain_terminal import PlainTerminal

SIZE = (100, 30)


class KeyRecordingTerminal(PlainTerminal):
    """The stand-in terminal that also keeps the key names it received."""

    received: list[str]

    def __init__(self, session: SessionLike) -> None:
        super().__init__(session)
        self.received = []

    def on_key(self, event: events.Key) -> None:
        self.received.append(event.key)
        super().on_key(event)


async def open_tab(pilot: Pilot[None], app: RecordingApp, name: str) -> None:
    await app.open_profile(name)
    await wait_for(pilot, lambda: name in app.sessions, "the session to open")


def label_of(app: RecordingApp, index: int) -> str:
    tabs = app.query_one(SessionTabs)
    tab_pane = tabs.panes[index].parent
    assert tab_pane is not None
    assert tab_pane.id is not None
    return str(tabs.get_tab(tab_pane.id).label)


async def test_keys_go_to_the_terminal_and_prefix_twice_sends_the_prefix(
    store: ProfileStore,
) -> None:
    app = RecordingApp(store, terminal_factory=KeyRecordingTerminal)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        # Keys Textual would otherwise act on (quit, palette, focus, copy) reach the remote.
        keys = ["l", "s", "enter", "ctrl+b", "tab", "ctrl+q", "ctrl+p", "ctrl+c", "escape"]
        await pilot.press(*keys)
        terminal = app.query_one(KeyRecordingTerminal)
        # Pilot gives enter and ctrl+ keys no character; the real TerminalView encodes them.
        assert bytes(app.sessions["web-1"].written) == b"ls\t\x1b"
        assert terminal.received == keys
        assert app.is_running
        assert app.focused is terminal
        await pilot.press(PREFIX)
        assert app.router.armed
        assert terminal.received[-1] == "escape"  # the first prefix stays with the app
        await pilot.press(PREFIX)
        assert not app.router.armed
        assert terminal.received[-1] == PREFIX


async def test_prefix_then_key_runs_the_action(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(PREFIX)
        hint = app.query_one("#prefix-hint", Static)
        assert hint.has_class("-armed")
        await pilot.press("c")
        assert isinstance(app.screen, PickerScreen)
        assert not hint.has_class("-armed")


async def test_unbound_key_after_prefix_is_swallowed_with_a_hint(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await pilot.press(PREFIX, "z")
        assert app.sessions["web-1"].written == b""
        assert any("z does nothing after the prefix" in m for m in app.messages)
        assert not app.router.armed


async def test_escape_cancels_the_prefix(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await pilot.press(PREFIX, "escape", "c")
        assert not isinstance(app.screen, PickerScreen)
        assert app.sessions["web-1"].written == b"c"


async def test_prefix_times_out(store: ProfileStore) -> None:
    settings = settings_from_mapping({"prefix_timeout": 0.05}, Path("settings.toml"))
    app = RecordingApp(store, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await pilot.press(PREFIX)
        await wait_for(pilot, lambda: not app.router.armed, "the prefix to disarm")
        assert not app.query_one("#prefix-hint").has_class("-armed")
        await pilot.press("c")  # after the timeout, "c" is typing again, not "new tab"
        assert app.sessions["web-1"].written == b"c"
        assert not isinstance(app.screen, PickerScreen)


async def test_remapped_keys_from_settings(store: ProfileStore) -> None:
    settings = settings_from_mapping(
        {"prefix": "ctrl+right_square_bracket", "keys": {"tab": {"new": "o"}}},
        Path("settings.toml"),
    )
    app = RecordingApp(store, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(PREFIX)
        assert not app.router.armed  # the old prefix is an ordinary key now
        await pilot.press("ctrl+right_square_bracket", "c")
        assert not isinstance(app.screen, PickerScreen)
        assert any("c does nothing" in m for m in app.messages)
        await pilot.press("ctrl+right_square_bracket", "o")
        assert isinstance(app.screen, PickerScreen)


async def test_picker_filters_and_opens_the_chosen_profile(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(PREFIX, "c")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert picker.shown == ["db-main", "web-1", "web-2"]
        await pilot.press("w", "2")
        assert picker.shown == ["web-2"]
        await pilot.press("backspace", "backspace", "d", "m")
        assert picker.shown == ["db-main"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: "db-main" in app.sessions, "the db-main session")
        assert "db-main" in label_of(app, 0)
        assert isinstance(app.focused, PlainTerminal)


async def test_quit_asks_while_sessions_are_open(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await pilot.press(PREFIX, "q")
        assert isinstance(app.screen, ConfirmScreen)
        assert "1 session is open" in app.screen.question
        await pilot.press("n")
        assert app.is_running
        assert not app.sessions["web-1"].closed
        await pilot.press(PREFIX, "q", "y")
        await wait_for(pilot, lambda: not app.is_running, "the app to quit")
        assert app.sessions["web-1"].closed


async def test_quit_without_live_sessions_does_not_ask(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        app.sessions["web-1"].set(state=Phase.ENDED)
        await pilot.press(PREFIX, "q")
        await wait_for(pilot, lambda: not app.is_running, "the app to quit")


async def test_close_asks_while_connected_but_not_after_the_end(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await open_tab(pilot, app, "web-2")
        tabs = app.query_one(SessionTabs)
        await pilot.press(PREFIX, "x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert len(tabs.panes) == 2
        await pilot.press(PREFIX, "x", "y")
        await wait_for(pilot, lambda: len(tabs.panes) == 1, "one tab")
        assert app.sessions["web-2"].closed
        app.sessions["web-1"].set(state=Phase.ENDED)
        await pilot.press(PREFIX, "x")
        await wait_for(pilot, lambda: not tabs.panes, "no tab left")
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.query_one("#welcome").display


async def test_next_previous_and_goto(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        for name in ("web-1", "web-2", "db-main"):
            await open_tab(pilot, app, name)
        tabs = app.query_one(SessionTabs)

        def active() -> str:
            pane = tabs.active_session_pane
            assert pane is not None
            return pane.session.name

        assert active() == "db-main"
        await pilot.press(PREFIX, "n")
        assert active() == "web-1"
        await pilot.press(PREFIX, "p")
        assert active() == "db-main"
        await pilot.press(PREFIX, "2")
        assert active() == "web-2"
        await pilot.press(PREFIX, "9")
        assert active() == "web-2"
        assert "There is no tab 9" in app.messages


async def test_rename_changes_the_label(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await pilot.press(PREFIX, "comma")
        field = app.screen.query_one(Input)
        assert field.value == "web-1"
        field.value = ""
        await pilot.press("p", "r", "o", "d", "enter")
        assert "prod" in label_of(app, 0)
        app.sessions["web-1"].set(title="vim notes.txt")
        await pilot.pause()
        assert "prod" in label_of(app, 0)  # a rename wins over the remote's title


async def test_label_and_status_follow_the_session(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        session = app.sessions["web-1"]
        assert label_of(app, 0) == "● web-1"
        lost = "connection lost: no reply; reconnecting"
        session.set(lost, state=Phase.STALLED, cause="no reply", last_contact_age=6.0)
        await wait_for(pilot, lambda: label_of(app, 0) == "◐ web-1", "the stalled label")
        assert f"web-1: {lost}" in app.messages
        session.set(state=Phase.RECONNECTING, attempt=2, retry_in=1.5, held=3)
        status = str(app.query_one(StatusLine).render())
        assert "reconnecting: no reply" in status
        assert "attempt 2, next try in 1.5 s" in status
        assert "3 bytes held" in status
        session.set("reattached after 0.4 s", state=Phase.ATTACHED, cause=None, held=0)
        await wait_for(pilot, lambda: label_of(app, 0) == "● web-1", "the attached label")
        assert "web-1: reattached after 0.4 s" in app.messages
        session.set(title="htop")
        await wait_for(pilot, lambda: label_of(app, 0) == "● htop", "the title htop in the label")


async def test_reconnect_now(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await pilot.press(PREFIX, "r")
        assert app.sessions["web-1"].reconnects == 1


async def test_theme_switch_applies_live(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        session = app.sessions["web-1"]
        assert session.palettes == [app.terminal_palette]  # a new tab gets the theme's colours
        assert app.theme == "termkeep-dark"
        before = app.screen.styles.background
        await pilot.press(PREFIX, "t", "g", "r", "u", "v")
        assert app.theme == "gruvbox-dark"  # the highlighted theme shows at once
        await pilot.press("escape")
        assert app.theme == "termkeep-dark"  # and escape goes back
        await pilot.press(PREFIX, "t", "n", "o", "r", "d", "enter")
        assert app.theme == "nord"
        assert app.terminal_palette.background == (0x2E, 0x34, 0x40)
        assert session.palettes[-1] == app.terminal_palette
        await pilot.pause()
        assert app.screen.styles.background != before


async def test_help_lists_every_bound_key(store: ProfileStore) -> None:
    settings = settings_from_mapping({"keys": {"help": "h"}}, Path("settings.toml"))
    app = RecordingApp(store, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        assert str(app.query_one("#prefix-hint", Static).render()).strip() == "ctrl+\\ h help"
        await pilot.press(PREFIX, "h")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).render())
        for action_id in settings.keys:
            assert action_id in text
        assert "Press ctrl+\\, then:" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_is_reached_through_the_prefix(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        assert app.screen.id != "--command-palette"
        await pilot.press(PREFIX, "colon")
        assert app.screen.id == "--command-palette"


async def test_demo_drop_only_in_the_demo(store: ProfileStore) -> None:
    drops: list[bool] = []
    app = RecordingApp(store, demo_drop=lambda: drops.append(True))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(PREFIX, "d")
        assert drops == [True]
    plain = RecordingApp(store)
    async with plain.run_test(size=SIZE) as pilot:
        await pilot.press(PREFIX, "d")
        assert any("only available in `termkeep demo`" in m for m in plain.messages)


async def test_broken_settings_fall_back_and_are_reported(
    store: ProfileStore, config_dir: Path
) -> None:
    settings_file = config_dir / "settings.toml"
    settings_file.write_text('prefx = "f12"\n')
    app = RecordingApp(store)
    assert app.settings == Settings()
    async with app.run_test(size=SIZE):
        assert any("did you mean 'prefix'" in m for m in app.messages)
    assert settings_file.read_text() == 'prefx = "f12"\n'


async def test_broken_user_theme_is_reported_and_default_used(
    store: ProfileStore, config_dir: Path
) -> None:
    (config_dir / "themes").mkdir()
    (config_dir / "themes" / "mine.toml").write_text('[ui]\nprimary = "red"\n')
    settings = settings_from_mapping({"theme": "mine"}, Path("settings.toml"))
    app = RecordingApp(store, settings=settings, themes=load_themes())
    async with app.run_test(size=SIZE):
        assert app.theme == "termkeep-dark"
        assert any("mine.toml: ui.primary" in m for m in app.messages)
        assert any("Theme 'mine' not found" in m for m in app.messages)


async def test_a_session_is_started_once_its_tab_is_shown(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await wait_for(pilot, lambda: app.sessions["web-1"].started, "the session to start")


async def test_a_profile_theme_keeps_its_terminal_colours(store: ProfileStore) -> None:
    app = RecordingApp(store)
    app.profile_themes["db-main"] = "gruvbox-dark"
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await open_tab(pilot, app, "db-main")
        plain, themed = app.sessions["web-1"], app.sessions["db-main"]
        assert themed.palettes[-1].background == (0x28, 0x28, 0x28)
        app.apply_theme("nord")
        assert plain.palettes[-1].background == (0x2E, 0x34, 0x40)
        assert len(themed.palettes) == 1  # untouched by the app's theme switch


async def test_a_profile_that_does_not_load_is_reported_in_one_line(
    store: ProfileStore,
) -> None:
    broken = store.path_for("web-1")
    broken.write_text('host = "192.0.2.1"\nportt = 22\n')
    app = RecordingApp(store, open_session=None)  # the real opener, on the real store
    async with app.run_test(size=SIZE) as pilot:
        assert await app.open_profile("web-1") is None
        assert await app.open_profile("no/such") is None
        await pilot.pause()
        assert not app.query_one(SessionTabs).panes
    assert any("did you mean 'port'" in m for m in app.messages)
    assert any("'no/such' is not a saved profile" in m for m in app.messages)
    assert all("Traceback" not in m for m in app.messages)


async def test_a_hidden_tabs_status_line_catches_up_when_shown(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await open_tab(pilot, app, "web-2")
        app.sessions["web-1"].set(state=Phase.RECONNECTING, cause="no reply", attempt=4)
        await wait_for(pilot, lambda: label_of(app, 0) == "↻ web-1", "the reconnecting label")
        await pilot.press(PREFIX, "1")
        tabs = app.query_one(SessionTabs)
        pane = tabs.active_session_pane
        assert pane is not None
        line = pane.query_one(StatusLine)
        await wait_for(
            pilot,
            lambda: "reconnecting: no reply" in str(line.render()),
            "the reconnecting status line",
        )
        assert "attempt 4" in str(line.render())


async def test_clicking_a_tab_leaves_the_keyboard_with_the_terminal(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "web-1")
        await open_tab(pilot, app, "web-2")
        await pilot.click("#--content-tab-tab-1")
        tabs = app.query_one(SessionTabs)
        await wait_for(pilot, lambda: tabs.active == "tab-1", "the clicked tab to be active")
        await wait_for(
            pilot, lambda: isinstance(app.focused, PlainTerminal), "the terminal to have focus"
        )
        await pilot.press("right", "k")
        assert tabs.active == "tab-1"  # arrows belong to the remote, not to the tab bar
        assert app.sessions["web-1"].written == b"k"
