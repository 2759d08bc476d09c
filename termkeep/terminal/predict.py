"""Predictive local echo: guess what a keystroke will show, draw it now, check it later.

Over a slow link a keystroke's echo takes a round trip to show. The Predictor guesses it
(mosh's design, see DESIGN.md section 6): printable characters appear at the cursor,
backspace removes the character before it, left and right move the cursor inside the line.
Each guess is a *prediction* of one cell (or of the cursor) that is drawn over the
emulator's screen until the remote's own output confirms it (that character in that cell),
contradicts it (something else there), or stays silent past a timeout derived from the
measured RTT. Contradiction or timeout drops the predictions, so the screen is the remote's
again. Predictions never reach the Emulator: it only ever holds what the remote sent.

Keys whose echo nobody can guess (Enter, control keys, Tab, up/down, other escape sequences)
start a new *epoch*, and so does any output of the remote that no prediction foresaw: text
in a cell nobody predicted, or the cursor going to another row. A new epoch is tentative:
its predictions are drawn only once the remote has echoed one of its typed characters. A
password prompt or `stty -echo` never echoes anything, so nothing typed there is ever drawn,
with or without Enter before it: a prompt is unforeseen output (a `read -n1` answered "y",
then `read -s` on the next line, starts an epoch with its prompt). When the unforeseen
output is on the cursor's row, or moves the cursor to another row, the keys typed ahead of
it are dropped as well: they were guessed for a line that is not there any more.

Whether confirmed predictions are drawn at all is adaptive, with mosh's thresholds: shown
when the smoothed RTT is above 30 ms (hidden again at 20 ms or less) or after a *glitch*
(a prediction outstanding for more than 250 ms); underlined while unconfirmed when the RTT
is above 80 ms (off again at 50 ms or less) or a prediction is outstanding for 5 s.

The module is pure: time is passed in, the screen is the Emulator's Snapshot.
"""

from __future__ import annotations

import codecs
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum

from termkeep.terminal.emulator import ScreenRow, Snapshot


class PredictMode(StrEnum):
    """When predictions are drawn."""

    ADAPTIVE = "adaptive"
    """When the link is slow or glitchy (mosh's default)."""

    ALWAYS = "always"
    """Whenever the remote has confirmed the current epoch, whatever the RTT."""

    NEVER = "never"
    """Never: every character waits for the remote's echo."""


SRTT_SHOW_ABOVE = 0.030
SRTT_HIDE_AT_MOST = 0.020
SRTT_UNDERLINE_ABOVE = 0.080
SRTT_UNDERLINE_OFF_AT_MOST = 0.050
GLITCH_AFTER = 0.250
"""A prediction outstanding this long is a glitch: predictions are shown whatever the RTT."""
GLITCH_REPAIR_COUNT = 10
"""Quick confirmations needed to cure a glitch."""
GLITCH_REPAIR_INTERVAL = 0.150
"""Quick confirmations count only this far apart (one burst of typing cures nothing)."""
GLITCH_UNDERLINE_AFTER = 5.0
"""A prediction outstanding this long turns underlining on whatever the RTT."""
SRTT_GAIN = 1 / 8
"""Weight of a new RTT sample in the smoothed RTT (TCP's)."""
MIN_TIMEOUT = 1.0
TIMEOUT_RTTS = 3.0
TIMEOUT_SLACK = 0.5
"""An unconfirmed prediction is dropped after max(MIN_TIMEOUT, TIMEOUT_RTTS x SRTT +
TIMEOUT_SLACK). Generous on purpose: the timeout only matters for a guess the remote never
answers; a wrong guess the remote does answer is dropped at once. A short one would make a
busy server's late echo flicker."""

_BLANK = " "
type Content = tuple[str, int]
"""A cell's grapheme and width, what a prediction is compared on."""


@dataclass(frozen=True, slots=True)
class PredictedCell:
    """One cell to draw over the screen."""

    grapheme: str
    """What to draw; empty in the second column of a wide character."""
    width: int
    """1, 2 for a wide character, 0 for the column after a wide one."""
    style: int
    """A style number of the snapshot's style table."""
    underline: bool
    """Unconfirmed and the link is slow: draw it underlined."""


