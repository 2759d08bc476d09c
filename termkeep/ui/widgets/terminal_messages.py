"""The messages a TerminalView posts to its tab's pane and the app. Each is named as if
nested in TerminalView (``TerminalView.Bell``, handlers ``on_terminal_view_bell``): the view
re-exports them as class attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from termkeep.terminal.paste import PasteCheck, line_count

if TYPE_CHECKING:
    from termkeep.ui.widgets.terminal_view import TerminalView


class TitleChanged(Message, namespace="terminal_view"):
    """The remote set the window title (already sanitized)."""

    def __init__(self, view: TerminalView, title: str) -> None:
        super().__init__()
        self.view = view
        self.title = title


class Bell(Message, namespace="terminal_view"):
    """The remote rang the bell."""

    def __init__(self, view: TerminalView) -> None:
        super().__init__()
        self.view = view


class ClipboardQuestion(Message, namespace="terminal_view"):
    """A background tab's program wants to set the clipboard: ask the user, then call
    ``view.clipboard_answered`` (the ClipboardGate asks once per tab)."""

    def __init__(self, view: TerminalView, text: str) -> None:
        super().__init__()
        self.view = view
        self.text = text


class ClipboardSet(Message, namespace="terminal_view"):
    """The remote's write reached the local clipboard: announce it."""

    def __init__(self, view: TerminalView, text: str) -> None:
        super().__init__()
        self.view = view
        self.text = text


class PasteQuestion(Message, namespace="terminal_view"):
    """A paste waits on ``check``: ask the user, then call ``view.paste_answered``."""

    def __init__(
        self, view: TerminalView, text: str, check: PasteCheck, rest: tuple[PasteCheck, ...]
    ) -> None:
        super().__init__()
        self.view = view
        self.text = text
        self.check = check
        self.rest = rest
        """The checks still to come once this one lets the paste go on."""

    @property
    def lines(self) -> int:
        """How many lines the paste holds."""
        return line_count(self.text)
