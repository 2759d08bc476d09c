"""A tab opened as ``host:port`` (no profile) is saved as a profile that reattaches its tmux
session, on the demo server (real SSH, real tmux); the usual refusals are one line."""

from __future__ import annotations

import shutil

import pytest
from textual.widgets import Button, Input, OptionList

from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.transport.demo_server import DemoServer
from termkeep.ui.screens.dialogs import TextInputScreen
from termkeep.ui.screens.profiles import ProfileManagerScreen
from tests.fixtures.isolation import Isolation
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


async def test_a_quick_tab_is_saved_with_its_tmux_session(
    store: ProfileStore, isolation: Isolation
) -> None:
    async with DemoServer() as server:
        isolation.write_ssh_config(
            f"Host *\n  IdentityFile {server.client_key}\n"
            f"  UserKnownHostsFile {server.known_hosts}\n",
        )
        target = f"{server.host}:{server.port}"
        app = RecordingApp(store, open_session=None)  # the real opener
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            pane = await app.open_profile(target)
            assert pane is not None
            await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
            tmux_session = pane.session.tmux_session
            assert tmux_session

            await pilot.press(PREFIX, "w")
            await wait_for(pilot, lambda: isinstance(app.screen, TextInputScreen), "the name")
            field = app.screen.query_one(Input)
            assert field.value == server.host  # the suggestion
            field.value = "demo-box"
            await pilot.press("enter")
            await wait_for(pilot, lambda: store.exists("demo-box"), "the saved profile")
            saved = store.load("demo-box")
            assert (saved.host, saved.port) == (server.host, server.port)
            assert saved.tmux.session == tmux_session  # opening it reattaches this work
            assert any("Saved demo-box" in m for m in app.messages)

            await pilot.press(PREFIX, "w")  # the same name again: refused, nothing lost
            await wait_for(pilot, lambda: isinstance(app.screen, TextInputScreen), "the name")
            app.screen.query_one(Input).value = "demo-box"
            await pilot.press("enter")
            await wait_for(pilot, lambda: any("exists" in m for m in app.messages), "refusal")
            assert store.load("demo-box") == saved
            await pane.session.close()


async def test_the_profile_manager_offers_to_save_an_unsaved_open_tab(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(130, 40)) as pilot:
        await app.open_profile("web-1")
        session = app.sessions["web-1"]
        session.profile = Profile(name="alice@box", host="box", user="alice")  # a quick target
        await pilot.press(PREFIX, "m")
        manager = app.screen
        assert isinstance(manager, ProfileManagerScreen)
        offer = manager.query_one("#save-tab", Button)
        offer.press()
        await wait_for(pilot, lambda: isinstance(app.screen, TextInputScreen), "the name")
        app.screen.query_one(Input).value = "box"
        await pilot.press("enter")
        await wait_for(pilot, lambda: store.exists("box"), "the saved profile")
        assert store.load("box").tmux.session == "termkeep-web-1"  # the tab's tmux session
        options = manager.query_one("#profiles", OptionList)
        await wait_for(pilot, lambda: options.option_count == 4, "the manager's list")

    app = RecordingApp(store)  # a tab on a saved profile: nothing to offer
    async with app.run_test(size=(130, 40)) as pilot:
        await app.open_profile("web-1")
        app.sessions["web-1"].profile = store.load("web-1")
        await pilot.press(PREFIX, "m")
        assert not app.screen.query("#save-tab")
