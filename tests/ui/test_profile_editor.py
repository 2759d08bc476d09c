"""The profile editor, driven from the keyboard, writing through the real ProfileStore.

Each category gets one field edited by keys as a user would (tab, arrows, typing, ctrl+s), and
the profile is read back from its file. Errors use the file loader's own messages, Save is
refused while there are any, and every field and button is reachable at 80x24.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Input, OptionList, Select, Static

from termkeep.config.fields import GROUPS
from termkeep.config.forwards import parse_flag
from termkeep.config.profile import KeepaliveSettings, Profile
from termkeep.config.schema import FORWARDS_KEY, KEYS
from termkeep.config.settings import Predict, Settings
from termkeep.config.store import ProfileStore
from termkeep.ui.screens.dialogs import ConfirmScreen, HelpScreen
from termkeep.ui.screens.profiles import (
    EDITOR_KEYS,
    MARK_PROBLEM,
    ProfileManagerScreen,
    group_id,
)
from termkeep.ui.widgets.profile_fields import FieldRow
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for


async def open_manager(pilot: Pilot[None], app: RecordingApp) -> ProfileManagerScreen:
    await pilot.press(PREFIX, "m")
    await wait_for(pilot, lambda: isinstance(app.screen, ProfileManagerScreen), "the editor")
    screen = app.screen
    assert isinstance(screen, ProfileManagerScreen)
    return screen


async def select_host(pilot: Pilot[None], screen: ProfileManagerScreen, name: str) -> None:
    """Highlight a saved host in the list with the arrow keys."""
    options = screen.query_one("#profiles", OptionList)
    options.focus()
    target = options.get_option_index(name)
    await pilot.press("home")
    for _ in range(target):
        await pilot.press("down")
    await wait_for(pilot, lambda: screen.editing == name, f"{name} in the form")


async def go_to_field(
    pilot: Pilot[None], screen: ProfileManagerScreen, group: str, ident: str
) -> None:
    """Pick the category with the arrows, enter its fields, tab to the field ``ident``."""
    categories = screen.query_one("#categories", OptionList)
    categories.focus()
    await pilot.press("home")
    for _ in range([g.title for g in GROUPS].index(group)):
        await pilot.press("down")
    await pilot.press("enter")
    for _ in range(30):
        focused = screen.app.focused
        if focused is not None and focused.id == ident:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached #{ident} in {group}")


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Clear the focused line and type ``text`` key by key."""
    await pilot.press("end", *["backspace"] * 60)
    await pilot.press(*[character if character != " " else "space" for character in text])


async def pick(pilot: Pilot[None], steps: int) -> None:
    """Open the focused choice, move ``steps`` down from the unset entry, take it."""
    await pilot.press("enter", "home", *["down"] * steps, "enter")


async def save(pilot: Pilot[None], screen: ProfileManagerScreen) -> None:
    await pilot.press("ctrl+s")
    await pilot.pause()


def shown_problems(screen: ProfileManagerScreen) -> str:
    return "\n".join(
        str(static.render())
        for static in screen.query(".field-problem.-shown, #form-errors.-shown").results(Static)
    )


@dataclass(frozen=True)
class Edit:
    group: str
    ident: str
    typed: str | None  # None: a choice, picked ``steps`` down
    steps: int
    check: Callable[[Profile], bool]
    key: str


EDITS = [
    Edit("Session", "port", "2222", 0, lambda p: p.port == 2222, "port"),
    Edit(
        "Authentication",
        "identity-files",
        "~/.ssh/a, ~/.ssh/b",
        0,
        lambda p: p.identity_files == ("~/.ssh/a", "~/.ssh/b"),
        "identity_files",
    ),
    Edit(
        "Host keys",
        "strict-host-key-checking",
        None,
        3,  # unset, ask, yes, accept-new
        lambda p: p.strict_host_key_checking == "accept-new",
        "strict_host_key_checking",
    ),
    Edit(
        "Keepalive and TCP",
        "keepalive-interval",
        "15",
        0,
        lambda p: p.keepalive.interval == 15.0,
        "keepalive.interval",
    ),
    Edit(
        "Reconnect",
        "reconnect-enabled",
        None,
        2,  # unset, on, off
        lambda p: p.reconnect.enabled is False,
        "reconnect.enabled",
    ),
    Edit("tmux", "tmux-session", "main", 0, lambda p: p.tmux.session == "main", "tmux.session"),
    Edit(
        "Tunnels",
        "forward-new",
        "-L 8080:db:5432",
        0,
        lambda p: p.forwards == (parse_flag("-L", "8080:db:5432"),),
        "forwards",
    ),
    Edit("Terminal", "predict", None, 2, lambda p: p.predict == "always", "predict"),
]


