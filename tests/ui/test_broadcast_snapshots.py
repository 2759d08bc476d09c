"""SVG snapshots of broadcast input: the picker with a tab checked, and the tab bar with the
source and receiving tabs marked (the source's status line says so)."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX

type SnapCompare = Callable[..., bool]
HOSTS = ("web-1", "db-main", "web-2", "web-3")


async def open_hosts(app: RecordingApp, pilot: Pilot[None]) -> None:
    for name in HOSTS:
        await app.open_profile(name)
    await pilot.pause()


def test_broadcast_picker(snap_compare: SnapCompare, store: ProfileStore) -> None:
    store.save(Profile(name="web-3", host="192.0.2.4", user="alice"))
    app = RecordingApp(store)

    async def run_before(pilot: Pilot[None]) -> None:
        await open_hosts(app, pilot)
        await pilot.press(PREFIX, "b", "space", "down", "down", "space")

    assert snap_compare(app, terminal_size=(100, 20), run_before=run_before)


def test_tab_bar_with_broadcast_marks(snap_compare: SnapCompare, store: ProfileStore) -> None:
    store.save(Profile(name="web-3", host="192.0.2.4", user="alice"))
    app = RecordingApp(store)

    async def run_before(pilot: Pilot[None]) -> None:
        await open_hosts(app, pilot)
        await pilot.press(PREFIX, "1")  # web-1 sends, to db-main and web-3
        await pilot.press(PREFIX, "b", "space", "down", "down", "space", "enter")
        await pilot.pause()
        app.clear_notifications()  # the toast would cover the status line
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 8), run_before=run_before)