@dataclass(frozen=True, slots=True)
class Overlay:
    """What to draw over the emulator's screen: cells by row, then column; the cursor."""

    rows: Mapping[int, Mapping[int, PredictedCell]] = field(default_factory=dict)
    cursor: tuple[int, int] | None = None
    """The predicted cursor (x, y), or None for the remote's."""

    def __bool__(self) -> bool:
        return bool(self.rows) or self.cursor is not None


EMPTY_OVERLAY = Overlay()


@dataclass(frozen=True, slots=True)
class OverlaidRow:
    """A screen row with predicted cells drawn in (the ScreenRow protocol)."""

    graphemes: tuple[str, ...]
    widths: bytes
    styles: tuple[int, ...]


def char_width(character: str) -> int:
    """Columns a character takes: 0 for combining/format characters, 2 for wide ones."""
    if unicodedata.combining(character) or unicodedata.category(character) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1


def overlaid_row(row: ScreenRow, cells: Mapping[int, PredictedCell]) -> OverlaidRow:
    """``row`` with ``cells`` drawn in; a wide character cut in half becomes a blank."""
    graphemes = list(row.graphemes)
    widths = bytearray(row.widths)
    styles = list(row.styles)
    for x, cell in cells.items():
        if x < len(graphemes):
            graphemes[x], widths[x], styles[x] = cell.grapheme, cell.width, cell.style
    _repair_wide(graphemes, widths)
    return OverlaidRow(tuple(graphemes), bytes(widths), tuple(styles))


def _repair_wide(graphemes: list[str], widths: bytearray) -> None:
    """Blank out halves of wide characters whose other half was drawn over."""
    count = len(widths)
    for x in range(count):
        lead_ok = widths[x] != 2 or (x + 1 < count and widths[x + 1] == 0)
        tail_ok = widths[x] != 0 or (x > 0 and widths[x - 1] == 2)
        if not (lead_ok and tail_ok):
            graphemes[x], widths[x] = _BLANK, 1


@dataclass(slots=True)
class _CellPrediction:
    grapheme: str
    width: int
    style: int
    epoch: int
    sent_at: float
    sequence: int
    """Which key made it: the remote echoes keys in order."""
    earlier: set[Content]
    """What the cell may still show while the echo is on its way: the screen when it was
    predicted and earlier predictions of the same cell. A match with one of them earns the
    epoch no confirmation (it could be a coincidence)."""
    typed: bool
    """The typed character itself, not a neighbour it moved: only its echo is evidence
    enough to confirm an epoch."""

    @property
    def content(self) -> Content:
        return (self.grapheme, self.width)


@dataclass(slots=True)
class _CursorPrediction:
    x: int
    y: int
    epoch: int
    sent_at: float
    sequence: int = 0
    """The last key that moved it."""

    def moved(self, now: float, sequence: int) -> None:
        self.sent_at = now
        self.sequence = sequence


@dataclass(slots=True)
class _Column:
    """A column of the row being edited, as it will look once the remote echoes."""

    grapheme: str
    width: int
    style: int

    @property
    def content(self) -> Content:
        return (self.grapheme, self.width)

    @property
    def blank(self) -> bool:
        return self.grapheme in (_BLANK, "")


