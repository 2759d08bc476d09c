"""Small modal questions: yes/no, one line of text, pick one of a list, help."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from termkeep.ui.plain_text import plain


class ConfirmScreen(ModalScreen[bool]):
    """Asks a yes/no question; y/enter on Yes confirms, n/escape declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str, confirm_label: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.question), classes="question")
            with Horizontal(classes="buttons"):
                yield Button(plain(self.confirm_label), variant="error", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        # The safe answer has the focus, so a stray enter never closes a live session.
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Dismiss with ``answer``."""
        self.dismiss(answer)


class TextInputScreen(ModalScreen[str | None]):
    """One line of text (a tab name); enter accepts, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.title_text), classes="question")
            yield Input(self.value, placeholder=self.placeholder, id="text")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


def fuzzy_filter(query: str, candidates: Sequence[str]) -> list[str]:
    """Candidates matching ``query`` as a subsequence, best first (ties keep list order)."""
    if not query:
        return list(candidates)
    matcher = Matcher(query)
    scored = [(matcher.match(candidate), index) for index, candidate in enumerate(candidates)]
    ranked = sorted((-score, index) for score, index in scored if score > 0)
    return [candidates[index] for _, index in ranked]


class PickerScreen(ModalScreen[str | None]):
    """Fuzzy search over a list of names; enter picks the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel"),
        Binding("down", "move(1)", "next", show=False),
        Binding("up", "move(-1)", "previous", show=False),
    ]

    def __init__(
        self,
        title: str,
        names: Sequence[str],
        empty_hint: str = "",
        *,
        preview: Callable[[str], None] | None = None,
        initial: str | None = None,
        marks: Mapping[str, str] | None = None,
        accept_typed: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.names = list(names)
        self.empty_hint = empty_hint
        self.marks = dict(marks or {})
        """A word shown after some names (where the name comes from: ``ssh_config``)."""
        self.accept_typed = accept_typed
        """Enter on typed text that picks nothing (or reads like ``user@host:port``) returns
        the text itself."""
        self.preview = preview
        """Called with each highlighted name (a theme picker applies it at once)."""
        self.initial = initial
        """The name highlighted first, when the list is not filtered."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label(plain(self.title_text), classes="question")
            placeholder = "type to filter, or user@host[:port]" if self.accept_typed else None
            yield Input(placeholder=placeholder or "type to filter", id="filter")
            yield OptionList(id="choices", markup=False)
            yield Static(plain(self.empty_hint), id="empty-hint", classes="hint")

    def on_mount(self) -> None:
        self._show(self.names)
        self.query_one("#filter", Input).focus()

    @property
    def shown(self) -> list[str]:
        """The names the list shows now, in order."""
        options = self.query_one("#choices", OptionList)
        return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]

    def _show(self, names: list[str]) -> None:
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        options.add_options([Option(self.label_for(name), id=name) for name in names])
        if names:
            start = names.index(self.initial) if self.initial in names else 0
            options.highlighted = start
        self.query_one("#empty-hint").display = not names

    def label_for(self, name: str) -> Content:
        """How ``name`` is listed: plain, with its mark when it has one."""
        mark = self.marks.get(name)
        if mark is None:
            return plain(name)
        return Content.assemble(plain(name), ("  · " + mark, "dim"))

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._show(fuzzy_filter(event.value, self.names))

    @on(OptionList.OptionHighlighted, "#choices")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.preview is not None:
            self.preview(str(event.option.id))

    @on(Input.Submitted, "#filter")
    def _submit(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        options = self.query_one("#choices", OptionList)
        if self._is_typed_target(typed, nothing_highlighted=options.highlighted is None):
            self.dismiss(typed)
            return
        if options.highlighted is not None:
            self.dismiss(str(options.get_option_at_index(options.highlighted).id))

    def _is_typed_target(self, typed: str, *, nothing_highlighted: bool) -> bool:
        """Typed text the user means as a host: it picks no name, or reads like one."""
        if not (self.accept_typed and typed and typed not in self.names):
            return False
        return nothing_highlighted or "@" in typed or ":" in typed

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))

    def action_move(self, delta: int) -> None:
        """Move the highlight while the filter keeps the keyboard."""
        options = self.query_one("#choices", OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = (current + delta) % options.option_count

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Lists the prefix and every action with its key, from the live keymap."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "close")]

    def __init__(
        self,
        prefix_label: str,
        rows: Sequence[tuple[str, str, str]],
        sections: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (),
    ) -> None:
        super().__init__()
        self.prefix_label = prefix_label
        self.rows = list(rows)
        self.sections = list(sections)
        """Keys of a screen of the app's (title, [(key, what it does)]), listed after."""

    def compose(self) -> ComposeResult:
        width = max((len(key) for key, _, _ in self.rows), default=1)
        lines = [f"Press {self.prefix_label}, then:", ""]
        lines += [f"  {key:<{width}}  {text}  ({action})" for key, text, action in self.rows]
        lines += ["", f"  {self.prefix_label} twice sends it to the remote; escape cancels."]
        for title, keys in self.sections:
            key_width = max((len(key) for key, _ in keys), default=1)
            lines += ["", title, ""]
            lines += [f"  {key:<{key_width}}  {text}" for key, text in keys]
        with VerticalScroll(classes="dialog help"):
            yield Label("Keys", classes="question")
            yield Static("\n".join(lines), id="help-text", markup=False)
