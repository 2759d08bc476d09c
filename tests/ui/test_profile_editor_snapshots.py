"""SVG snapshots of the profile editor at 80x24 (everything reachable, nothing cut off) and
200x50 (label, value and help on one line).

Regenerate after an intended change with ``pytest tests/ui/test_profile_editor_snapshots.py
--snapshot-update`` and review the SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from termkeep.config.forwards import parse_flag
from termkeep.config.profile import KeepaliveSettings, Profile
from termkeep.config.store import ProfileStore
from termkeep.ui.screens.profiles import ProfileManagerScreen
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for

type SnapCompare = Callable[..., bool]


@pytest.fixture
def edited_store(store: ProfileStore, monkeypatch: pytest.MonkeyPatch) -> ProfileStore:
    """web-1 with a few values set; the local user name fixed, as unset fields show it."""
    monkeypatch.setenv("LOGNAME", "alice")
    store.save(
        Profile(
            name="web-1",
            host="192.0.2.1",
            user="alice",
            keepalive=KeepaliveSettings(interval=10.0),
            forwards=(parse_flag("-L", "8080:db:5432"), parse_flag("-D", "1080")),
        ),
        replace=True,
    )
    return store


def open_at(
    app: RecordingApp, category: int, then: Callable[[ProfileManagerScreen], None] | None = None
) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Open the manager, select web-1 and show the category at index ``category``."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press(PREFIX, "m")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileManagerScreen), "the editor")
        screen = app.screen
        assert isinstance(screen, ProfileManagerScreen)
        screen.query_one("#profiles", OptionList).highlighted = 1
        await wait_for(pilot, lambda: screen.editing == "web-1", "web-1 in the form")
        screen.query_one("#categories", OptionList).highlighted = category
        if then is not None:
            then(screen)
        await pilot.pause()

    return run_before


def test_editor_session_80x24(snap_compare: SnapCompare, edited_store: ProfileStore) -> None:
    app = RecordingApp(edited_store)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_at(app, 0))


def test_editor_field_error_80x24(snap_compare: SnapCompare, edited_store: ProfileStore) -> None:
    app = RecordingApp(edited_store)

    def wrong_idle(screen: ProfileManagerScreen) -> None:
        screen.query_one("#tcp-idle", Input).value = "soon"
        screen.query_one("#tcp-idle", Input).focus()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_at(app, 3, wrong_idle))


def test_editor_tunnels_80x24(snap_compare: SnapCompare, edited_store: ProfileStore) -> None:
    app = RecordingApp(edited_store)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_at(app, 6))


def test_editor_keepalive_200x50(snap_compare: SnapCompare, edited_store: ProfileStore) -> None:
    app = RecordingApp(edited_store)
    assert snap_compare(app, terminal_size=(200, 50), run_before=open_at(app, 3))


def test_editor_host_keys_200x50(snap_compare: SnapCompare, edited_store: ProfileStore) -> None:
    app = RecordingApp(edited_store)
    assert snap_compare(app, terminal_size=(200, 50), run_before=open_at(app, 2))
