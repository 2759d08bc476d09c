""" "While you were away": one notice after a reattach that ended an outage of more than a
few seconds, saying how long it was, how many lines the pane printed meanwhile and whether
the command in front changed or ended.

It follows the supervisor's status changes only, so an idle tab costs nothing: the screen
seen when the link dropped is taken then (from whoever shows it: a tab's emulator; for the
headless attach, which passes bytes straight through, its last output replayed by
``RecentOutput``), and the pane is read once after the reattach, on a side channel of the
new connection (``tmux.away``). What ran in front before comes with every attach's report
(``PlainAttach.foreground``), at no cost.

The notice goes where the session's notices go (the tab, the session log, the headless
attach's stderr) and into the connection history; ``latest`` keeps where the unseen lines
start, for the scrollback view's ruler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from termkeep.session.recorder import ConnectionRecorder
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.supervisor import Supervisor
from termkeep.supervisor.updates import Notice, Update
from termkeep.tmux.attach import PlainAttach
from termkeep.tmux.away import (
    AWAY_ROWS,
    CountKind,
    LineCount,
    PaneNow,
    SeenScreen,
    away_command,
    away_text,
    count_new_lines,
    foreground_text,
    lines_text,
    parse_away,
)
from termkeep.transport.link import Link, SideChannelError

if TYPE_CHECKING:
    from termkeep.terminal.emulator import Emulator

_log = logging.getLogger(__name__)

AWAY_MIN_SECONDS = 5.0
"""Outages shorter than this get no notice: the reattach notice says enough."""
READ_TIMEOUT = 20.0

_DOWN = frozenset({Phase.STALLED, Phase.RECONNECTING})
"""States that start an outage when the session was attached (a prompt for credentials
on the way back, ``NEEDS_USER``, is still part of it)."""
_GONE = frozenset({Phase.DETACHED, Phase.ENDED, Phase.FAILED, Phase.CLOSED})

type SeenSource = Callable[[], SeenScreen | None]


@dataclass(frozen=True, slots=True)
class AwayMark:
    """Where the lines printed during the latest outage start, for the scrollback view."""

    text: str
    """The notice."""
    first_unseen: int
    """tmux row (0 the screen's top, negative the history) of the first line not seen, when
    the pane was read; lines printed since push it up."""
    history: int
    """The pane's history size then (its growth since tells how far it moved)."""
    limit: int
    """The pane's history limit (at the limit, growth can no longer be told)."""
    first_text: str = ""
    """The first unseen row's text (trailing blanks cut), to tell it is still that row."""
    lines: int = 0
    """Lines printed during the outage (0: nothing to mark)."""


RECENT_BYTES = 256 * 1024
"""Output kept by ``RecentOutput``: tmux's scrolling output redraws every row many times
over in far less, so the screen replayed from it is the screen shown."""


def seen_screen(emulator: Emulator) -> SeenScreen | None:
    """The rows above the cursor, as ``emulator`` shows them (when the link drops)."""
    # Imported here: the core of ``termkeep tunnel`` never loads the terminal engine.
    from termkeep.terminal.emulator import row_text  # noqa: PLC0415

    if emulator.scroll_offset:
        return None  # the view is scrolled back: these rows are not the screen's
    snapshot = emulator.snapshot()
    rows = [row_text(row) for row in snapshot.rows]
    if snapshot.cursor is not None:
        return SeenScreen(tuple(rows[: snapshot.cursor.y]))
    # A hidden cursor (tmux hides it while it redraws): the rows down to the last one with
    # text, leaving out the bottom row, tmux's status line by default.
    shown = rows[:-1]
    while shown and not shown[-1]:
        shown.pop()
    return SeenScreen(tuple(shown))


class RecentOutput:
    """The screen seen, for a session that keeps none (``termkeep attach`` passes the bytes
    straight to the terminal): the last ``RECENT_BYTES`` are kept, and replayed into an
    emulator only when the link drops, so no byte is emulated on the way."""

    def __init__(self, size: tuple[int, int]) -> None:
        self._data = bytearray()
        self._size = size

    def feed(self, data: bytes) -> None:
        self._data += data
        if len(self._data) > 2 * RECENT_BYTES:  # trimmed now and then, not at every chunk
            del self._data[:-RECENT_BYTES]

    def resize(self, columns: int, rows: int) -> None:
        self._size = (columns, rows)

    def seen(self) -> SeenScreen | None:
        """The screen the kept bytes draw, at the terminal's size."""
        from termkeep.terminal.emulator import Emulator  # noqa: PLC0415 - only at a drop

        columns, rows = self._size
        emulator = Emulator(columns, rows, write=lambda _reply: None, scrollback_lines=0)
        emulator.feed(bytes(self._data[-RECENT_BYTES:]))
        return seen_screen(emulator)


class AwayWatch:
    """Says what happened while a session was away, after each long enough outage."""

    def __init__(
        self,
        supervisor: Supervisor,
        attach: PlainAttach | None,
        recorder: ConnectionRecorder,
        *,
        min_seconds: float = AWAY_MIN_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._supervisor = supervisor
        self._attach = attach
        self._recorder = recorder
        self._min_seconds = min_seconds
        self._monotonic = monotonic
        self._seen_source: SeenSource | None = None
        self._attached = False
        self._away_since: float | None = None
        self._seen: SeenScreen | None = None
        self._foreground: str | None = None
        """The command in front at the attach before the outage."""
        self._link: Link | None = None
        """The link of the latest attach (the same one may come back after a stall)."""
        self._reading: asyncio.Task[None] | None = None
        self.latest: AwayMark | None = None
        supervisor.add_listener(self._update)

    def watch_screen(self, seen: SeenSource) -> None:
        """Where the screen seen at a drop comes from (a tab's emulator)."""
        self._seen_source = seen

    async def close(self) -> None:
        """Stop a read in progress."""
        reading = self._reading
        if reading is not None:
            reading.cancel()
            with contextlib.suppress(BaseException):
                await reading

    def _update(self, update: Update) -> None:
        if isinstance(update, Notice):
            return
        if update.state is Phase.ATTACHED:
            if not self._attached:
                self._reattached()
            self._attached = True
        elif self._attached and update.state in _DOWN:
            self._attached = False
            self._dropped(update)
        elif update.state in _GONE:
            self._attached = False
            self._away_since = None  # no reattach to tell of

    def _dropped(self, status: Status) -> None:
        if self._reading is not None:
            self._reading.cancel()  # its link is going: the next reattach tells instead
        # Away from the last byte received, not from when the silence was noticed.
        age = status.last_contact_age or 0.0
        self._away_since = self._monotonic() - age
        self._seen = self._take_seen()

    def _take_seen(self) -> SeenScreen | None:
        if self._seen_source is None:
            return None
        try:
            return self._seen_source()
        except Exception:  # a screen that cannot be read only costs the count
            _log.debug("screen not taken at the drop", exc_info=True)
            return None

    def _reattached(self) -> None:
        since, self._away_since = self._away_since, None
        before = self._foreground
        if self._attach is not None:
            self._foreground = self._attach.foreground
        link, previous = self._supervisor.current_link, self._link
        self._link = link
        if since is None or link is None or not link.tmux:
            return
        if link is not previous and not link.reattached_existing:
            return  # a new tmux session (the old one was killed) is told of as such
        seconds = self._monotonic() - since
        if seconds < self._min_seconds:
            return
        if self._reading is not None:
            self._reading.cancel()
        self._reading = asyncio.ensure_future(self._tell(link, seconds, before, self._seen))
        self._reading.add_done_callback(self._told)

    async def _tell(
        self, link: Link, seconds: float, before: str | None, seen: SeenScreen | None
    ) -> None:
        assert self._attach is not None  # a link with tmux was attached by it
        try:
            result = await link.run(away_command(self._attach.session), timeout=READ_TIMEOUT)
            now: PaneNow | None = parse_away(result.stdout, AWAY_ROWS)
        except (SideChannelError, ValueError) as error:
            _log.debug("pane not read after the reattach: %s", error)
            now = None
        count = count_new_lines(seen, now) if seen is not None and now is not None else None
        if now is None:
            lines = "new lines not counted: the pane could not be read"
        elif count is None and self._seen_source is not None:
            lines = "new lines not counted: the screen seen could not be read"
        elif count is None:
            lines = ""  # nothing shows this session's screen
        else:
            lines = lines_text(count)
        front = foreground_text(
            before, now.foreground if now else None, now.default_shell if now else None
        )
        text = away_text(seconds, lines, front)
        self.latest = _mark(text, count, now)
        self._supervisor.announce(text)
        self._recorder.away(text)

    def _told(self, task: asyncio.Future[None]) -> None:
        if self._reading is task:
            self._reading = None
        if not task.cancelled() and task.exception() is not None:
            _log.debug("away notice failed", exc_info=task.exception())


def _mark(text: str, count: LineCount | None, now: PaneNow | None) -> AwayMark | None:
    """The ruler's place for the latest away (None when it was not counted: no ruler is
    better than the previous away's)."""
    if now is None or count is None or count.kind is not CountKind.COUNTED:
        return None
    if count.first_unseen is None:
        return None
    index = count.first_unseen + now.above
    first_text = now.rows[index] if 0 <= index < len(now.rows) else ""
    return AwayMark(text, count.first_unseen, now.history, now.limit, first_text, count.lines or 0)
