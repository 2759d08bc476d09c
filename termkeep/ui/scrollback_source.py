"""Where the scrollback view's lines come from: the remote tmux pane, or termkeep's own.

A tab in tmux reads the pane's history from the server (so output printed while termkeep was
away is there), newest page first and older pages as the user scrolls up. A tab without
tmux reads the Emulator's own scrollback, all at once (it is already in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from termkeep.session.away import AwayMark
from termkeep.session.tab_session import Session
from termkeep.terminal.emulator import CellStyle
from termkeep.terminal.history_lines import HistoryLine, line_of_row
from termkeep.tmux.scrollback import PaneExtent
from termkeep.tmux.sgr import SgrParser
from termkeep.ui.terminal_port import TerminalPort

FIRST_PAGE_LINES = 300
"""History lines fetched with the screen when the view opens: enough to scroll a little
while the next page comes, few enough to open in one round trip."""
OLDER_PAGE_LINES = 2000
MAX_VIEW_LINES = 200_000
"""The view stops fetching beyond this many lines, so its memory stays bounded whatever
``history-limit`` the server sets (at most ~10,000 characters a line, see history_lines)."""
_SCREEN_LAST_LINE = 999  # tmux clamps -E to the screen's last line


class ScrollbackSource(Protocol):
    """Lines for the scrollback view, newest at the end."""

    @property
    def remote(self) -> bool:
        """True for the remote tmux pane's history."""
        ...

    @property
    def styles(self) -> Sequence[CellStyle]:
        """The style table the lines' runs index."""
        ...

    @property
    def more_above(self) -> bool:
        """Whether ``older`` may still return lines."""
        ...

    async def first(self) -> list[HistoryLine]:
        """The screen and the newest history."""
        ...

    async def older(self) -> list[HistoryLine]:
        """The page above everything returned so far ([] at the top)."""
        ...


def _trim_blank_tail(lines: list[HistoryLine]) -> list[HistoryLine]:
    # The screen below the prompt is empty rows; they are not history.
    end = len(lines)
    while end and not lines[end - 1].text.strip():
        end -= 1
    return lines[:end]


class TmuxScrollback:
    """The tab's tmux pane, read in pages over the tab's own connection."""

    remote = True

    def __init__(self, session: Session, *, first_page: int = FIRST_PAGE_LINES) -> None:
        self._session = session
        self._parser = SgrParser()
        self._first_page = first_page
        self._fetched = 0  # history lines above the screen already read
        self._history = 0  # the pane's history size when last asked
        self._lines = 0
        self.ruler_line: int | None = None
        """Where ``first`` put the reattach's ruler, if it did (an index into its lines)."""

    @property
    def styles(self) -> Sequence[CellStyle]:
        return self._parser.styles

    @property
    def more_above(self) -> bool:
        return self._fetched < self._history and self._lines < MAX_VIEW_LINES

    async def first(self) -> list[HistoryLine]:
        page = await self._session.read_scrollback(-self._first_page, _SCREEN_LAST_LINE)
        self._history = page.extent.history
        self._fetched = min(self._first_page, page.extent.history)
        lines = _trim_blank_tail(self._parser.parse(page.data))
        await self._add_ruler(lines, page.extent)
        self._lines = len(lines)
        return lines

    async def _add_ruler(self, lines: list[HistoryLine], extent: PaneExtent) -> None:
        """A ruler above the first line the latest reattach found unseen, when it is on
        this page: the page's lines from that row down are read again (wrapped lines are
        joined, so rows cannot be counted), and the ruler goes above as many lines."""
        mark = self._session.away_mark()
        row = None if mark is None else ruler_row(mark, extent)
        if mark is None or row is None or row < -self._fetched:
            return
        below = await self._session.read_scrollback(row, _SCREEN_LAST_LINE)
        count = len(_trim_blank_tail(self._parser.parse(below.data)))
        if below.extent.history != extent.history or not 0 < count <= len(lines):
            return  # output moved the pane meanwhile: no ruler rather than a wrong one
        self.ruler_line = len(lines) - count
        lines.insert(self.ruler_line, HistoryLine(mark.text, (), ruler=True))

    async def older(self) -> list[HistoryLine]:
        if not self.more_above:
            return []
        count = min(OLDER_PAGE_LINES, self._history - self._fetched)
        # Lines printed since the last read pushed the history down by the growth in its
        # size (below tmux's history-limit; at the limit old lines drop and this cannot tell).
        for _attempt in range(2):
            known = self._history
            last = -(self._fetched + 1)
            page = await self._session.read_scrollback(last - count + 1, last)
            self._history = page.extent.history
            grown = self._history - known
            if grown <= 0:
                break
            self._fetched += grown
        self._fetched += count
        lines = self._parser.parse(page.data)
        self._lines += len(lines)
        return lines


def ruler_row(mark: AwayMark, extent: PaneExtent) -> int | None:
    """The tmux row of the first line the reattach found unseen, now that the history is
    ``extent``; None when it cannot be told (the history was full, so lines were dropped as
    others came) or it has left the history."""
    grown = extent.history - mark.history
    if grown < 0 or (grown and extent.history >= extent.limit):
        return None
    row = mark.first_unseen - grown
    return row if row >= -extent.history else None


class LocalScrollback:
    """termkeep's own scrollback and screen, for a tab without tmux."""

    remote = False
    more_above = False

    def __init__(self, terminal: TerminalPort) -> None:
        self._terminal = terminal

    @property
    def styles(self) -> Sequence[CellStyle]:
        return self._terminal.snapshot().styles

    async def first(self) -> list[HistoryLine]:
        self._terminal.scroll_to_bottom()
        rows = (*self._terminal.history(), *self._terminal.snapshot().rows)
        return _trim_blank_tail([line_of_row(row) for row in rows])

    async def older(self) -> list[HistoryLine]:
        return []


def scrollback_source(session: Session) -> ScrollbackSource:
    """The remote pane when the tab is attached to tmux, else the local scrollback."""
    if session.remote_scrollback_available():
        return TmuxScrollback(session)
    return LocalScrollback(session.terminal)