class Predictor:
    """Predicts the echo of typed keys and checks the guesses against the remote's screen.

    Call ``typed`` with the bytes sent for each key (or paste), ``observe`` with each new
    frame of the emulator and at ``next_deadline``, ``rtt_sample`` with measured round trips,
    and draw ``overlay()``. While the link is down, ``pause``: held keys are shown and never
    time out; ``resume`` when they are delivered, ``discard`` when they are thrown away.
    """

    def __init__(self, mode: PredictMode = PredictMode.ADAPTIVE) -> None:
        self.mode = mode
        self._cells: dict[tuple[int, int], _CellPrediction] = {}
        self._cursors: list[_CursorPrediction] = []
        self._epoch = 1
        self._confirmed_epoch = 0
        self._srtt: float | None = None
        self._srtt_trigger = False
        self._flagging = False
        self._glitch = 0
        self._last_quick_confirmation = -math.inf
        self._paused = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._screen: Snapshot | None = None
        self._now = 0.0
        self._sequence = 0
        self._confirmed_sequence = 0
        self._line_start: tuple[int, int] | None = None
        """Where typing on the current line began (x, y): backspace and left stop there, since
        what is left of it (a prompt) is not the line editor's to erase."""
        self._cursor_row: int | None = None
        """The row of the remote's cursor when last seen (a hidden cursor keeps it)."""

    # -- what the owner tells us ----------------------------------------------------------

    @property
    def srtt(self) -> float | None:
        """The smoothed RTT in seconds, once a sample came."""
        return self._srtt

    @property
    def paused(self) -> bool:
        """Whether the link is down (held keys are shown, nothing times out)."""
        return self._paused

    @property
    def pending(self) -> bool:
        """Whether any prediction is still waiting for the remote."""
        return bool(self._cells or self._cursors)

    def rtt_sample(self, rtt: float) -> None:
        """A measured round trip in seconds."""
        if rtt < 0 or math.isnan(rtt):
            return
        self._srtt = rtt if self._srtt is None else self._srtt + SRTT_GAIN * (rtt - self._srtt)

    def pause(self) -> None:
        """The link is down: keys are held, their predictions shown and kept."""
        self._paused = True

    def resume(self, now: float) -> None:
        """The link is up again and held keys were delivered: their clocks start now."""
        if not self._paused:
            return
        self._paused = False
        for cell in self._cells.values():
            cell.sent_at = now
        for cursor in self._cursors:
            cursor.sent_at = now

    def discard(self) -> None:
        """Held keys were thrown away: so are their predictions (every one, to be safe)."""
        self._reset()

    def typed(self, data: bytes, screen: Snapshot, now: float) -> None:
        """Keys sent to the remote (one key's bytes, or a paste), on ``screen`` as it is."""
        if self.mode is PredictMode.NEVER:
            return
        self.observe(screen, now)
        text = self._decoder.decode(data)
        index = 0
        while index < len(text):
            self._sequence += 1
            index = self._key(text, index)

    def observe(self, screen: Snapshot, now: float) -> None:
        """Check every prediction against the remote's screen now (after output, or a timer)."""
        if self.mode is PredictMode.NEVER:
            return
        self._now = now
        previous = self._screen
        self._screen = screen
        cursor_row = self._cursor_row
        position = _screen_cursor(screen)
        if position is not None:
            self._cursor_row = position[1]
        if previous is not None and _size(previous) != _size(screen):
            self._reset()
        elif previous is not None:
            self._notice_surprise(previous, screen, cursor_row)
        self._follow_rtt()
        if self._check_cells(screen, now):
            self._check_cursors(screen, now)

    def next_deadline(self) -> float | None:
        """When ``observe`` should run again although nothing arrived, or None."""
        if self._paused or self.mode is PredictMode.NEVER:
            return None
        times = [cell.sent_at for cell in self._cells.values()]
        times += [cursor.sent_at for cursor in self._cursors]
        if not times:
            return None
        oldest = min(times)
        deadlines = [oldest + self._timeout()]
        if self._glitch < GLITCH_REPAIR_COUNT:
            deadlines.append(oldest + GLITCH_AFTER)
        elif self._glitch < 2 * GLITCH_REPAIR_COUNT:
            deadlines.append(oldest + GLITCH_UNDERLINE_AFTER)
        later = [deadline for deadline in deadlines if deadline > self._now]
        return min(later) if later else max(deadlines)

    # -- what to draw ---------------------------------------------------------------------

    def showing(self) -> bool:
        """Whether predictions are drawn at all now."""
        if self.mode is PredictMode.NEVER:
            return False
        if self.mode is PredictMode.ALWAYS or self._paused:
            return True
        return self._srtt_trigger or self._glitch > 0

    def overlay(self) -> Overlay:
        """The confirmed-epoch predictions that differ from the screen, and the cursor."""
        screen = self._screen
        if screen is None or not self.showing():
            return EMPTY_OVERLAY
        underline = self._flagging or self._glitch > GLITCH_REPAIR_COUNT or self._paused
        rows: dict[int, dict[int, PredictedCell]] = {}
        for (y, x), cell in self._cells.items():
            if cell.epoch > self._confirmed_epoch or _content_at(screen, x, y) == cell.content:
                continue
            rows.setdefault(y, {})[x] = PredictedCell(
                cell.grapheme, cell.width, cell.style, underline
            )
        # Only the current epoch's cursor: after a key nobody can guess (Tab, up), where the
        # remote puts its cursor is unknown, so it is the remote's cursor that shows.
        cursor = None
        if self._cursors:
            last = self._cursors[-1]
            if last.epoch == self._epoch and last.epoch <= self._confirmed_epoch:
                cursor = (last.x, last.y)
        return Overlay(rows, cursor)

    # -- keys ------------------------------------------------------------------------------

    def _key(self, text: str, index: int) -> int:
        """Predict the key at ``text[index]``; returns the index after it."""
        character = text[index]
        if character == "\x1b":
            return self._escape(text, index)
        if character in ("\x7f", "\x08"):
            self._backspace()
        elif character == "\r":
            # Where the next line starts is the remote's to say (a prompt, output first):
            # keys typed next start from its cursor, not from a guess.
            self._become_tentative()
            self._cursors.clear()
            self._line_start = None
        elif character < " " or "\x80" <= character <= "\x9f":
            self._become_tentative()
        else:
            width = char_width(character)
            if width == 0 or character == "\ufffd":
                self._become_tentative()
            else:
                self._print(character, width)
        return index + 1

    def _escape(self, text: str, index: int) -> int:
        """An escape sequence: left/right arrows move the cursor, anything else is unknown."""
        introducer = text[index + 1 : index + 2]
        if introducer not in ("[", "O"):
            # A lone Escape, or alt+key: nobody can guess what the remote makes of it.
            self._become_tentative()
            return index + 1 + len(introducer)
        end = index + 2
        while end < len(text) and not ("\x40" <= text[end] <= "\x7e"):
            end += 1
        parameters, final = text[index + 2 : end], text[end : end + 1]
        if final == "C" and parameters in ("", "1"):
            self._move_right()
        elif final == "D" and parameters in ("", "1"):
            self._move_left()
        else:
            self._become_tentative()
        return end + 1

    def _become_tentative(self) -> None:
        self._epoch += 1

    def _cursor(self) -> _CursorPrediction | None:
        """The cursor prediction of the current epoch, started from the last one or the screen."""
        screen = self._screen
        if screen is None:
            return None
        if self._cursors:
            last = self._cursors[-1]
            if not (0 <= last.x < screen.columns and 0 <= last.y < len(screen.rows)):
                return None
            if last.epoch != self._epoch:
                last = _CursorPrediction(last.x, last.y, self._epoch, self._now, self._sequence)
                self._cursors.append(last)
            return last
        position = _screen_cursor(screen)
        if position is None or not (0 <= position[0] < screen.columns):
            return None
        x, y = position
        cursor = _CursorPrediction(x, y, self._epoch, self._now, self._sequence)
        self._cursors.append(cursor)
        if self._line_start is None or self._line_start[1] != cursor.y:
            self._line_start = (x, cursor.y)
        return cursor

    def _at_line_start(self, cursor: _CursorPrediction) -> bool:
        start = self._line_start
        if cursor.x == 0:
            return True
        return start is not None and cursor.y == start[1] and cursor.x <= start[0]

    def _print(self, character: str, width: int) -> None:
        cursor = self._cursor()
        screen = self._screen
        if cursor is None or screen is None:
            self._become_tentative()
            return
        columns = screen.columns
        if cursor.x + width > columns:
            # No room left: the remote wraps its own way (a shell, emacs' "\").
            self._become_tentative()
            if not self._newline():
                return
        if cursor.x + width >= columns:
            self._become_tentative()  # the last column: wrapping differs from app to app
        row = self._row(cursor.y)
        if cursor.x >= len(row):
            self._become_tentative()
            return
        style = row[cursor.x].style
        typed = [_Column(character, width, style)]
        if width == 2:
            typed.append(_Column("", 0, style))
        rest = row[cursor.x :]
        if all(column.blank for column in rest):
            edited = row[: cursor.x] + typed + row[cursor.x + width :]
            known = columns
        else:
            # Insert mode, as shells and editors do: the rest of the line moves right. What
            # falls off the end may wrap onto the next row, so the last columns are unknown.
            edited = (row[: cursor.x] + typed + row[cursor.x :])[:columns]
            known = columns - width
        self._predict_row(cursor.y, row, edited, known, typed_at=cursor.x)
        cursor.x += width
        cursor.moved(self._now, self._sequence)
        if cursor.x >= columns:
            self._become_tentative()
            self._newline()

    def _backspace(self) -> None:
        cursor = self._cursor()
        if cursor is None or self._at_line_start(cursor):
            # At the start of a line the remote may go up to a wrapped line, or ring a bell.
            self._become_tentative()
            return
        row = self._row(cursor.y)
        start = cursor.x - 1
        if row[start].width == 0 and start > 0:
            start -= 1
        removed = cursor.x - start
        tail = row[cursor.x :]
        blank_style = row[-1].style
        edited = row[:start] + tail + [_Column(_BLANK, 1, blank_style) for _ in range(removed)]
        # What moves in at the end may come from a wrapped next row: unknown, unless the
        # line ends before the margin.
        known = len(row) if all(column.blank for column in row[-removed:]) else len(row) - removed
        self._predict_row(cursor.y, row, edited, known)
        cursor.x = start
        cursor.moved(self._now, self._sequence)

    def _move_left(self) -> None:
        cursor = self._cursor()
        if cursor is None or self._at_line_start(cursor):
            self._become_tentative()
            return
        row = self._row(cursor.y)
        cursor.x -= 1
        if row[cursor.x].width == 0 and cursor.x > 0:
            cursor.x -= 1
        cursor.moved(self._now, self._sequence)

    def _move_right(self) -> None:
        cursor = self._cursor()
        if cursor is None:
            self._become_tentative()
            return
        row = self._row(cursor.y)
        if cursor.x >= len(row) or row[cursor.x].blank:
            # Past the end of the text a line editor does not move; typed spaces look the
            # same as the end: nothing to guess.
            self._become_tentative()
            return
        step = max(row[cursor.x].width, 1)
        if cursor.x + step >= len(row):
            self._become_tentative()
            return
        cursor.x += step
        cursor.moved(self._now, self._sequence)

    def _newline(self) -> bool:
        """Move the predicted cursor to the start of the next row; False at the bottom."""
        cursor = self._cursor()
        screen = self._screen
        if cursor is None or screen is None:
            return False
        cursor.x = 0
        cursor.moved(self._now, self._sequence)
        if cursor.y + 1 >= len(screen.rows):
            return False  # the remote scrolls: too much to guess
        cursor.y += 1
        return True

    def _row(self, y: int) -> list[_Column]:
        """Row ``y`` as it will look: the screen with every prediction applied."""
        screen = self._screen
        assert screen is not None
        row = screen.rows[y]
        columns = [
            _Column(grapheme, width, style)
            for grapheme, width, style in zip(row.graphemes, row.widths, row.styles, strict=True)
        ]
        for (cell_y, x), cell in self._cells.items():
            if cell_y == y and x < len(columns):
                columns[x] = _Column(cell.grapheme, cell.width, cell.style)
        return columns

    def _predict_row(
        self,
        y: int,
        before: Sequence[_Column],
        after: list[_Column],
        known: int,
        typed_at: int | None = None,
    ) -> None:
        """Predict every column of row ``y`` that the edit changes (the first ``known``)."""
        graphemes = [column.grapheme for column in after]
        widths = bytearray(column.width for column in after)
        _repair_wide(graphemes, widths)
        screen = self._screen
        assert screen is not None
        for x, (old, grapheme, width) in enumerate(zip(before, graphemes, widths, strict=False)):
            if x >= known:
                self._cells.pop((y, x), None)
                continue
            if (grapheme, width) == old.content:
                continue
            earlier = {_content_at(screen, x, y), old.content}
            previous = self._cells.get((y, x))
            if previous is not None:
                earlier |= previous.earlier
            self._cells[(y, x)] = _CellPrediction(
                grapheme,
                width,
                after[x].style,
                self._epoch,
                self._now,
                self._sequence,
                earlier,
                typed=x == typed_at,
            )

    # -- unforeseen output -----------------------------------------------------------------

    def _notice_surprise(
        self, previous: Snapshot, screen: Snapshot, cursor_row: int | None
    ) -> None:
        """Start a tentative epoch when the remote showed something no prediction foresaw.

        A surprise on the cursor's row (before or after), or the cursor going to another
        row, drops every pending prediction too: keys typed ahead of a prompt were guessed
        for a line that is gone, and the prompt may be one that does not echo.
        """
        surprise = self._surprise(previous, screen, cursor_row)
        if surprise is _Surprise.AT_CURSOR:
            self._reset()
        elif surprise is _Surprise.ELSEWHERE:
            self._become_tentative()

    def _surprise(self, previous: Snapshot, screen: Snapshot, old_row: int | None) -> _Surprise:
        """``old_row``: the row of the remote's cursor before this frame."""
        position = _screen_cursor(screen)
        new_row = self._cursor_row
        cursor_rows = {row for row in (old_row, new_row) if row is not None}
        pending = self.pending
        found = _Surprise.NONE
        echoed_rows = set()
        for y, (old, new) in enumerate(zip(previous.rows, screen.rows, strict=True)):
            if old is new or (old.graphemes == new.graphemes and old.widths == new.widths):
                continue  # unchanged, or only restyled (syntax highlighting)
            if not pending:
                # Nothing to drop: where the surprise is makes no difference (and a flood
                # of output is looked at no further than its first changed row).
                return _Surprise.ELSEWHERE
            if self._row_change_foreseen(y, old, new):
                echoed_rows.add(y)
            elif y in cursor_rows:
                return _Surprise.AT_CURSOR
            else:
                found = _Surprise.ELSEWHERE
        moved = old_row is not None and new_row != old_row
        if moved and not (new_row in echoed_rows or self._cursor_foreseen(position)):
            return _Surprise.AT_CURSOR
        return found

    def _cursor_foreseen(self, position: tuple[int, int] | None) -> bool:
        """Whether a prediction put the cursor at ``position`` (a wrap while typing)."""
        return any((cursor.x, cursor.y) == position for cursor in self._cursors)

    def _row_change_foreseen(self, y: int, old: ScreenRow, new: ScreenRow) -> bool:
        """Whether every cell of row ``y`` that changed shows what a prediction expected
        there: its guess, or what the cell may show while the echo is on its way."""
        cells = self._cells
        if not cells:
            return False
        changed = zip(old.graphemes, old.widths, new.graphemes, new.widths, strict=True)
        for x, (old_grapheme, old_width, grapheme, width) in enumerate(changed):
            if (old_grapheme, old_width) == (grapheme, width):
                continue
            cell = cells.get((y, x))
            if cell is None:
                return False
            content = (grapheme, width)
            if content != cell.content and content not in cell.earlier:
                return False
        return True

    # -- checking -------------------------------------------------------------------------

    def _follow_rtt(self) -> None:
        srtt = self._srtt
        if srtt is None:
            return
        if srtt > SRTT_SHOW_ABOVE:
            self._srtt_trigger = True
        elif srtt <= SRTT_HIDE_AT_MOST and not self.pending:
            self._srtt_trigger = False
        if srtt > SRTT_UNDERLINE_ABOVE:
            self._flagging = True
        elif srtt <= SRTT_UNDERLINE_OFF_AT_MOST:
            self._flagging = False

    def _timeout(self) -> float:
        return max(MIN_TIMEOUT, TIMEOUT_RTTS * (self._srtt or 0.0) + TIMEOUT_SLACK)

    def _check_cells(self, screen: Snapshot, now: float) -> bool:
        """Confirm, keep or drop each cell prediction; False when everything was reset."""
        credited = self._credited_confirmations(screen)
        for position in sorted(self._cells, key=lambda at: self._cells[at].epoch):
            cell = self._cells.get(position)
            if cell is None:
                continue  # killed with its epoch meanwhile
            y, x = position
            actual = _content_at(screen, x, y)
            if actual == cell.content:
                self._confirm(cell, now, credit=position in credited)
                del self._cells[position]
            elif actual in cell.earlier:
                if cell.sequence < self._confirmed_sequence:
                    # A later key was echoed, so this one was too: the remote put back what
                    # was there (or never wrote it). Its screen is the truth.
                    del self._cells[position]
                elif not self._still_pending(cell.sent_at, now):
                    self._reset()
                    return False
            elif cell.epoch > self._confirmed_epoch:
                self._kill_epoch(cell.epoch, screen)
            else:
                self._reset()
                return False
        return True

    def _credited_confirmations(self, screen: Snapshot) -> set[tuple[int, int]]:
        """The cells whose echo proves their epoch right.

        Only a typed character (not a blank, not what was there before) counts, and only
        once every character typed before it in its epoch is confirmed too: with keys typed
        ahead of a prompt, a later guess can land on a cell that an earlier key's echo fills
        by chance.
        """
        credited = set()
        waiting: set[int] = set()
        for position, cell in sorted(self._cells.items(), key=lambda item: item[1].sequence):
            if not _creditable(cell):
                continue
            if _content_at(screen, position[1], position[0]) != cell.content:
                waiting.add(cell.epoch)
            elif cell.epoch not in waiting:
                credited.add(position)
                self._confirmed_sequence = max(self._confirmed_sequence, cell.sequence)
        return credited

    def _confirm(self, cell: _CellPrediction, now: float, *, credit: bool) -> None:
        if credit:
            self._confirmed_epoch = max(self._confirmed_epoch, cell.epoch)
        quick = now - cell.sent_at < GLITCH_AFTER
        if quick and self._glitch and now - self._last_quick_confirmation >= GLITCH_REPAIR_INTERVAL:
            self._glitch -= 1
            self._last_quick_confirmation = now

    def _still_pending(self, sent_at: float, now: float) -> bool:
        """Whether a prediction sent at ``sent_at`` may still be waited for (and note glitches)."""
        if self._paused:
            return True
        age = now - sent_at
        if age >= GLITCH_UNDERLINE_AFTER:
            self._glitch = 2 * GLITCH_REPAIR_COUNT
        elif age >= GLITCH_AFTER and self._glitch < GLITCH_REPAIR_COUNT:
            self._glitch = GLITCH_REPAIR_COUNT
        return age <= self._timeout()

    def _check_cursors(self, screen: Snapshot, now: float) -> None:
        actual = _screen_cursor(screen)
        for index in range(len(self._cursors) - 1, -1, -1):
            cursor = self._cursors[index]
            if (cursor.x, cursor.y) == actual:
                # The remote got there: this and every earlier cursor guess are done.
                del self._cursors[: index + 1]
                break
        kept = []
        for cursor in self._cursors:
            if not self._still_pending(cursor.sent_at, now):
                self._reset()
                return
            if self._cursor_overtaken(cursor, actual):
                continue
            kept.append(cursor)
        self._cursors = kept

    def _cursor_overtaken(self, cursor: _CursorPrediction, actual: tuple[int, int] | None) -> bool:
        """Whether the remote is past this cursor guess (so, not matching it, it was wrong):
        it echoed a key typed after the one that put the cursor there; or it left the row while
        nothing typed up to that key is still on its way (a prompt after a command)."""
        if cursor.sequence < self._confirmed_sequence:
            return True
        if actual is None or actual[1] == cursor.y:
            return False
        return not any(cell.sequence <= cursor.sequence for cell in self._cells.values())

    def _kill_epoch(self, epoch: int, screen: Snapshot) -> None:
        """Drop the predictions of ``epoch`` and later; predict afresh from the real cursor."""
        self._cells = {at: cell for at, cell in self._cells.items() if cell.epoch < epoch}
        self._cursors = [cursor for cursor in self._cursors if cursor.epoch < epoch]
        position = _screen_cursor(screen)
        if position is not None:
            self._cursors.append(_CursorPrediction(*position, self._epoch, self._now))
        self._become_tentative()

    def _reset(self) -> None:
        self._cells.clear()
        self._cursors.clear()
        self._become_tentative()


