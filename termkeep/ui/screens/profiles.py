"""The profile manager: list, add, edit, duplicate, delete and import saved hosts.

Everything is written through the ProfileStore (atomic, 0600, comments kept) and checked by
the same schema as a profile file, so what the form saves always loads again. Problems are
shown inline under the form, never as a traceback.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from termkeep.config.errors import ConfigError, ProfileLoadError
from termkeep.config.importing import ImportPlan, ImportReport, save_plan
from termkeep.config.profile import InvalidProfileNameError, Profile, validate_profile_name
from termkeep.config.putty import read_putty_sessions, resolve_sessions_dir
from termkeep.config.schema import profile_from_mapping, profile_values
from termkeep.config.store import ProfileStore
from termkeep.ui.plain_text import plain
from termkeep.ui.screens.dialogs import ConfirmScreen

# Form field id -> the profile key it edits; these are the fields people change most.
TEXT_FIELDS: dict[str, str] = {
    "host": "host",
    "port": "port",
    "user": "user",
    "identity": "identity_files",
    "jump": "jump",
    "keepalive": "keepalive.interval",
    "tmux-session": "tmux.session",
}
_NUMBERS = {"port": int, "keepalive.interval": float}


def _nest(values: dict[str, object]) -> dict[str, object]:
    """Dotted keys -> TOML-like nested tables; None (unset) values are left out."""
    nested: dict[str, object] = {}
    for key, value in values.items():
        if value is None:
            continue
        section, _, leaf = key.rpartition(".")
        table = (
            typing.cast(dict[str, object], nested.setdefault(section, {})) if section else nested
        )
        table[leaf] = value
    return nested


def _field_value(key: str, text: str) -> tuple[object, str | None]:
    """The form's text as the profile value, or a problem to show."""
    text = text.strip()
    if not text:
        return None, None
    if key == "identity_files":
        return [part.strip() for part in text.split(",") if part.strip()], None
    if key in _NUMBERS:
        try:
            return _NUMBERS[key](text), None
        except ValueError:
            return None, f"{key!r} must be a number, not {text!r}"
    return text, None


def profile_from_form(
    name: str, texts: dict[str, str], use_tmux: bool, base: Profile | None
) -> Profile:
    """Check the form like a profile file and build the Profile; raise ProfileLoadError."""
    try:
        validate_profile_name(name)
    except InvalidProfileNameError as error:
        raise ConfigError(f"name: {error}") from None
    values = profile_values(base) if base else {}
    problems: list[str] = []
    for field_id, key in TEXT_FIELDS.items():
        value, problem = _field_value(key, texts.get(field_id, ""))
        values[key] = value
        if problem:
            problems.append(problem)
    values["tmux.enabled"] = use_tmux
    if problems:
        raise ConfigError("; ".join(problems))
    return profile_from_mapping(name, _nest(values), "form")


def _read_ssh_config() -> ImportPlan:
    # asyncssh (its config parser) takes about 0.5 s to import; only an import pays for it.
    from termkeep.transport.ssh_config_import import read_ssh_config  # noqa: PLC0415

    return read_ssh_config()


def report_text(report: ImportReport) -> str:
    """An import's outcome in a few lines."""
    lines = [f"Imported {len(report.imported)} from {report.origin}"]
    lines += [f"  + {entry.profile.name}" for entry in report.imported]
    lines += [f"  - {entry.source}: {entry.reason}" for entry in report.skipped]
    return "\n".join(lines)


