"""Questions about the clipboard: a background tab's write, and a paste of several lines.

Both come up while the user may be typing, so neither takes a one-letter answer: a "y"
meant for the remote must never allow anything. The safe button has the focus (an Enter
typed on into the question refuses), and escape refuses too.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from termkeep.ui.plain_text import plain

PREVIEW_LINES = 4
PREVIEW_CHARACTERS = 300


def preview(text: str) -> str:
    """The first lines of ``text``, cut short, for a question to show."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    shown = "\n".join(lines[:PREVIEW_LINES])
    if len(shown) > PREVIEW_CHARACTERS:
        shown = shown[:PREVIEW_CHARACTERS]
    cut = len(shown) < len("\n".join(lines).rstrip("\n"))
    return shown + ("\n…" if cut else "")


class _SafeQuestion(ModalScreen[bool]):
    """A yes/no question whose default, focused answer is no."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "answer(False)", "no")]

    def __init__(self, question: str, detail: str, yes_label: str, no_label: str) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes_label = yes_label
        self.no_label = no_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger"):
            yield Label(plain(self.question), classes="question")
            yield Static(plain(self.detail, multiline=True), classes="detail")
            with Horizontal(classes="buttons"):
                yield Button(plain(self.yes_label), variant="error", id="yes")
                yield Button(plain(self.no_label), id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Dismiss with ``answer``."""
        self.dismiss(answer)


class ClipboardWriteScreen(_SafeQuestion):
    """A background tab's program wants to set the local clipboard: allow it for that tab?"""

    def __init__(self, tab: str, text: str) -> None:
        count = len(text)
        super().__init__(
            f"{tab}, a tab in the background, wants to set your clipboard",
            f"{count} character{'s' if count != 1 else ''}:\n{preview(text)}\n\n"
            "The answer holds for this tab until it is closed.",
            "Allow for this tab",
            "Deny",
        )


class PasteConfirmScreen(_SafeQuestion):
    """A paste of several lines would run each one: send it anyway?"""

    def __init__(self, tab: str, text: str, lines: int) -> None:
        super().__init__(
            f"Paste {lines} line{'s' if lines != 1 else ''} into {tab}?",
            "The program there reads the paste as typing (no bracketed paste): "
            f"a shell runs each line at once.\n\n{preview(text)}",
            "Paste",
            "Cancel",
        )
