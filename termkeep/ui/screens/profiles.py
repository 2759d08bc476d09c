"""The profile manager (prefix m): saved hosts, and an editor with every setting, by category.

Like PuTTY's configuration dialog: the saved hosts and a category list on the left, the chosen
category's fields on the right, the buttons below. Every key a profile file can hold has a
field (``config.fields`` lists them; a test fails when one is missing), labelled in plain words
with one line of help. An empty field is unset and shows what then applies and where it comes
from ("5 (default)", "adaptive (from settings.toml)"); clearing a field returns it to that.

The form is checked as the file is, by the file loader itself, while the user types: each
field shows the loader's own message, the category list marks the categories with problems,
and Save is refused until they are fixed. Everything is written through the ProfileStore
(atomic, 0600, the file's comments kept, a file that does not load never overwritten), so
what the editor saves always loads again.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from termkeep.config.errors import ConfigError, ProfileLoadError
from termkeep.config.fields import GROUP_OF, GROUPS, Group, applied
from termkeep.config.files import ConfigFileError, parse_toml, read_config_text
from termkeep.config.forwards import ForwardError
from termkeep.config.importing import ImportPlan
from termkeep.config.profile import Profile, is_valid_profile_name
from termkeep.config.schema import FORWARDS_KEY, NAME_IS_FILE_NAME
from termkeep.config.settings import Settings
from termkeep.config.store import LoadResult, ProfileStore
from termkeep.ui.plain_text import plain
from termkeep.ui.profile_draft import ProfileDraft, save_refusal
from termkeep.ui.screens.dialogs import ConfirmScreen
from termkeep.ui.screens.profile_import import import_into, read_putty_plan, read_ssh_config_plan
from termkeep.ui.widgets.profile_fields import FieldRow, ForwardsRow

WIDE_WIDTH = 180
"""From this many columns the fields show label, value and help on one line."""

MARK_PROBLEM = " ✗"
"""After a category's name in the list while one of its fields is wrong."""

EDITOR_KEYS: tuple[tuple[str, str], ...] = (
    ("tab / shift+tab", "next / previous field or button"),
    ("up / down", "choose a saved host or a category (in their lists)"),
    ("ctrl+pagedown / ctrl+pageup", "next / previous category"),
    ("enter", "on a category: go to its fields; on a yes/no or choice: open it"),
    ("ctrl+s", "save the profile"),
    ("ctrl+n", "new profile"),
    ("delete", "remove the highlighted forward (Tunnels)"),
    ("escape", "close (asks first when there are unsaved changes)"),
)
"""The profile manager's own keys, listed by the help overlay and the README."""


def group_id(group: Group) -> str:
    """The id of a category's panel."""
    return f"group-{group.slug}"