def test_there_is_one_edit_per_category() -> None:
    assert sorted(edit.group for edit in EDITS) == sorted(group.title for group in GROUPS)


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.group)
async def test_edit_one_field_of_each_category_and_read_it_back(
    store: ProfileStore, edit: Edit
) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        await go_to_field(pilot, screen, edit.group, edit.ident)
        if edit.typed is None:
            await pick(pilot, edit.steps)
        else:
            await type_text(pilot, edit.typed)
            if edit.ident == "forward-new":
                await pilot.press("enter")
        await save(pilot, screen)
        assert shown_problems(screen) == ""
        assert "Saved web-1" in app.messages
    stored = store.read("web-1")
    assert edit.check(stored.profile)
    assert edit.key in stored.explicit_keys
    # Nothing else was written: the file set host and user before, and now this one key.
    assert stored.explicit_keys == {"host", "user", edit.key}


async def test_clearing_a_field_returns_it_to_the_default(store: ProfileStore) -> None:
    edited = Profile(
        name="web-1", host="192.0.2.1", user="alice", keepalive=KeepaliveSettings(interval=10.0)
    )
    store.save(edited, replace=True, keys={"host", "user", "keepalive.interval", "tcp.nodelay"})
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        interval = screen.query_one("#keepalive-interval", Input)
        assert interval.value == "10"
        await go_to_field(pilot, screen, "Keepalive and TCP", "keepalive-interval")
        await type_text(pilot, "")
        await go_to_field(pilot, screen, "Keepalive and TCP", "tcp-nodelay")
        await pick(pilot, 0)  # the unset entry: "on (default)"
        await save(pilot, screen)
        assert shown_problems(screen) == ""
        assert interval.placeholder == "5 (default)"
    stored = store.read("web-1")
    assert stored.profile.keepalive.interval == 5.0
    assert stored.explicit_keys == {"host", "user"}
    assert "interval" not in store.path_for("web-1").read_text()


async def test_unset_fields_say_what_applies_and_where_it_comes_from(store: ProfileStore) -> None:
    app = RecordingApp(store, settings=Settings(predict=Predict.NEVER))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        assert screen.query_one("#keepalive-interval", Input).placeholder == "5 (default)"
        assert screen.query_one("#tcp-keepalive", Select).prompt == "on (default)"
        assert screen.query_one("#predict", Select).prompt == "never (from settings.toml)"
        assert screen.query_one("#log", Select).prompt == "off (default)"
        tmux = screen.query_one("#tmux-session", Input)
        assert tmux.placeholder == "termkeep-web-1 (from the profile name)"
        await go_to_field(pilot, screen, "Session", "name")
        await type_text(pilot, "web-9")
        await wait_for(pilot, lambda: "termkeep-web-9" in tmux.placeholder, "the renamed session")


