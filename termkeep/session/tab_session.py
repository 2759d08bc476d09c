"""A tab's session: the session core, with the tab's terminal on top of it.

What keeps the connection (supervisor, connection history, session log, forwards, the
pane's scrollback) is the ``SessionCore`` that ``termkeep attach`` and ``termkeep tunnel``
use too; what only a tab has (emulator, predictor, terminal replies) is its
``SessionTerminal``, the port its view talks to.
"""

from __future__ import annotations

from pathlib import Path

from termkeep.config.profile import Profile
from termkeep.config.settings import DEFAULT_LOG_PATTERN, LogMode
from termkeep.config.store import ProfileStore
from termkeep.records.connection_history import ConnectionHistory
from termkeep.session.away import AwayMark, seen_screen
from termkeep.session.core import SessionCore
from termkeep.session.output_log import OutputLog
from termkeep.session.recorder import ConnectionRecorder
from termkeep.session.tab import OutputListener, SessionTerminal
from termkeep.session.tunnels import TunnelsOnLink
from termkeep.supervisor.state import Status
from termkeep.supervisor.supervisor import Listener, Supervisor
from termkeep.terminal.emulator import DEFAULT_SCROLLBACK_LINES, Emulator
from termkeep.terminal.palette import DEFAULT_PALETTE, Palette
from termkeep.terminal.predict import PredictMode, Predictor
from termkeep.tmux.scrollback import ScrollbackPage, SearchAnswer
from termkeep.transport.prompts import Prompter


class Session:
    """One tab: a profile's tmux session, its emulated screen, and the core keeping it
    attached. Survives every reconnect; only ``close()`` ends it (the tmux session stays on
    the server)."""

    def __init__(
        self,
        profile: Profile,
        prompter: Prompter,
        *,
        size: tuple[int, int] = (80, 24),
        store: ProfileStore | None = None,
        scrollback_lines: int = DEFAULT_SCROLLBACK_LINES,
        palette: Palette = DEFAULT_PALETTE,
        predict: PredictMode = PredictMode.ADAPTIVE,
        log: LogMode = LogMode.OFF,
        log_pattern: str = DEFAULT_LOG_PATTERN,
        history_file: Path | None = None,
    ) -> None:
        """``history_file``: where this session's drops are appended (JSON lines); None
        keeps them in memory only, for the tab's view."""
        self.profile = profile
        self.core = SessionCore(
            profile,
            prompter,
            screen=self._show,
            size=size,
            store=store,
            log=log,
            log_pattern=log_pattern,
            history_file=history_file,
            # A tmux session this tab creates keeps as much history as its own scrollback.
            history_limit=scrollback_lines,
        )
        self.terminal = SessionTerminal.for_tab(
            size=size,
            scrollback_lines=scrollback_lines,
            palette=palette,
            predict=predict,
            send=self.write,
            reply=self.core.reply,
            on_resize=self.core.resize,
        )
        """The screen side, what a view shows: the emulator's one owner."""
        self.core.away.watch_screen(lambda: seen_screen(self.terminal.emulator))
        self.core.on_update(self.terminal.follow_link)
        self.core.supervisor.add_held_keys_listener(self.terminal.held_keys_fate)

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def supervisor(self) -> Supervisor:
        return self.core.supervisor

    @property
    def recorder(self) -> ConnectionRecorder:
        """Drops, RTT, bytes and held keys of this session, for the connection history."""
        return self.core.recorder

    @property
    def log(self) -> OutputLog:
        """The session log (off unless the settings or the tab's toggle start it)."""
        return self.core.log

    @property
    def tunnels(self) -> TunnelsOnLink:
        """The profile's forwards, on whatever link is attached."""
        return self.core.tunnels

    @property
    def predictor(self) -> Predictor:
        """Guesses the echo of typed keys; the view draws it over the emulator."""
        predictor = self.terminal.predictor
        assert predictor is not None  # a tab's terminal always has one (for_tab)
        return predictor

    @property
    def emulator(self) -> Emulator:
        """The emulated screen (its owner is ``terminal``)."""
        return self.terminal.emulator

    @property
    def title(self) -> str:
        """The title the remote set (OSC 0/2), sanitised by the emulator."""
        return self.terminal.title

    def on_output(self, listener: OutputListener) -> None:
        """Call ``listener`` after the emulator has taken new bytes (the view redraws)."""
        self.terminal.on_output(listener)

    def set_palette(self, palette: Palette) -> None:
        """Paint with a new theme's terminal colours."""
        self.terminal.set_palette(palette)

    def on_update(self, listener: Listener) -> None:
        """Call ``listener`` with every status change and notice of the supervisor."""
        self.core.on_update(listener)

    async def start(self) -> None:
        # Started here, not in __init__, so that what goes wrong reaches the tab's listeners.
        await self.core.start()

    async def close(self) -> None:
        await self.core.close()

    def status(self) -> Status:
        return self.core.status()

    def write(self, data: bytes) -> None:
        """Keys from the user: sent now, or held while the link is down."""
        self.core.write(data)

    def connection_history(self) -> ConnectionHistory:
        """This session's drops, RTT samples, byte counts and held keys so far."""
        return self.core.connection_history()

    def reconnect_now(self) -> None:
        self.core.reconnect_now()

    def remote_scrollback_available(self) -> bool:
        """Whether the tab is attached to a tmux session whose history can be read."""
        return self.core.scrollback.available()

    async def read_scrollback(self, first: int, last: int) -> ScrollbackPage:
        """Lines ``first``..``last`` of the tmux pane (0 is the screen's top line), read on
        a side channel of the current connection. ScrollbackError when there is none."""
        return await self.core.scrollback.read_page(first, last)

    async def search_scrollback(
        self, pattern: str, cursor: int, *, forward: bool, context: int
    ) -> SearchAnswer:
        """Rows of the tmux pane that may hold ``pattern`` (ASCII case folded on the server:
        the caller checks them), nearest ``cursor`` first, and the rows ``context`` around
        the first: one request on the current connection. ScrollbackError without one."""
        return await self.core.scrollback.search(pattern, cursor, forward=forward, context=context)

    def keep_scrollback_warm(self) -> None:
        """Open the scrollback helper whenever the tab attaches to tmux."""
        self.core.scrollback.keep_warm()

    def away_mark(self) -> AwayMark | None:
        """Where the lines printed during the latest long outage start, if they were counted
        (for the scrollback view's ruler)."""
        return self.core.away.latest

    def _show(self, data: bytes) -> None:
        self.terminal.feed(data)
