"""A stand-in terminal body for the app's tests on scripted sessions.

It only shows the tab's name and sends typed characters to the session, which is enough
for the app's own flows (prefix handling, tabs, status) to be driven and tested.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Static

from termkeep.ui.session_api import SessionLike
from termkeep.ui.typed_input import Typed, TypedKey, TypedListener


class PlainTerminal(Static, can_focus=True):
    """Focusable body that passes printable and control characters to ``session.write``."""

    DEFAULT_CLASSES = "terminal-body"

    def __init__(self, session: SessionLike) -> None:
        super().__init__(f"{session.name}")
        self.session = session
        self.on_typed: TypedListener | None = None
        """Told of every key typed here (broadcast input)."""

    def on_key(self, event: events.Key) -> None:
        """Every key belongs to the remote: stop Textual from acting on it."""
        event.stop()
        event.prevent_default()
        typed = TypedKey(event.key, event.character)
        self.receive_typed(typed)
        if self.on_typed is not None:
            self.on_typed(typed)

    def receive_typed(self, typed: Typed) -> None:
        """Typed characters and pasted text go to the session as they are (no terminal
        modes to follow here)."""
        text = typed.character if isinstance(typed, TypedKey) else typed.text
        if text:
            self.session.write(text.encode())