async def test_labels_are_words_and_every_field_has_its_help(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        labels = [
            str(row.query_one(".field-label", Static).render()) for row in screen.query(FieldRow)
        ]
        assert "Send a keepalive every … s" in labels
        assert not any("." in label and "~/.ssh" not in label for label in labels)
        assert not any("_" in label.replace("known_hosts", "") for label in labels)
        helps = [
            str(row.query_one(".field-help", Static).render()) for row in screen.query(FieldRow)
        ]
        assert all(helps)


async def test_a_wrong_value_shows_the_loaders_message_and_save_is_refused(
    store: ProfileStore,
) -> None:
    path = store.path_for("web-1")
    before = path.read_bytes()
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        await go_to_field(pilot, screen, "Keepalive and TCP", "tcp-idle")
        await type_text(pilot, "soon")
        await wait_for(
            pilot,
            lambda: "'tcp.idle' must be an integer" in shown_problems(screen),
            "the loader's message",
        )
        assert "not the string 'soon'" in shown_problems(screen)
        categories = screen.query_one("#categories", OptionList)
        assert str(categories.get_option_at_index(3).prompt).endswith(MARK_PROBLEM)
        await save(pilot, screen)
        assert "Not saved: fix the 1 problem marked in Keepalive and TCP first" in shown_problems(
            screen
        )
        assert path.read_bytes() == before
        await type_text(pilot, "40000")
        await save(pilot, screen)
        assert "'tcp.idle' must be from 1 to 32767" in shown_problems(screen)
        assert path.read_bytes() == before
        await type_text(pilot, "20")
        await save(pilot, screen)
        assert shown_problems(screen) == ""
        assert not str(categories.get_option_at_index(3).prompt).endswith(MARK_PROBLEM)
    assert store.load("web-1").tcp.idle == 20


async def test_a_bad_forward_is_refused_with_the_parsers_message(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        await go_to_field(pilot, screen, "Tunnels", "forward-new")
        await type_text(pilot, "-L 8080")
        await pilot.press("enter")
        assert "-L takes [bind_address:]port:host:hostport" in shown_problems(screen)
        await type_text(pilot, "-D 1080")
        await pilot.press("enter")
        await type_text(pilot, "-D1080")
        await pilot.press("enter")
        assert "both listen on" in shown_problems(screen)
        await type_text(pilot, "-L 9000:db:5432")
        await pilot.press("enter")
        forward_list = screen.query_one("#forward-list", OptionList)
        assert forward_list.option_count == 2
        forward_list.focus()
        await pilot.press("home", "delete")  # removes -D 1080
        await save(pilot, screen)
    assert store.load("web-1").forwards == (parse_flag("-L", "9000:db:5432"),)


async def test_a_file_that_does_not_load_shows_why_and_is_never_overwritten(
    store: ProfileStore,
) -> None:
    path = store.path_for("web-2")
    path.write_text(path.read_text() + "port = 70000\n\n[keepalve]\ninterval = 9\n")
    before = path.read_bytes()
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        load_problems = screen.query_one("#load-problems", Static)
        assert "web-2 does not load" in str(load_problems.render())
        await select_host(pilot, screen, "web-2")
        problems = shown_problems(screen)
        assert "unknown key 'keepalve'; did you mean 'keepalive'?" in problems
        assert "'port' must be from 1 to 65535" in problems  # under the Port field too
        assert screen.query_one("#port", Input).value == "70000"
        await go_to_field(pilot, screen, "Session", "port")
        await type_text(pilot, "22")
        await save(pilot, screen)
        assert "did you mean 'keepalive'?" in shown_problems(screen)
        assert path.read_bytes() == before


async def test_a_new_profile_cannot_take_a_saved_ones_name(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await pilot.press("ctrl+n")
        await go_to_field(pilot, screen, "Session", "name")
        await type_text(pilot, "web-2")
        await go_to_field(pilot, screen, "Session", "host")
        await type_text(pilot, "192.0.2.50")
        await save(pilot, screen)
        assert "a profile named 'web-2' already exists" in shown_problems(screen)
    assert store.load("web-2").host == "192.0.2.3"


async def test_closing_with_unsaved_changes_asks_first(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        await go_to_field(pilot, screen, "Session", "port")
        await type_text(pilot, "2200")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen, "back in the editor")
        assert screen.query_one("#port", Input).value == "2200"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: not isinstance(app.screen, ProfileManagerScreen | ConfirmScreen),
            "the editor closed",
        )
    assert store.load("web-1").port == 22


def _inside(inner: Region, outer: Region) -> bool:
    return outer.contains_region(inner)


@pytest.mark.parametrize("group", [group.title for group in GROUPS])
async def test_at_80x24_every_field_is_reached_with_tab_and_shown_whole(
    store: ProfileStore, group: str
) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        title = next(g for g in GROUPS if g.title == group)
        panel = screen.query_one(f"#{group_id(title)}")
        editors = [
            widget
            for widget in panel.query("Input, Select, OptionList, Button").results(Widget)
            if widget.focusable and not isinstance(widget.parent, Select)  # not its menu
        ]
        categories = screen.query_one("#categories", OptionList)
        categories.focus()
        await pilot.press("home", *["down"] * [g.title for g in GROUPS].index(group), "enter")
        reached: list[Widget] = []
        for _ in range(len(editors)):
            focused = app.focused
            assert focused is not None
            reached.append(focused)
            await pilot.pause()
            # Focus scrolls the field into view: the editor and its label are on screen, whole.
            assert _inside(focused.region, panel.region), focused
            row = next(a for a in focused.ancestors if "field-row" in a.classes)
            label = row.query_one(".field-label")
            assert label.region.height > 0
            await pilot.press("tab")
        assert reached == editors


async def test_at_80x24_every_button_is_reached_and_shown_whole(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        buttons = [b for b in screen.query(Button) if b.id not in {"forward-add", "forward-remove"}]
        screen.query_one("#categories", OptionList).focus()
        await pilot.press("home", *["down"] * (len(GROUPS) - 1), "enter")
        reached: set[str] = set()
        for _ in range(40):
            await pilot.press("tab")
            focused = app.focused
            if isinstance(focused, Button) and focused in buttons:
                reached.add(focused.id or "")
        assert reached == {b.id for b in buttons}
        screen_region = Region(0, 0, 80, 24)
        for button in buttons:
            assert _inside(button.region, screen_region), button.id
            assert button.region.width >= len(str(button.label)), button.id


async def test_ctrl_pagedown_walks_the_categories(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        switcher = screen.query_one("#groups")
        seen = [getattr(switcher, "current", None)]
        for _ in GROUPS:
            await pilot.press("ctrl+pagedown")
            await pilot.pause()
            seen.append(getattr(switcher, "current", None))
        assert seen == [group_id(g) for g in GROUPS] + [group_id(GROUPS[0])]


async def test_the_help_overlay_lists_the_editors_keys(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(100, 48)) as pilot:
        await pilot.press(PREFIX, "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        text = str(app.screen.query_one("#help-text", Static).render())
        assert "In the profile manager" in text
        assert "ctrl+s" in text
        assert "ctrl+pagedown" in text


def test_the_readme_lists_the_editors_keys() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for key, text in EDITOR_KEYS:
        assert f"| {key} | {text} |" in readme


async def test_every_profile_key_has_a_field_in_the_editor(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        shown = {row.key for row in screen.query(FieldRow)} | {FORWARDS_KEY}
    assert shown == {"name", *KEYS}


async def test_renaming_in_the_form_renames_the_file(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        await go_to_field(pilot, screen, "Session", "name")
        await type_text(pilot, "web-9")
        await save(pilot, screen)
        assert shown_problems(screen) == ""
    assert store.names() == ["db-main", "web-2", "web-9"]
    assert store.load("web-9").host == "192.0.2.1"


async def test_agent_forwarding_is_switched_on_with_its_socket(store: ProfileStore) -> None:
    path = store.path_for("web-1")
    before = path.read_bytes()
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        switch = screen.query_one("#agent-forwarding", Select)
        assert switch.prompt == "off (default)"
        row = screen.query_one("#row-agent-forwarding", FieldRow)
        assert "root can use your keys" in str(row.query_one(".field-help", Static).render())
        # A socket alone does nothing: the loader's message, and nothing is written.
        await go_to_field(pilot, screen, "Authentication", "agent-forwarding-socket")
        await type_text(pilot, "~/agent.sock")
        await save(pilot, screen)
        assert "'agent_forwarding' is not true" in shown_problems(screen)
        assert path.read_bytes() == before
        await go_to_field(pilot, screen, "Authentication", "agent-forwarding")
        await pick(pilot, 1)  # unset, on, off
        await save(pilot, screen)
        assert shown_problems(screen) == ""
        assert "Saved web-1" in app.messages
    stored = store.read("web-1")
    assert stored.profile.agent_forwarding is True
    assert stored.profile.agent_forwarding_socket == "~/agent.sock"


async def test_with_ssh_config_the_agent_switch_says_who_decides(store: ProfileStore) -> None:
    store.save(Profile(name="web-1", host="192.0.2.1", use_ssh_config=True), replace=True)
    app = RecordingApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_manager(pilot, app)
        await select_host(pilot, screen, "web-1")
        switch = screen.query_one("#agent-forwarding", Select)
        assert switch.prompt == "from ~/.ssh/config, else off"
