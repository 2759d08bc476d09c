"""One tab's content: the terminal body and its status line, following the session."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget

from termkeep.ui.session_api import SessionLike, StatusSnapshot, TabState
from termkeep.ui.widgets.status_line import StatusLine, format_seconds

type TerminalFactory = Callable[[SessionLike], Widget]

STATUS_TICK_SECONDS = 1.0
"""How often the status line re-reads the session, for contact age and retry countdown."""


class SessionPane(Vertical):
    """Shows a session and tells the app when its state or title changes."""

    DEFAULT_CLASSES = "session-pane"

    class Changed(Message):
        """The session's status changed (state, title, or anything on the status line)."""

        def __init__(self, pane: SessionPane, previous: TabState) -> None:
            super().__init__()
            self.pane = pane
            self.previous = previous

    def __init__(
        self,
        session: SessionLike,
        terminal_factory: TerminalFactory,
        *,
        clock: Callable[[], float] = time.monotonic,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.session = session
        self.custom_label: str | None = None
        """Set by "rename"; wins over the remote's title."""
        self._terminal_factory = terminal_factory
        self._clock = clock
        self._status = session.status()
        self._outage_started: float | None = None

    @property
    def status(self) -> StatusSnapshot:
        """The last status read from the session."""
        return self._status

    @property
    def label(self) -> str:
        """Rename, else the remote's title, else the profile name."""
        return self.custom_label or self._status.title or self.session.name

    def compose(self) -> ComposeResult:
        yield self._terminal_factory(self.session)
        yield StatusLine()

    def on_mount(self) -> None:
        self.query_one(StatusLine).show(self._status)
        self.session.add_listener(self.refresh_status)
        self.set_interval(STATUS_TICK_SECONDS, self.refresh_status)

    def focus_terminal(self) -> None:
        """Give the keyboard to the terminal body."""
        self.children[0].focus()

    def refresh_status(self) -> None:
        """Re-read the session; notify on drops and reattaches."""
        previous = self._status
        self._status = self.session.status()
        if not self.is_mounted:
            return
        self.query_one(StatusLine).show(self._status)
        if previous.state is not self._status.state:
            self._announce(previous.state, self._status)
        if previous != self._status:
            self.post_message(self.Changed(self, previous.state))

    def _announce(self, previous: TabState, status: StatusSnapshot) -> None:
        name = self.label
        cause = f": {status.cause}" if status.cause else ""
        if status.state.lost and not previous.lost:
            self._outage_started = self._clock()
            self.notify(f"{name}: connection lost{cause}; reconnecting", severity="warning")
        elif status.state is TabState.ATTACHED and previous.lost:
            took = self._clock() - (self._outage_started or self._clock())
            self._outage_started = None
            self.notify(f"{name}: reattached after {format_seconds(took)}")
        elif status.state is TabState.ENDED:
            self.notify(f"{name}: session ended")
        elif status.state is TabState.DETACHED:
            self.notify(f"{name}: detached; the tmux session is kept on the server")
        elif status.state in {TabState.FAILED, TabState.NEEDS_USER}:
            self.notify(f"{name}: {status.state.value}{cause}", severity="error")
