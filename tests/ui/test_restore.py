"""The open tabs are remembered in the state dir and reopened on the next start."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Input

from termkeep.config.profile import Profile
from termkeep.config.settings import Settings
from termkeep.config.store import ProfileStore
from termkeep.records.tab_state import SavedTab, load_tabs, save_tabs
from termkeep.terminal.palette import Palette
from termkeep.transport.prompts import NoPrompter
from termkeep.ui.live_session import LiveSession, live_session_opener
from termkeep.ui.session_api import SessionLike
from termkeep.ui.widgets.session_tabs import SessionTabs
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for

SIZE = (100, 30)


def test_round_trip_keeps_order_sessions_and_labels(state_dir: Path) -> None:
    path = state_dir / "tabs.toml"
    tabs = [SavedTab("web-1", "termkeep-web-1", "prod"), SavedTab("web-1", "termkeep-web-1-2")]
    save_tabs(tabs, path)
    assert load_tabs(path) == (tabs, None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_and_broken_files(tmp_path: Path) -> None:
    assert load_tabs(tmp_path / "none.toml") == ([], None)
    broken = tmp_path / "tabs.toml"
    broken.write_text("[[tab]\nprofile = 1\n")
    tabs, problem = load_tabs(broken)
    assert tabs == []
    assert problem is not None
    assert str(broken) in problem
    assert "\n" not in problem
    broken.write_text('tab = "web-1"\n')
    assert load_tabs(broken)[0] == []
    broken.write_text('[[tab]]\nprofile = "web-1"\n[[tab]]\nlabel = "no profile"\n')
    assert load_tabs(broken) == ([SavedTab("web-1")], None)


async def test_tabs_are_reopened_as_they_were(store: ProfileStore) -> None:
    first = RecordingApp(store)
    async with first.run_test(size=SIZE) as pilot:
        await first.open_profile("web-2")
        await first.open_profile("db-main", tmux_session="work")
        await pilot.press(PREFIX, "comma")
        first.screen.query_one(Input).value = "database"
        await pilot.press("enter")
        await first.open_profile("web-1")
        await pilot.press(PREFIX, "x", "y")  # closing a tab forgets it
        await wait_for(
            pilot, lambda: len(first.query_one(SessionTabs).panes) == 2, "the two restored tabs"
        )
    assert load_tabs()[0] == [
        SavedTab("web-2", "termkeep-web-2"),
        SavedTab("db-main", "work", "database"),
    ]

    second = RecordingApp(store, restore=True)
    async with second.run_test(size=SIZE) as pilot:
        tabs = second.query_one(SessionTabs)
        await wait_for(pilot, lambda: len(tabs.panes) == 2, "two tabs")
        await second.workers.wait_for_complete()  # the restore worker saves at its end
        assert [pane.session.name for pane in tabs.panes] == ["web-2", "db-main"]
        assert second.sessions["db-main"].tmux_session == "work"
        assert tabs.panes[1].label == "database"
    assert len(load_tabs()[0]) == 2  # restoring does not lose or duplicate anything


async def test_profiles_on_the_command_line_win_over_the_saved_tabs(
    store: ProfileStore,
) -> None:
    save_tabs([SavedTab("web-1"), SavedTab("web-2")])
    app = RecordingApp(store, restore=True, startup_profiles=["db-main"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "db-main" in app.sessions, "the db-main session")
        await app.workers.wait_for_complete()
        assert list(app.sessions) == ["db-main"]


async def test_a_saved_tab_whose_profile_is_gone_is_reported_and_dropped(
    store: ProfileStore,
) -> None:
    save_tabs([SavedTab("web-1"), SavedTab("deleted-host")])
    app = RecordingApp(store, restore=True)
    scripted = app._open

    def opener(name: str, tmux_session: str | None = None) -> SessionLike:
        store.load(name)  # a deleted profile fails here, as with the real opener
        return scripted(name, tmux_session)

    app._open_session = opener
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.query_one(SessionTabs)
        await wait_for(
            pilot,
            lambda: any("no profile named 'deleted-host'" in m for m in app.messages),
            "the missing profile's message",
        )
        await wait_for(pilot, lambda: len(tabs.panes) == 1, "one tab")
        await app.workers.wait_for_complete()  # the restore worker saves at its end
    assert load_tabs()[0] == [SavedTab("web-1", "termkeep-web-1")]


async def test_the_live_opener_reattaches_the_saved_tmux_session(store: ProfileStore) -> None:
    opener = live_session_opener(store, NoPrompter(), Settings(), Palette())
    restored = opener("web-1", "termkeep-web-1-2")
    fresh = opener("web-1")
    clash = opener("web-1", "termkeep-web-1-2")  # already held: gets a free one instead
    names = [s.tmux_session for s in (restored, fresh, clash) if isinstance(s, LiveSession)]
    assert names == ["termkeep-web-1-2", "termkeep-web-1", "termkeep-web-1-3"]


async def test_a_tab_saved_under_an_old_session_name_opens_by_today_s_name(
    store: ProfileStore,
) -> None:
    store.save(Profile(name="web.example.org", host="10.0.0.9"))
    opener = live_session_opener(store, NoPrompter(), Settings(), Palette())
    # An older termkeep saved the tab with termkeep-web_example_org; today's attach of
    # termkeep_web_example_org finds that session and renames it.
    restored = opener("web.example.org", "termkeep-web_example_org")
    second = opener("web.example.org", "termkeep-web_example_org-2")  # kept as it was
    names = [s.tmux_session for s in (restored, second) if isinstance(s, LiveSession)]
    assert names == ["termkeep_web_example_org", "termkeep-web_example_org-2"]
    for session in (restored, second):
        await session.close()


class AppCrashError(RuntimeError):
    """An error outside every tab, planted in the app itself."""


async def test_tabs_come_back_after_the_app_stopped_on_an_error(store: ProfileStore) -> None:
    first = RecordingApp(store)

    def crash() -> None:
        raise AppCrashError("planted in the app")

    async with first.run_test(size=SIZE) as pilot:
        await first.open_profile("web-2")
        await first.open_profile("db-main", tmux_session="work")
        await first.workers.wait_for_complete()  # the tabs are up before the crash
        await pilot.pause()
        first.call_later(crash)  # not a tab's code: the app stops
        await pilot.pause()
        await pilot.pause()
        assert first.return_code == 1
        first._exception = None  # Pilot would re-raise it; what follows is the point

    second = RecordingApp(store, restore=True)
    async with second.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: len(second.query_one(SessionTabs).panes) == 2, "the two restored tabs"
        )
        # Quitting while the restore worker still adds its last tab made Textual's tab bar
        # raise NoMatches (its underline already gone) in about one run of ten.
        await second.workers.wait_for_complete()
        assert [pane.session.name for pane in second.query_one(SessionTabs).panes] == [
            "web-2",
            "db-main",
        ]
