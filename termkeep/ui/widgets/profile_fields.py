"""The rows of the profile editor: one per profile key, laid out from ``config.fields``.

A row shows the key's plain-words label, the editor for its value, its one line of help and,
when the value is wrong, the file loader's message. An empty editor means "unset": it shows,
dimmed, the value that then applies and where it comes from ("5 (default)"). Yes/no keys and
keys with a few fixed words are picked from a list whose first entry is that unset value, so
every key can be returned to its default the same way: clear it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from termkeep.config.fields import FieldInfo
from termkeep.config.schema import CHOICES, FORWARDS_KEY, KEYS, Kind
from termkeep.ui.plain_text import plain, plain_str
from termkeep.ui.profile_draft import field_text

type Choice = bool | str


def field_id(key: str) -> str:
    """The widget id of a key's editor: ``keepalive.interval`` -> ``keepalive-interval``."""
    return key.replace(".", "-").replace("_", "-")


def choices_of(key: str) -> list[tuple[str, Choice]] | None:
    """The list a key's value is picked from, or None for a typed value."""
    if key in CHOICES:
        return [(choice, choice) for choice in CHOICES[key]]
    spec = KEYS.get(key)
    if spec is not None and spec.kind is Kind.BOOL:
        return [("on", True), ("off", False)]
    return None


class FieldRow(Vertical):
    """One key: label, editor, help and its problems."""

    def __init__(self, info: FieldInfo, suggestions: Sequence[str] = ()) -> None:
        super().__init__(id=f"row-{field_id(info.key)}", classes="field-row")
        self.info = info
        self.suggestions = list(suggestions)

    @property
    def key(self) -> str:
        """The dotted key this row edits."""
        return self.info.key

    def compose(self) -> ComposeResult:
        ident = field_id(self.key)
        yield Label(plain(self.info.label), classes="field-label")
        choices = choices_of(self.key)
        if choices is not None:
            yield Select[Choice](choices, id=ident, compact=True, allow_blank=True)
        else:
            suggester = (
                SuggestFromList(self.suggestions, case_sensitive=False)
                if self.suggestions
                else None
            )
            yield Input(id=ident, compact=True, suggester=suggester)
        yield Static(plain(self.info.help), classes="field-help")
        yield Static(id=f"problem-{ident}", classes="field-problem error-text", markup=False)

    def show(self, value: object | None, applied: str) -> None:
        """Put ``value`` (None: unset) in the editor; ``applied`` is what holds while unset."""
        editor = self.editor
        if isinstance(editor, Select):
            editor.prompt = plain_str(applied)
            # ``type`` too: a broken file's ``keepalive = 1`` is not "on" (1 == True).
            match = [
                choice
                for _label, choice in choices_of(self.key) or []
                if choice == value and type(choice) is type(value)
            ]
            if match:
                editor.value = match[0]
            else:
                editor.clear()
        else:
            editor.placeholder = plain_str(applied)
            editor.value = field_text(value)

    def show_applied(self, applied: str) -> None:
        """Update what the empty editor says holds (another field changed it)."""
        editor = self.editor
        if isinstance(editor, Select):
            editor.prompt = plain_str(applied)
        else:
            editor.placeholder = plain_str(applied)

    def show_problems(self, messages: Sequence[str]) -> None:
        """The loader's messages for this key, or none."""
        problem = self.query_one(".field-problem", Static)
        problem.update(plain("\n".join(messages), multiline=True))
        problem.set_class(bool(messages), "-shown")
        self.set_class(bool(messages), "-wrong")

    @property
    def editor(self) -> Input | Select[Choice]:
        """The editor widget of this row."""
        widget = self.query_one(f"#{field_id(self.key)}")
        assert isinstance(widget, Input | Select)
        return widget


class ForwardsRow(Vertical):
    """The forward list: each forward as an ssh flag, a line to add one, a button to remove."""

    class AddRequested(Message):
        """The user typed a forward and pressed enter (or Add)."""

        def __init__(self, typed: str) -> None:
            super().__init__()
            self.typed = typed

    class RemoveRequested(Message):
        """The user asked to remove the highlighted forward."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    BINDINGS: ClassVar[list[BindingType]] = [Binding("delete", "remove_forward", "remove")]

    def __init__(self, info: FieldInfo) -> None:
        super().__init__(id=f"row-{field_id(info.key)}", classes="field-row forwards-row")
        self.info = info

    key = FORWARDS_KEY

    def compose(self) -> ComposeResult:
        yield Label(plain(self.info.label), classes="field-label")
        yield OptionList(id="forward-list", markup=False)
        with Horizontal(classes="forward-add"):
            yield Input(
                id="forward-new", compact=True, placeholder="-L 8080:localhost:80, enter adds"
            )
            yield Button("Add", id="forward-add", compact=True)
            yield Button("Remove", id="forward-remove", compact=True)
        yield Static(plain(self.info.help), classes="field-help")
        yield Static(id="problem-forwards", classes="field-problem error-text", markup=False)

    def show_forwards(self, flags: Sequence[str], applied: str) -> None:
        """List the forwards (as ssh flags); an empty list says what applies."""
        options = self.query_one("#forward-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        if flags:
            options.add_options([Option(Text(plain_str(flag))) for flag in flags])
            options.highlighted = min(highlighted or 0, len(flags) - 1)
        else:
            options.add_option(Option(Text(plain_str(applied), style="dim"), disabled=True))

    def show_problems(self, messages: Sequence[str]) -> None:
        """Why the last forward typed was not added, or the file's problem with the list."""
        problem = self.query_one(".field-problem", Static)
        problem.update(plain("\n".join(messages), multiline=True))
        problem.set_class(bool(messages), "-shown")
        self.set_class(bool(messages), "-wrong")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "forward-new":
            event.stop()
            self.post_message(self.AddRequested(event.value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "forward-add":
            self.post_message(self.AddRequested(self.query_one("#forward-new", Input).value))
        elif event.button.id == "forward-remove":
            self.request_remove()

    def request_remove(self) -> None:
        """Ask to remove the highlighted forward."""
        highlighted = self.query_one("#forward-list", OptionList).highlighted
        if highlighted is not None:
            self.post_message(self.RemoveRequested(highlighted))

    def action_remove_forward(self) -> None:
        """Delete on the list removes the highlighted forward (in the line, it deletes text:
        the focused Input's own binding comes first)."""
        self.request_remove()
