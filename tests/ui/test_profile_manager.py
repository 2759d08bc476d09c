"""The profile manager writes through the real ProfileStore into a temp config dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, Select, Static

from termkeep.config.forwards import parse_flag
from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.ui.profile_draft import ProfileDraft
from termkeep.ui.screens.dialogs import ConfirmScreen
from termkeep.ui.screens.profiles import ProfileManagerScreen
from tests.fixtures.isolation import Isolation
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for


async def open_manager(pilot: Pilot[None], app: RecordingApp) -> ProfileManagerScreen:
    await pilot.press(PREFIX, "m")
    await wait_for(
        pilot, lambda: isinstance(app.screen, ProfileManagerScreen), "the profile manager"
    )
    screen = app.screen
    assert isinstance(screen, ProfileManagerScreen)
    return screen


async def fill(pilot: Pilot[None], screen: ProfileManagerScreen, **fields: str) -> None:
    for field_id, value in fields.items():
        screen.query_one(f"#{field_id.replace('_', '-')}", Input).value = value
    await pilot.pause()


async def press_and_read_report(
    pilot: Pilot[None], screen: ProfileManagerScreen, button: str
) -> str:
    """Press an import button (as a click or enter would) and read the report it writes."""
    report = screen.query_one("#report", Static)
    before = str(report.render())
    screen.query_one(button, Button).press()
    await wait_for(pilot, lambda: str(report.render()) != before, "the report to change")
    return str(report.render())


def errors(screen: ProfileManagerScreen) -> str:
    """Every problem shown: under the fields and under the form."""
    shown = [
        str(static.render())
        for static in screen.query(".field-problem.-shown, #form-errors.-shown").results(Static)
    ]
    return "\n".join(shown)


async def test_lists_saved_profiles_and_loads_the_highlighted_one(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manager(pilot, app)
        options = screen.query_one("#profiles", OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in range(3)] == [
            "db-main",
            "web-1",
            "web-2",
        ]
        options.highlighted = 1
        await wait_for(pilot, lambda: screen.editing == "web-1", "web-1 in the form")
        assert screen.query_one("#host", Input).value == "192.0.2.1"
        assert screen.query_one("#user", Input).value == "alice"


async def test_add_shows_errors_inline_then_saves_a_private_file(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manager(pilot, app)
        await fill(pilot, screen, name="cache", host="192.0.2.9", port="70000")
        screen.save()
        assert "'port' must be from 1 to 65535" in errors(screen)
        assert not store.exists("cache")
        await fill(pilot, screen, port="eighty")
        screen.save()
        assert "'port' must be an integer, not the string 'eighty'" in errors(screen)
        await fill(pilot, screen, name="../evil", port="2222")
        screen.save()
        assert "profile name '../evil' must not contain" in errors(screen)
        await fill(pilot, screen, name="cache", keepalive_interval="10")
        screen.query_one("#tmux-enabled", Select).value = False
        await pilot.pause()
        screen.save()
        assert errors(screen) == ""
        profile = store.load("cache")
        assert (profile.host, profile.port, profile.keepalive.interval) == ("192.0.2.9", 2222, 10.0)
        assert profile.tmux.enabled is False
        mode = stat.S_IMODE(store.path_for("cache").stat().st_mode)
        assert mode == 0o600


async def test_edit_keeps_the_users_comments(store: ProfileStore) -> None:
    path = store.path_for("web-1")
    path.write_text("# the main web server\n" + path.read_text())
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manager(pilot, app)
        screen.query_one("#profiles", OptionList).highlighted = 1
        await wait_for(pilot, lambda: screen.editing == "web-1", "web-1 in the form")
        await fill(pilot, screen, port="2200")
        screen.save()
        assert errors(screen) == ""
    assert store.load("web-1").port == 2200
    assert path.read_text().startswith("# the main web server\n")


async def test_duplicate_then_save_creates_a_copy(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manager(pilot, app)
        screen.query_one("#profiles", OptionList).highlighted = 0
        await wait_for(pilot, lambda: screen.editing == "db-main", "db-main in the form")
        screen.duplicate()
        assert screen.query_one("#name", Input).value == "db-main-copy"
        screen.save()
    assert store.load("db-main-copy").host == "192.0.2.2"
    assert store.exists("db-main")


async def test_delete_asks_first(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manager(pilot, app)
        screen.query_one("#profiles", OptionList).highlighted = 2
        await wait_for(pilot, lambda: screen.editing == "web-2", "web-2 in the form")
        screen.ask_delete()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete question")
        await pilot.press("n")
        assert store.exists("web-2")
        screen.ask_delete()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the delete question")
        await pilot.press("y")
        await wait_for(pilot, lambda: not store.exists("web-2"), "web-2 deleted")
        assert store.names() == ["db-main", "web-1"]


async def test_import_ssh_config_and_putty_show_reports(
    store: ProfileStore, isolation: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolation.write_ssh_config(
        "Host bastion\n  HostName 192.0.2.10\n  User ops\n\nHost *.internal\n  User x\n"
    )
    putty = tmp_path / "putty"
    (putty / "sessions").mkdir(parents=True)
    (putty / "sessions" / "router").write_text(
        "HostName=192.0.2.1\nPortNumber=22\nProtocol=ssh\nUserName=admin\n"
    )
    monkeypatch.setenv("PUTTYDIR", str(putty))
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manager(pilot, app)
        report = await press_and_read_report(pilot, screen, "#import-ssh")
        assert "Imported 1" in report
        assert "+ bastion" in report
        assert "*.internal" in report  # skipped, with its reason
        report = await press_and_read_report(pilot, screen, "#import-putty")
        assert "+ router" in report
    assert store.load("bastion").user == "ops"
    assert store.load("router").host == "192.0.2.1"


async def test_import_failure_is_one_line_not_a_traceback(
    store: ProfileStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_manager(pilot, app)
        report = await press_and_read_report(pilot, screen, "#import-ssh")
        assert report.startswith("Import failed: ")
        assert "\n" not in report


def test_editing_a_profile_in_the_form_keeps_its_forwards(store: ProfileStore) -> None:
    base = Profile(name="db", host="h", forwards=(parse_flag("-L", "5432:db:5432"),))
    store.save(base)
    draft = ProfileDraft.of(store.read("db"))
    draft.set_text("host", "h2")
    edited = draft.profile()
    assert edited.host == "h2"
    assert edited.forwards == base.forwards