class ProfileManagerScreen(ModalScreen[None]):
    """Saved hosts and categories on the left, the category's fields on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "close"),
        Binding("ctrl+s", "save", "save"),
        Binding("ctrl+n", "new", "new"),
        Binding("ctrl+pagedown", "category(1)", "next category"),
        Binding("ctrl+pageup", "category(-1)", "previous category"),
    ]

    def __init__(
        self,
        store: ProfileStore,
        *,
        settings: Settings | None = None,
        theme_names: Sequence[str] = (),
        manage_sessions: Callable[[str], None] | None = None,
        save_open_tab: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.settings = settings or Settings()
        """The app's settings: what a profile's unset Terminal keys inherit."""
        self.theme_names = list(theme_names)
        self.manage_sessions = manage_sessions
        """Shows a saved profile's tmux sessions on its host (the app's screen)."""
        self.save_open_tab = save_open_tab
        """The open tab's host that is not a saved profile (``user@host``, an ssh_config
        alias), and the app's "save this tab as a profile" for it; None when there is none."""
        self.editing: str | None = None
        """Name of the saved profile in the form; None while adding a new one."""
        self.draft = ProfileDraft()
        """What the form holds."""
        self.original = ProfileDraft()
        """The draft as loaded: a difference means unsaved changes."""
        self.file_problems: list[str] = []
        """Why the profile's file does not load (it is then never overwritten)."""
        self.touched: set[str] = set()
        """Keys the user edited; a new profile shows problems only there until Save."""
        self.check_all = False
        """Show every problem, not only those of touched fields (after Save, or a file)."""
        self.load_result = LoadResult()
        """What the store held when last read."""

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog manager", id="manager"):
            with Horizontal(id="manager-body"):
                with Vertical(id="list-side"):
                    yield Label("Saved hosts", classes="question")
                    yield OptionList(id="profiles", markup=False)
                    yield Label("Category", classes="question")
                    yield OptionList(
                        *[Option(plain(group.title), id=group.slug) for group in GROUPS],
                        id="categories",
                        markup=False,
                    )
                with ContentSwitcher(id="groups", initial=group_id(GROUPS[0])):
                    for group in GROUPS:
                        with VerticalScroll(id=group_id(group), classes="group"):
                            yield Label(plain(group.title), classes="group-title")
                            yield from self._rows(group)
            with VerticalScroll(id="messages"):
                if self.save_open_tab is not None:
                    yield Static(
                        plain(
                            f"The open tab {self.save_open_tab[0]} is not saved yet: "
                            "Save open tab keeps it as a profile."
                        ),
                        classes="hint",
                    )
                yield Static(id="load-problems", classes="error-text message", markup=False)
                yield Static(id="form-errors", classes="error-text message", markup=False)
                yield Static(id="report", classes="message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("New", id="new", compact=True)
                yield Button("Duplicate", id="duplicate", compact=True)
                yield Button("Delete", variant="error", id="delete", compact=True)
                yield Button("Close", id="close", compact=True)
            with Horizontal(classes="buttons"):
                yield Button("Import ssh_config", id="import-ssh", compact=True)
                yield Button("Import PuTTY", id="import-putty", compact=True)
                yield Button("tmux sessions", id="sessions", compact=True)
                if self.save_open_tab is not None:
                    yield Button("Save open tab", id="save-tab", compact=True)

    def _rows(self, group: Group) -> ComposeResult:
        for info in group.fields:
            if info.key == FORWARDS_KEY:
                yield ForwardsRow(info)
            elif info.key == "theme":
                yield FieldRow(info, self.theme_names)
            elif info.key == "jump":
                yield FieldRow(info, self.store.names())
            else:
                yield FieldRow(info)

    def on_mount(self) -> None:
        # Tab goes from field to field; a panel scrolls to the focused one by itself.
        for scroller in self.query("#messages, .group").results(VerticalScroll):
            scroller.can_focus = False
        self.reload()
        self.clear_form()
        self.query_one("#categories", OptionList).highlighted = 0

    def on_resize(self, event: Resize) -> None:
        self.query_one("#manager").set_class(event.size.width >= WIDE_WIDTH, "-wide")

    def on_screen_resume(self) -> None:
        # Back from a dialog that may have saved a profile (the open tab's): list it.
        self.reload(select=self.editing)

    def _save_open_tab(self) -> None:
        if self.save_open_tab is not None:
            self.save_open_tab[1]()

    def reload(self, select: str | None = None) -> None:
        """Re-read the store; list the names and say which files do not load."""
        result = self.store.load_all()
        names = sorted([profile.name for profile in result.profiles] + self._broken(result))
        options = self.query_one("#profiles", OptionList)
        options.clear_options()
        options.add_options([Option(plain(name), id=name) for name in names])
        if select in names:
            options.highlighted = names.index(select)
        self.load_result = result
        self._show_load_summary()

    def _show_load_summary(self) -> None:
        """Which files do not load, in a line; the selected one's problems show in full under
        the form, so it is not named twice."""
        result = self.load_result
        broken = set(self._broken(result))
        listed = broken - {self.editing}
        unlisted = [
            str(issue)
            for issue in result.errors
            if Path(issue.source).stem not in broken
            or Path(issue.source).parent != self.store.directory
        ]
        lines = []
        if listed:
            names = ", ".join(sorted(listed))
            verb = "does" if len(listed) == 1 else "do"
            lines.append(f"{names} {verb} not load: select it to see why, fix or delete it")
        self._message("#load-problems", "\n".join(lines + unlisted))

    def _broken(self, result: LoadResult) -> list[str]:
        """Saved files that do not load: listed too, so their problems can be seen."""
        loaded = {profile.name for profile in result.profiles}
        return [
            name
            for name in self.store.names()
            if name not in loaded and is_valid_profile_name(name)
        ]

    def _message(self, selector: str, text: str) -> None:
        message = self.query_one(selector, Static)
        message.update(plain(text, multiline=True))
        message.set_class(bool(text), "-shown")

    # --- the form ----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """Whether the form holds changes that are not saved."""
        return self.draft != self.original

    def clear_form(self) -> None:
        """An empty form for a new profile."""
        self.editing = None
        self._load(ProfileDraft(), check_all=False)

    def _load(self, draft: ProfileDraft, *, check_all: bool, problems: Sequence[str] = ()) -> None:
        self.draft = draft
        self.original = draft.copy()
        self._show_load_summary()
        self.file_problems = list(problems)
        self.touched = set()
        self.check_all = check_all
        context = draft.context()
        for row in self.query(FieldRow):
            if row.key == NAME_IS_FILE_NAME:
                row.show(draft.name, "required, e.g. web-1")
            else:
                row.show(draft.values.get(row.key), self._applied(row.key, context))
        self._show_forwards()
        self.show_error("")
        self.refresh_problems()

    def _applied(self, key: str, context: Profile) -> str:
        if key == "host":
            return "required, e.g. example.org"
        return applied(key, context, self.settings)

    def _show_forwards(self) -> None:
        row = self.query_one(ForwardsRow)
        flags = [forward.flag for forward in self.draft.forwards]
        row.show_forwards(flags, self._applied(FORWARDS_KEY, self.draft.context()))

    def show_error(self, text: str) -> None:
        """A problem of the whole form (or why it was not saved), under the form."""
        self._message("#form-errors", text)

    def problems_by_key(self) -> dict[str, list[str]]:
        """The draft's problems by key (the loader's messages), plus a name already taken."""
        found: dict[str, list[str]] = {}
        for key, message in self.draft.problems():
            found.setdefault(key, []).append(message)
        if self.draft.name != self.editing and self._name_taken(self.draft.name):
            found.setdefault(NAME_IS_FILE_NAME, []).append(
                f"a profile named {self.draft.name!r} already exists; choose another name"
            )
        return found

    def _name_taken(self, name: str) -> bool:
        return is_valid_profile_name(name) and self.store.exists(name)

    def refresh_problems(self) -> dict[str, list[str]]:
        """Show each field's problems under it and mark the categories that have some."""
        found = self.problems_by_key()
        shown = {
            key: messages
            for key, messages in found.items()
            if self.check_all or key in self.touched
        }
        for row in self.query(FieldRow):
            row.show_problems(shown.get(row.key, []))
        self.query_one(ForwardsRow).show_problems(shown.get(FORWARDS_KEY, []))
        wrong_groups = {GROUP_OF[key].slug for key in shown if key in GROUP_OF}
        categories = self.query_one("#categories", OptionList)
        for index, group in enumerate(GROUPS):
            mark = MARK_PROBLEM if group.slug in wrong_groups else ""
            categories.replace_option_prompt_at_index(index, plain(group.title + mark))
        return found

    def _edited(self, key: str) -> None:
        self.touched.add(key)
        if key in {NAME_IS_FILE_NAME, "use_ssh_config"}:
            context = self.draft.context()  # the tmux session and ssh_config notes follow
            for row in self.query(FieldRow):
                if row.key not in {NAME_IS_FILE_NAME, "host"}:
                    row.show_applied(self._applied(row.key, context))
        self.refresh_problems()

    @on(Input.Changed, ".field-row Input")
    @on(Select.Changed, ".field-row Select")
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        row = self._row_of(event.control)
        if row is not None and self._take(row):
            self._edited(row.key)

    def _take(self, row: FieldRow) -> bool:
        """Copy a row's editor into the draft; whether that changed the draft."""
        editor = row.editor
        if isinstance(editor, Select):
            value = None if editor.value is Select.NULL else editor.value
        elif row.key == NAME_IS_FILE_NAME:
            if editor.value.strip() == self.draft.name:
                return False
            self.draft.name = editor.value.strip()
            return True
        else:
            before = self.draft.values.get(row.key)
            self.draft.set_text(row.key, editor.value)
            return self.draft.values.get(row.key) != before
        if self.draft.values.get(row.key) == value:
            return False
        self.draft.set(row.key, value)
        return True

    def _take_all(self) -> None:
        """Every editor into the draft: a key pressed just before ctrl+s counts even if its
        change message has not arrived yet."""
        for row in self.query(FieldRow):
            if self._take(row):
                self.touched.add(row.key)

    @staticmethod
    def _row_of(widget: Widget | None) -> FieldRow | None:
        ancestors = widget.ancestors if widget is not None else []
        return next((node for node in ancestors if isinstance(node, FieldRow)), None)

    @on(ForwardsRow.AddRequested)
    def _add_forward(self, event: ForwardsRow.AddRequested) -> None:
        row = self.query_one(ForwardsRow)
        if not event.typed.strip():
            row.show_problems(["type a forward as for ssh, e.g. -L 8080:localhost:80"])
            return
        try:
            self.draft.add_forward(event.typed)
        except ForwardError as error:
            row.show_problems([str(error)])
            return
        self.query_one("#forward-new", Input).value = ""
        self._show_forwards()
        self._edited(FORWARDS_KEY)
        row.show_problems([])

    @on(ForwardsRow.RemoveRequested)
    def _remove_forward(self, event: ForwardsRow.RemoveRequested) -> None:
        self.draft.remove_forward(event.index)
        self._show_forwards()
        self._edited(FORWARDS_KEY)

    # --- the lists -----------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#categories")
    def _category(self, event: OptionList.OptionHighlighted) -> None:
        slug = event.option.id
        group = next((group for group in GROUPS if group.slug == slug), None)
        if group is not None:
            self.query_one("#groups", ContentSwitcher).current = group_id(group)

    @on(OptionList.OptionSelected, "#categories")
    def _enter_category(self, _event: OptionList.OptionSelected) -> None:
        switcher = self.query_one("#groups", ContentSwitcher)
        panel = self.query_one(f"#{switcher.current}", VerticalScroll)
        focusable = [widget for widget in panel.query("Input, Select, OptionList, Button")]
        if focusable:
            focusable[0].focus()

    def action_category(self, step: int) -> None:
        """Show the next (1) or previous (-1) category."""
        categories = self.query_one("#categories", OptionList)
        current = categories.highlighted or 0
        categories.highlighted = (current + step) % len(GROUPS)

    def show_category(self, title: str) -> None:
        """Show the category called ``title``."""
        titles = [group.title for group in GROUPS]
        self.query_one("#categories", OptionList).highlighted = titles.index(title)

    @on(OptionList.OptionHighlighted, "#profiles")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name is None or name == self.editing:
            return
        if not self.dirty:
            self.load_profile(name)
            return

        def decided(discard: bool | None) -> None:
            if discard:
                self.load_profile(name)
            else:
                self._highlight(self.editing)

        self.app.push_screen(ConfirmScreen(self._discard_question(), "Discard"), decided)

    def _highlight(self, name: str | None) -> None:
        options = self.query_one("#profiles", OptionList)
        index = options.get_option_index(name) if name is not None else None
        options.highlighted = index

    def _discard_question(self) -> str:
        what = self.editing or self.draft.name or "the new profile"
        return f"Discard your changes to {what}?"

    def load_profile(self, name: str) -> None:
        """Put the saved profile ``name`` in the form; a file that does not load shows its
        known values and every problem, and is never overwritten."""
        self.editing = name
        try:
            stored = self.store.read(name)
        except ProfileLoadError as error:
            self._load(
                self._file_draft(name),
                check_all=True,
                problems=[str(issue) for issue in error.issues],
            )
            self.show_error(
                "\n".join(self.file_problems)
                + "\nThis file does not load, so Save will not overwrite it: fix it in an "
                "editor, or delete it."
            )
            return
        except ConfigError as error:
            self._load(ProfileDraft(name), check_all=True, problems=[str(error)])
            self.show_error(str(error))
            return
        self._load(ProfileDraft.of(stored), check_all=True)

    def _file_draft(self, name: str) -> ProfileDraft:
        path = self.store.path_for(name)
        try:
            data = parse_toml(path, read_config_text(path))
        except (OSError, ConfigFileError, tomllib.TOMLDecodeError):
            return ProfileDraft(name)
        return ProfileDraft.of_file_data(name, data)

    # --- buttons -----------------------------------------------------------------------------

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions: dict[str, Callable[[], None]] = {
            "new": self.action_new,
            "save": self.save,
            "duplicate": self.duplicate,
            "delete": self.ask_delete,
            "import-ssh": lambda: self.run_import(read_ssh_config_plan),
            "import-putty": lambda: self.run_import(read_putty_plan),
            "sessions": self.show_sessions,
            "save-tab": self._save_open_tab,
            "close": self.action_close,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            action()

    def show_sessions(self) -> None:
        """The selected saved profile's tmux sessions on its host, to attach or kill."""
        if self.editing is None:
            self.show_error("Save the profile first: only a saved host's sessions can be listed")
            return
        if self.manage_sessions is not None:
            self.manage_sessions(self.editing)

    def action_save(self) -> None:
        """Save (ctrl+s)."""
        self.save()

    def save(self) -> None:
        """Check the form and write it; problems stay inline and nothing is written."""
        self._take_all()
        self.check_all = True
        found = self.refresh_problems()
        if found:
            self.show_error(save_refusal(found))
            return
        name = self.draft.name
        try:
            profile = self.draft.profile()
            if self.editing is not None and self.editing != name:
                self.store.rename(self.editing, name)
                self.editing = name
            self.store.save(profile, replace=self.editing is not None, keys=set(self.draft.values))
        except ProfileLoadError as error:
            self.show_error("\n".join(issue.message for issue in error.issues))
            return
        except (ConfigError, OSError) as error:
            self.show_error(str(error))
            return
        self.editing = name
        self.original = self.draft.copy()
        self.show_error("")
        self.notify(f"Saved {name}")
        self.reload(select=name)

    def action_new(self) -> None:
        """An empty form for a new profile (asks first when there are unsaved changes)."""
        self._unless_dirty(self.clear_form)
        self.show_category(GROUPS[0].title)

    def _unless_dirty(self, then: Callable[[], None]) -> None:
        if not self.dirty:
            then()
            return

        def decided(discard: bool | None) -> None:
            if discard:
                then()

        self.app.push_screen(ConfirmScreen(self._discard_question(), "Discard"), decided)

    def duplicate(self) -> None:
        """Copy the form into a new, unsaved profile with a free name."""
        base = self.draft.name or "host"
        copy = f"{base}-copy"
        number = 2
        while self._name_taken(copy):
            copy = f"{base}-copy{number}"
            number += 1
        draft = self.draft.copy()
        draft.name = copy
        self.editing = None
        self._load(draft, check_all=True)
        self.original = ProfileDraft()  # nothing of it is saved yet
        self._highlight(None)
        self.show_error("Duplicate: not saved yet; press Save")

    def ask_delete(self) -> None:
        """Delete the profile in the form, after asking."""
        name = self.editing
        if name is None:
            self.show_error("Nothing to delete: this profile is not saved")
            return

        def decided(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.delete(name)
            except ConfigError as error:
                self.show_error(str(error))
                return
            self.notify(f"Deleted {name}")
            self.reload()
            self.clear_form()

        question = f"Delete the profile {name}? Its tmux sessions on the server are not touched."
        self.app.push_screen(ConfirmScreen(question, "Delete"), decided)

    def run_import(self, read: Callable[[], ImportPlan]) -> None:
        """Import with ``read`` and show the report; existing profiles are never replaced."""
        self._message("#report", import_into(self.store, read))
        self.reload(select=self.editing)

    def action_close(self) -> None:
        """Back to the tabs (asks first when there are unsaved changes)."""

        def close() -> None:
            self.dismiss(None)

        self._unless_dirty(close)
