"""Where the scrollback view's lines come from: the remote tmux pane, or termkeep's own.

A tab in tmux reads the pane's history from the server (so output printed while termkeep was
away is there), newest page first and older pages as the user scrolls up; a search asks the
server and jumps, and the view then fills in the rows between as the user scrolls; while the
view's last line is the pane's screen, it follows the pane as output arrives. A tab without
tmux reads the Emulator's own scrollback, all at once (it is already in memory).

The tmux source counts rows: each line of the view is one row of the pane, numbered from the
oldest row the pane ever held (``_absolute``). A row's tmux number shifts by one for every
row that scrolls into the history, and every read says by how much (the extent comes with
the rows, from the same tmux command list), so the numbers stay right while the history
grows. When the history is full, tmux drops a tenth of it at once, which the extent cannot
tell from new rows: each page overlaps the view by a row, and when that row is not the one
the view holds, the rows are found again by their text (``_realign``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from termkeep.session.away import AwayMark
from termkeep.session.tab_session import Session
from termkeep.terminal.emulator import CellStyle
from termkeep.terminal.history_lines import HistoryLine, line_of_row, search_lines
from termkeep.tmux.scrollback import MAX_PAGE_LINES, PaneExtent, ScrollbackError, ScrollbackPage
from termkeep.tmux.sgr import SgrParser
from termkeep.ui.terminal_port import TerminalPort

FIRST_PAGE_LINES = 300
"""History lines fetched with the screen when the view opens: enough to scroll a little
while the next page comes, few enough to open in one round trip."""
OLDER_PAGE_LINES = 2000
FOLLOW_LINES = 200
"""Rows above the screen read when following the pane; more are read when more came."""
MAX_VIEW_LINES = 200_000
"""The view stops fetching beyond this many lines, so its memory stays bounded whatever
``history-limit`` the server sets (at most ~10,000 characters a line, see history_lines)."""
MAX_SEARCH_TRIES = 20
"""Candidates of one search checked with a request of their own before giving up."""
_SCREEN_LAST_LINE = 999  # tmux clamps -E to the screen's last line
_MOST_ABOVE_SCREEN = MAX_PAGE_LINES - _SCREEN_LAST_LINE - 1
"""History rows one read with the screen may ask for (a page's rows are bounded)."""
_ANCHOR_LINES = 3


@dataclass(frozen=True, slots=True)
class Jump:
    """Where a search found its match: line ``index`` of ``lines`` when given (the view's
    new lines: the match was outside what it held), else of the view's own lines."""

    index: int
    lines: list[HistoryLine] | None = None


@dataclass(frozen=True, slots=True)
class Follow:
    """What changed in the pane: the view keeps its first ``keep`` lines (the rest was the
    screen) and appends ``lines``; ``new_rows`` rows entered the history. ``reload``: too
    much came to follow row by row; the view starts again from ``first``."""

    keep: int
    lines: list[HistoryLine]
    new_rows: int
    reload: bool = False


@dataclass(frozen=True, slots=True)
class AwayRuler:
    """Where the view draws "while you were away": above line ``index`` of its lines, the
    first printed during the latest outage; ``text`` is the notice."""

    index: int
    text: str


def away_rows(mark: AwayMark, history: int) -> list[int]:
    """Where the mark's row may be now, counted from the top of a history of ``history``
    rows (read since the mark was taken), most likely first; [] when it is gone.

    New rows enter at the history's bottom, so a row's place from the top stays put while
    the history grows. Only a drop moves it: tmux drops a tenth of the limit at once when
    the history is full, which leaves the history at nine tenths or more from then on. A
    history below that, and no smaller than the mark's, proves no drop; otherwise every
    number of drops is a candidate, and the caller tells them apart by the row's text."""
    place = mark.history + mark.first_unseen
    step = max(1, mark.limit // 10)
    floor = mark.limit - step
    if mark.limit <= 0 or mark.history <= history < floor:
        return [place] if place >= 0 else []
    return list(range(place, -1, -step))


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

    @property
    def more_below(self) -> bool:
        """Whether ``newer`` may still return lines (the view's last line is not the
        pane's screen: a search jumped)."""
        ...

    @property
    def limit_note(self) -> str | None:
        """What to say when the server keeps fewer lines than termkeep asks for."""
        ...

    @property
    def full_screen(self) -> bool:
        """Whether the last read found a full-screen program in the pane (less, vim)."""
        ...

    def away_ruler(self, lines: Sequence[HistoryLine]) -> AwayRuler | None:
        """Where the latest outage's lines start in ``lines`` (the view's), if they hold it."""
        ...

    def away_above(self) -> bool:
        """Whether that line may be above the view's lines (worth fetching older pages)."""
        ...

    async def first(self, page: int = FIRST_PAGE_LINES) -> list[HistoryLine]:
        """The screen and the newest history (at least ``page`` lines above the screen)."""
        ...

    async def older(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:
        """The page above ``lines`` (the view's), [] at the top."""
        ...

    async def newer(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:
        """The page below ``lines``, up to the screen."""
        ...

    async def follow(self, lines: Sequence[HistoryLine]) -> Follow | None:
        """What came since the last look, when the view ends with the screen."""
        ...

    async def search(
        self, lines: Sequence[HistoryLine], query: str, cursor: int, *, forward: bool, page: int
    ) -> Jump | None:
        """The next line holding ``query`` (``search_lines``' rules) from line ``cursor``
        of ``lines``, wrapping round; ``page`` lines of context come with a far match."""
        ...


def _trim_blank_tail(lines: list[HistoryLine]) -> list[HistoryLine]:
    # The screen below the prompt is empty rows; they are not history.
    end = len(lines)
    while end and not lines[end - 1].text.strip():
        end -= 1
    return lines[:end]


def server_pattern(query: str) -> str:
    """What the server filters rows by: the longest run of the query, lower-cased, made of
    ASCII characters other than i and k. The server folds ASCII case only (LC_ALL=C), and
    İ and the Kelvin sign fold to i and k here, so any row the query matches holds this run
    whatever the server's locale; the client checks each candidate with the query itself."""
    runs: list[str] = []
    current: list[str] = []
    for character in query.lower():
        if character.isascii() and character not in "ik":
            current.append(character)
        else:
            runs.append("".join(current))
            current = []
    runs.append("".join(current))
    return max(runs, key=len)


def limit_note(extent: PaneExtent, wanted: int) -> str | None:
    """ "the server keeps 2,000 lines; new termkeep sessions keep 10,000" when it keeps
    fewer than the settings ask for (a session made before, or by someone else)."""
    if extent.limit >= wanted:
        return None
    return f"the server keeps {extent.limit:,} lines; new termkeep sessions keep {wanted:,}"


class TmuxScrollback:
    """The tab's tmux pane, read in pages of rows over the tab's own connection."""

    remote = True

    def __init__(self, session: Session, *, wanted_lines: int = 0) -> None:
        self._session = session
        self._parser = SgrParser()
        self._wanted = wanted_lines
        self._extent = PaneExtent(0, 0, 0)
        self._dropped = 0
        """Rows tmux has dropped from the top since the view opened (``_absolute``)."""
        self._top = 0
        """The absolute row of the view's first line."""
        self._rows = 0
        """History rows the view holds, from ``_top`` on."""
        self._screen = 0
        """Lines after them that are the pane's screen (0 unless ``_live``)."""
        self._live = True
        self._gone_above = False
        self._mark: AwayMark | None = None
        self._mark_rows: list[int] = []
        """Absolute rows the mark's row may be (``away_rows``), taken when the mark was new."""

    # -- what the view asks ---------------------------------------------------------------

    @property
    def styles(self) -> Sequence[CellStyle]:
        return self._parser.styles

    @property
    def more_above(self) -> bool:
        return (
            not self._gone_above
            and self._top > self._dropped
            and self._rows + self._screen < MAX_VIEW_LINES
        )

    @property
    def more_below(self) -> bool:
        return not self._live

    @property
    def limit_note(self) -> str | None:
        return limit_note(self._extent, self._wanted) if self._extent.limit else None

    @property
    def full_screen(self) -> bool:
        return self._extent.full_screen

    def away_ruler(self, lines: Sequence[HistoryLine]) -> AwayRuler | None:
        mark = self._mark_now()
        if mark is None:
            return None
        found = [
            index
            for row in self._mark_rows
            if 0 <= (index := row - self._top) < len(lines)
            and lines[index].text.rstrip() == mark.first_text
        ]
        # Two places that both hold its text: no ruler rather than a wrong one.
        return AwayRuler(found[0], mark.text) if len(found) == 1 else None

    def away_above(self) -> bool:
        mark = self._mark_now()
        return mark is not None and any(row < self._top for row in self._mark_rows)

    def _mark_now(self) -> AwayMark | None:
        """The latest away mark worth a ruler, its rows (``_mark_rows``) placed."""
        mark = self._session.away_mark()
        if mark is None or not mark.lines or not self._extent.width:
            return None
        if mark is not self._mark:
            self._mark = mark
            self._mark_rows = [row + self._dropped for row in away_rows(mark, self._extent.history)]
        return mark

    async def first(self, page: int = FIRST_PAGE_LINES) -> list[HistoryLine]:
        count = min(max(page, FIRST_PAGE_LINES), _MOST_ABOVE_SCREEN)
        read = await self._read(-count, _SCREEN_LAST_LINE)
        self._dropped = 0
        self._mark = None  # rows are numbered afresh
        return self._take_live(read, read.extent.history - min(count, read.extent.history))

    async def older(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:
        if not self.more_above:
            return []
        count = min(OLDER_PAGE_LINES, self._top - self._dropped)
        # One row of overlap (the view's first): it proves the rows are where they were.
        first = self._line(self._top - count)
        read = await self._read(first, first + count)
        rows = self._rows_of(read)
        anchor = self._top - self._absolute(read, first)
        if not (0 <= anchor < len(rows) and self._same(rows[anchor], lines[0])):
            found = _realign(rows, [line.text for line in lines[:_ANCHOR_LINES]])
            if found is None:
                self._gone_above = True  # the server dropped the rows above the view
                return []
            self._dropped += self._top - (self._absolute(read, first) + found)
            anchor = found
        added = rows[:anchor]
        self._top -= len(added)
        self._rows += len(added)
        return added

    async def newer(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:
        if self._live:
            return []
        end = self._top + self._rows  # the first row below the view
        first = self._line(end - 1)
        read = await self._read(first, first + OLDER_PAGE_LINES)
        rows = self._rows_of(read)
        anchor = end - 1 - self._absolute(read, first)
        if not (0 <= anchor < len(rows) and self._same(rows[anchor], lines[-1])):
            tail = [line.text for line in lines[-_ANCHOR_LINES:]]
            found = _realign(rows, tail)
            if found is None:
                return []
            anchor = found + len(tail) - 1
            self._dropped += end - 1 - (self._absolute(read, first) + anchor)
        history = read.extent.history
        # Rows at tmux line 0 and below are the screen: the view is back at the live end.
        screen_at = -(first if first >= -history else -history)
        added = rows[anchor + 1 : screen_at] if screen_at <= len(rows) else rows[anchor + 1 :]
        self._rows += len(added)
        if screen_at <= len(rows):
            screen = _trim_blank_tail(rows[screen_at:])
            self._live, self._screen = True, len(screen)
            return added + screen
        return added

    async def follow(self, lines: Sequence[HistoryLine]) -> Follow | None:
        if not self._live:
            return None
        keep = self._rows
        end = self._top + self._rows  # the first row not yet in the history the view holds
        for span in (FOLLOW_LINES, _MOST_ABOVE_SCREEN):
            first = -span
            read = await self._read(first, _SCREEN_LAST_LINE)
            history = read.extent.history
            start = self._absolute(read, max(first, -history))
            rows = self._rows_of(read)
            anchor = end - 1 - start  # the view's last history row, in ``rows``
            if keep == 0 or (0 <= anchor < len(rows) and self._same(rows[anchor], lines[keep - 1])):
                break
            tail = [line.text for line in lines[max(0, keep - _ANCHOR_LINES) : keep]]
            found = _realign(rows[: max(0, len(rows) - read.extent.height)], tail)
            if found is not None:
                anchor = found + len(tail) - 1
                self._dropped += end - 1 - (start + anchor)
                break
        else:
            return Follow(0, [], 0, reload=True)
        in_history = min(history, -first)
        new = rows[anchor + 1 : in_history] if keep else rows[:in_history]
        screen = _trim_blank_tail(rows[in_history:])
        self._rows += len(new)
        self._screen = len(screen)
        return Follow(keep, new + screen, len(new))

    async def search(
        self, lines: Sequence[HistoryLine], query: str, cursor: int, *, forward: bool, page: int
    ) -> Jump | None:
        pattern = server_pattern(query)
        if not pattern:
            return await self._search_everything(lines, query, cursor, forward=forward)
        near = _search_without_wrap(lines, query, cursor, forward=forward)
        if near is not None:
            return Jump(near)
        context = max(1, page)
        answer = await self._session.search_scrollback(
            pattern, self._line(self._top + cursor), forward=forward, context=context
        )
        self._extent = answer.extent
        page_rows: list[HistoryLine] = []
        page_top = page_line = 0
        if answer.page is not None:
            page_rows = self._rows_of(answer.page)
            page_top = self._absolute(answer.page, answer.page_first)
            page_line = max(answer.page_first, -answer.page.extent.history)
        for tries, candidate in enumerate(answer.candidates):
            row = candidate + answer.extent.history + self._dropped
            jump = self._held_match(lines, query, row)
            if jump is not None:
                return jump
            if not 0 <= row - page_top < len(page_rows) and tries < MAX_SEARCH_TRIES:
                first = candidate - context
                read = await self._read(first, candidate + context)
                page_rows = self._rows_of(read)
                page_top = self._absolute(read, first)
                page_line = max(first, -read.extent.history)
            index = row - page_top
            if 0 <= index < len(page_rows) and _holds(page_rows[index], query):
                return self._jump_to(page_rows, page_top, page_line, index)
        return None

    # -- rows and lines -------------------------------------------------------------------

    def _absolute(self, read: ScrollbackPage, line: int) -> int:
        """The absolute row of tmux line ``line`` (clamped to the history's top) of ``read``."""
        history = read.extent.history
        return max(line, -history) + history + self._dropped

    def _line(self, row: int) -> int:
        """The tmux line of absolute row ``row`` by the last extent read."""
        return row - self._extent.history - self._dropped

    async def _read(self, first: int, last: int) -> ScrollbackPage:
        read = await self._session.read_scrollback(first, last)
        if self._extent.width and read.extent.width != self._extent.width:
            # tmux rewraps the history to a new width: every row number changed.
            raise ScrollbackError("the pane was resized; reopen the history view")
        self._extent = read.extent
        return read

    def _rows_of(self, read: ScrollbackPage) -> list[HistoryLine]:
        return [self._parser.parse_line(row.decode("utf-8", "replace")) for row in read.rows()]

    def _take_live(self, read: ScrollbackPage, top_line_row: int) -> list[HistoryLine]:
        rows = self._rows_of(read)
        history_rows = read.extent.history - top_line_row
        screen = _trim_blank_tail(rows[history_rows:])
        self._top, self._rows = top_line_row, history_rows
        self._screen, self._live, self._gone_above = len(screen), True, False
        return rows[:history_rows] + screen

    @staticmethod
    def _same(row: HistoryLine, held: HistoryLine) -> bool:
        return row.text == held.text

    def _held_match(self, lines: Sequence[HistoryLine], query: str, row: int) -> Jump | None:
        index = row - self._top
        if 0 <= index < self._rows + self._screen and _holds(lines[index], query):
            return Jump(index)
        return None

    def _jump_to(self, rows: list[HistoryLine], top: int, first_line: int, index: int) -> Jump:
        # The view's lines become the rows around the match; the rows between them and the
        # screen come as the view scrolls down (``newer``). Rows from tmux line 0 on are the
        # screen: then the view is at the live end already.
        history = min(len(rows), max(0, -first_line))
        self._top, self._rows, self._screen = top, history, len(rows) - history
        self._live = history < len(rows)
        self._gone_above = False
        return Jump(index, rows)

    async def _search_everything(
        self, lines: Sequence[HistoryLine], query: str, cursor: int, *, forward: bool
    ) -> Jump | None:
        # A query with nothing the server can filter by (no ASCII): the lines the view holds.
        found = search_lines(lines, query, cursor, forward=forward)
        return None if found is None else Jump(found)


def _holds(line: HistoryLine, query: str) -> bool:
    return search_lines([line], query, 0, forward=True) is not None


def _search_without_wrap(
    lines: Sequence[HistoryLine], query: str, cursor: int, *, forward: bool
) -> int | None:
    """The next line after (before) ``cursor`` holding ``query``, not wrapping round."""
    found = search_lines(lines, query, cursor, forward=forward)
    if found is None or found == cursor or (found > cursor) != forward:
        return None
    return found


def _realign(rows: Sequence[HistoryLine], texts: Sequence[str]) -> int | None:
    """Where the run of ``texts`` starts in ``rows`` (the last such place), or None."""
    count = len(texts)
    if not count:
        return None
    for start in range(len(rows) - count, -1, -1):
        if all(rows[start + n].text == texts[n] for n in range(count)):
            return start
    return None


class LocalScrollback:
    """termkeep's own scrollback and screen, for a tab without tmux."""

    remote = False
    more_above = False
    more_below = False
    limit_note = None
    full_screen = False  # in the alternate screen the tab sends the wheel on as arrows itself

    def __init__(self, terminal: TerminalPort) -> None:
        self._terminal = terminal

    @property
    def styles(self) -> Sequence[CellStyle]:
        return self._terminal.snapshot().styles

    def away_ruler(self, lines: Sequence[HistoryLine]) -> AwayRuler | None:  # noqa: ARG002
        return None  # no tmux, no reattach to a pane that went on without termkeep

    def away_above(self) -> bool:
        return False

    async def first(self, page: int = FIRST_PAGE_LINES) -> list[HistoryLine]:  # noqa: ARG002 - all of it is in memory
        self._terminal.scroll_to_bottom()
        rows = (*self._terminal.history(), *self._terminal.snapshot().rows)
        return _trim_blank_tail([line_of_row(row) for row in rows])

    async def older(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:  # noqa: ARG002
        return []

    async def newer(self, lines: Sequence[HistoryLine]) -> list[HistoryLine]:  # noqa: ARG002
        return []

    async def follow(self, lines: Sequence[HistoryLine]) -> Follow | None:  # noqa: ARG002
        return None

    async def search(
        self,
        lines: Sequence[HistoryLine],
        query: str,
        cursor: int,
        *,
        forward: bool,
        page: int,  # noqa: ARG002 - every line is in ``lines``
    ) -> Jump | None:
        found = search_lines(lines, query, cursor, forward=forward)
        return None if found is None else Jump(found)


def scrollback_source(session: Session, wanted_lines: int = 0) -> ScrollbackSource:
    """The remote pane when the tab is attached to tmux, else the local scrollback;
    ``wanted_lines``: the history the settings ask tmux sessions to keep."""
    if session.remote_scrollback_available():
        return TmuxScrollback(session, wanted_lines=wanted_lines)
    return LocalScrollback(session.terminal)