class _Surprise(Enum):
    """What the remote showed that no prediction foresaw."""

    NONE = "none"
    ELSEWHERE = "elsewhere"
    """Text on a row other than the cursor's (a status line, a clock)."""
    AT_CURSOR = "at cursor"
    """Text on the cursor's row, or the cursor on another row: a prompt, a line feed."""


def _creditable(cell: _CellPrediction) -> bool:
    """Whether seeing this prediction on screen proves the remote echoed it: a blank, or
    what the cell showed before, could be there by coincidence."""
    return cell.typed and bool(cell.grapheme.strip()) and cell.content not in cell.earlier


def _screen_cursor(screen: Snapshot) -> tuple[int, int] | None:
    """The remote's cursor (x, y); on the second half of a wide character, its first."""
    cursor = screen.cursor
    if cursor is None:
        return None
    return (cursor.x - 1 if cursor.at_wide_tail else cursor.x, cursor.y)


def _size(screen: Snapshot) -> tuple[int, int]:
    return (screen.columns, len(screen.rows))


def _content_at(screen: Snapshot, x: int, y: int) -> Content:
    if not (0 <= y < len(screen.rows)):
        return ("", -1)
    row = screen.rows[y]
    if not (0 <= x < len(row.widths)):
        return ("", -1)
    return (row.graphemes[x], row.widths[x])
