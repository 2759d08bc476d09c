"""The "Open a host" picker: saved profiles, ssh_config Hosts marked apart, and a typed
``user@host[:port]``."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import OptionList

from termkeep.config.store import ProfileStore
from termkeep.ui.screens.dialogs import PickerScreen
from tests.fixtures.isolation import Isolation
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for

SIZE = (100, 30)


@pytest.fixture(autouse=True)
def ssh_config(isolation: Isolation) -> Path:
    """The user's ~/.ssh/config (in the test's own HOME): one alias, one wildcard block."""
    return isolation.write_ssh_config(
        "Host box\n  HostName 192.0.2.7\nHost web-1\n  HostName dup\nHost *.lan\n"
    )


async def open_picker(pilot: Pilot[None], app: RecordingApp) -> PickerScreen:
    await pilot.press(PREFIX, "c")
    await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), "the picker")
    screen = app.screen
    assert isinstance(screen, PickerScreen)
    return screen


async def test_profiles_then_ssh_config_hosts_marked_apart(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot, app)
        assert picker.shown == [*store.names(), "box"]  # web-1 is a profile: listed once
        options = picker.query_one("#choices", OptionList)
        box = options.get_option_at_index(len(picker.shown) - 1).prompt
        assert isinstance(box, Content)
        assert box.plain == "box  · ssh_config"
        await pilot.press(*"box", "enter")
        await wait_for(pilot, lambda: "box" in app.sessions, "a tab on the alias")


async def test_a_typed_user_at_host_opens_a_tab(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, app)
        await pilot.press(*"root@192.0.2.9:2222", "enter")
        await wait_for(pilot, lambda: "root@192.0.2.9:2222" in app.sessions, "the typed host")
        await open_picker(pilot, app)
        await pilot.press(*"zzqq", "enter")  # matches no name: a host of that name
        await wait_for(pilot, lambda: "zzqq" in app.sessions, "the typed name")