class ProfileManagerScreen(ModalScreen[None]):
    """Saved hosts on the left, the selected one's form on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "close")]

    def __init__(
        self,
        store: ProfileStore,
        *,
        manage_sessions: Callable[[str], None] | None = None,
        save_open_tab: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.manage_sessions = manage_sessions
        """Shows a saved profile's tmux sessions on its host (the app's screen)."""
        self.save_open_tab = save_open_tab
        """The open tab's host that is not a saved profile (``user@host``, an ssh_config
        alias), and the app's "save this tab as a profile" for it; None when there is none."""
        self.editing: str | None = None
        """Name of the saved profile in the form; None while adding a new one."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="dialog manager"):
            with Vertical(id="list-side"):
                yield Label("Saved hosts", classes="question")
                yield OptionList(id="profiles", markup=False)
                yield Static(id="load-problems", classes="error-text", markup=False)
                if self.save_open_tab is not None:
                    yield Static(
                        plain(f"The open tab {self.save_open_tab[0]} is not saved yet."),
                        classes="hint",
                    )
                    yield Button("Save open tab", id="save-tab", compact=True)
            with VerticalScroll(id="form"):
                yield Label("Name")
                yield Input(id="name", placeholder="web-1", compact=True)
                for field_id, key in TEXT_FIELDS.items():
                    yield Label(key, markup=False)
                    yield Input(id=field_id, compact=True)
                yield Checkbox("run inside tmux (survives reconnects)", True, id="tmux")
                yield Static(id="form-errors", classes="error-text", markup=False)
                with Horizontal(classes="buttons"):
                    yield Button("New", id="new", compact=True)
                    yield Button("Save", variant="primary", id="save", compact=True)
                    yield Button("Duplicate", id="duplicate", compact=True)
                    yield Button("Delete", variant="error", id="delete", compact=True)
                with Horizontal(classes="buttons"):
                    yield Button("Import ssh_config", id="import-ssh", compact=True)
                    yield Button("Import PuTTY", id="import-putty", compact=True)
                    yield Button("tmux sessions", id="sessions", compact=True)
                    yield Button("Close", id="close", compact=True)
                yield Static(id="report", markup=False)

    def on_mount(self) -> None:
        self.reload()
        self.clear_form()

    def on_screen_resume(self) -> None:
        # Back from a dialog that may have saved a profile (the open tab's): list it.
        self.reload(select=self.editing)

    def _save_open_tab(self) -> None:
        if self.save_open_tab is not None:
            self.save_open_tab[1]()

    def reload(self, select: str | None = None) -> None:
        """Re-read the store; list the names and say which files do not load."""
        result = self.store.load_all()
        options = self.query_one("#profiles", OptionList)
        options.clear_options()
        options.add_options(
            [Option(plain(profile.name), id=profile.name) for profile in result.profiles]
        )
        names = [profile.name for profile in result.profiles]
        if select in names:
            options.highlighted = names.index(select)
        problems = "\n".join(str(issue) for issue in result.errors)
        self.query_one("#load-problems", Static).update(plain(problems, multiline=True))

    # --- the form ----------------------------------------------------------------------------

    def clear_form(self) -> None:
        """An empty form for a new profile."""
        self.editing = None
        self._fill(None, "")

    def _fill(self, profile: Profile | None, name: str) -> None:
        self.query_one("#name", Input).value = name
        values = profile_values(profile) if profile else {}
        for field_id, key in TEXT_FIELDS.items():
            value = values.get(key)
            if isinstance(value, list):
                value = ", ".join(value)
            self.query_one(f"#{field_id}", Input).value = "" if value is None else str(value)
        self.query_one("#tmux", Checkbox).value = bool(values.get("tmux.enabled", True))
        self.show_error("")

    def show_error(self, text: str) -> None:
        """Problems with the form, inline under it."""
        self.query_one("#form-errors", Static).update(plain(text, multiline=True))

    def _texts(self) -> dict[str, str]:
        return {field_id: self.query_one(f"#{field_id}", Input).value for field_id in TEXT_FIELDS}

    @on(OptionList.OptionHighlighted, "#profiles")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name is None:
            return
        try:
            profile = self.store.load(name)
        except ConfigError as error:
            self.show_error(str(error))
            return
        self.editing = name
        self._fill(profile, name)

    # --- buttons -----------------------------------------------------------------------------

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions: dict[str, Callable[[], None]] = {
            "new": self.clear_form,
            "save": self.save,
            "duplicate": self.duplicate,
            "delete": self.ask_delete,
            "import-ssh": lambda: self.run_import(_read_ssh_config),
            "import-putty": lambda: self.run_import(
                lambda: read_putty_sessions(resolve_sessions_dir(None))
            ),
            "sessions": self.show_sessions,
            "save-tab": self._save_open_tab,
            "close": self.action_close,
        }
        actions[event.button.id or "close"]()

    def show_sessions(self) -> None:
        """The selected saved profile's tmux sessions on its host, to attach or kill."""
        if self.editing is None:
            self.show_error("Save the profile first: only a saved host's sessions can be listed")
            return
        if self.manage_sessions is not None:
            self.manage_sessions(self.editing)

    def save(self) -> None:
        """Check the form and write it; problems stay inline and nothing is written."""
        name = self.query_one("#name", Input).value.strip()
        use_tmux = self.query_one("#tmux", Checkbox).value
        try:
            base = self.store.load(self.editing) if self.editing else None
            profile = profile_from_form(name, self._texts(), use_tmux, base)
            if self.editing and self.editing != name:
                self.store.rename(self.editing, name)
            self.store.save(profile, replace=self.editing is not None)
        except ProfileLoadError as error:
            self.show_error("\n".join(issue.message for issue in error.issues))
            return
        except (ConfigError, OSError) as error:
            self.show_error(str(error))
            return
        self.editing = name
        self.show_error("")
        self.notify(f"Saved {name}")
        self.reload(select=name)

    def duplicate(self) -> None:
        """Copy the form into a new, unsaved profile with a free name."""
        name = self.query_one("#name", Input).value.strip() or "host"
        copy = f"{name}-copy"
        number = 2
        while copy in self.store.names():
            copy = f"{name}-copy{number}"
            number += 1
        self.editing = None
        self.query_one("#name", Input).value = copy
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
        try:
            report = save_plan(self.store, read(), overwrite=False)
        except (ConfigError, OSError) as error:
            self.query_one("#report", Static).update(
                plain(f"Import failed: {error}", multiline=True)
            )
            return
        self.query_one("#report", Static).update(plain(report_text(report), multiline=True))
        self.reload()

    def action_close(self) -> None:
        """Back to the tabs."""
        self.dismiss(None)
