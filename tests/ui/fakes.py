"""A scripted session for the app's own tests.

The real Session (supervisor + emulator over real sshd and tmux) has its own end-to-end
tests; these flows only need something that changes state when the test says so and records
what the app asked of it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from termkeep.config.profile import Profile
from termkeep.config.settings import Settings
from termkeep.config.store import ProfileStore
from termkeep.config.themes import load_themes
from termkeep.records.connection_history import ConnectionHistory
from termkeep.supervisor.phase import Phase
from termkeep.terminal.palette import Palette
from termkeep.tmux.pane import PanePlace
from termkeep.transport.tunnels import TunnelSet
from termkeep.ui.app import TermkeepApp
from termkeep.ui.session_api import Listener, NoticeListener, StatusSnapshot, TabTransfers
from tests.ui.plain_terminal import PlainTerminal

SCRIPTED_START = 1_796_000_000.0
"""When every scripted session started (Unix time): pictures do not depend on the clock."""


class ScriptedSession:
    """Implements SessionLike; ``set`` moves it to a new status and tells the listeners."""

    def __init__(
        self, name: str, state: Phase = Phase.ATTACHED, tmux_session: str | None = None
    ) -> None:
        self.name = name
        self.label = name
        self.tmux_session = tmux_session
        self.snapshot = StatusSnapshot(state=state, destination=f"alice@{name}")
        self.listeners: list[Listener] = []
        self.written = bytearray()
        self.reconnects = 0
        self.palettes: list[Palette] = []
        self.notice_listeners: list[NoticeListener] = []
        self.closed = False
        self.history = ConnectionHistory(
            profile=name, host=f"{name}.example", started=SCRIPTED_START, now=SCRIPTED_START
        )
        """What ``connection_history`` returns; a test sets it to what it wants shown."""

    theme: str | None = None
    profile: Profile | None = None
    tunnels: TunnelSet | None = None
    transfers: TabTransfers | None = None
    started = False

    async def pane_place(self) -> PanePlace | None:
        """A scripted session runs without tmux."""
        return None

    async def start(self) -> None:
        """Record that the app started the session."""
        self.started = True

    def toggle_log(self) -> str:
        """A scripted session has no output to log."""
        return "this tab keeps no log"

    def connection_history(self) -> ConnectionHistory:
        """The scripted history."""
        return self.history

    def status(self) -> StatusSnapshot:
        """The scripted status."""
        return self.snapshot

    def add_listener(self, listener: Listener) -> None:
        """Keep the pane's status listener."""
        self.listeners.append(listener)

    def add_notice_listener(self, listener: NoticeListener) -> None:
        """Keep the pane's notice listener."""
        self.notice_listeners.append(listener)

    def set_palette(self, palette: Palette) -> None:
        """Record each palette the app gives the session."""
        self.palettes.append(palette)

    def write(self, data: bytes) -> None:
        """Record what the terminal sent to the remote."""
        self.written += data

    def reconnect_now(self) -> None:
        """Count reconnect requests."""
        self.reconnects += 1

    async def close(self) -> None:
        """Record that the app closed the session."""
        self.closed = True

    def set(self, notice: str | None = None, **changes: Any) -> None:
        """Change the status (fields of StatusSnapshot) and tell the listeners, with an
        optional notice, in the order a supervisor does: status first, then the notice."""
        self.snapshot = dataclasses.replace(self.snapshot, **changes)
        for listener in self.listeners:
            listener()
        if notice is not None:
            for notice_listener in self.notice_listeners:
                notice_listener(notice)


class RecordingApp(TermkeepApp):
    """TermkeepApp with scripted sessions, recording its notifications."""

    def __init__(self, store: ProfileStore, settings: Settings | None = None, **kw: Any) -> None:
        self.sessions: dict[str, ScriptedSession] = {}
        self.messages: list[str] = []
        self.profile_themes: dict[str, str] = {}
        """Profile name -> the theme its (scripted) profile sets."""
        kw.setdefault("open_session", self._open)
        if kw["open_session"] is not None:
            # Scripted sessions have no screen of their own; real ones get TerminalViews.
            kw.setdefault("terminal_factory", PlainTerminal)
        kw.setdefault("restore", False)  # each test starts with no tabs unless it asks
        kw.setdefault("themes", load_themes(user_dir=Path("/nonexistent-termkeep-themes")))
        super().__init__(
            settings=settings,
            store=store,
            **kw,
        )

    def _open(self, name: str, tmux_session: str | None = None) -> ScriptedSession:
        session = ScriptedSession(name, tmux_session=tmux_session or f"termkeep-{name}")
        session.theme = self.profile_themes.get(name)
        self.sessions[name] = session
        return session

    def notify(self, message: str, **kw: Any) -> None:
        """Record every notification's text, then show it as usual."""
        self.messages.append(message)
        super().notify(message, **kw)
