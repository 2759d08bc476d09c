"""What a typed key will do to the screen: predictive echo's model of a line editor.

``KeyGuesser`` turns each typed key into predictions (``Guesses``): printable characters
appear at the cursor (inserted, as shells and editors do, when text follows), backspace
removes the character before it, left and right move the cursor inside the line; any other
key starts a new epoch, whose guesses are drawn only once the remote has echoed one of them.
The Predictor (predict.py) owns the Guesses and checks them against the remote's screen.

Pure: time is passed in, the screen is the Emulator's Snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from termkeep.terminal.emulator import Snapshot
from termkeep.terminal.predict_overlay import BLANK, char_width, repair_wide

type Content = tuple[str, int]
"""A cell's grapheme and width, what a prediction is compared on."""


@dataclass(slots=True)
class CellPrediction:
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
class CursorPrediction:
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
class Column:
    """A column of the row being edited, as it will look once the remote echoes."""

    grapheme: str
    width: int
    style: int

    @property
    def content(self) -> Content:
        return (self.grapheme, self.width)

    @property
    def blank(self) -> bool:
        return self.grapheme in (BLANK, "")


@dataclass(slots=True)
class Guesses:
    """Every prediction outstanding, and what they were made on."""

    cells: dict[tuple[int, int], CellPrediction] = field(default_factory=dict)
    """By (row, column)."""
    cursors: list[CursorPrediction] = field(default_factory=list)
    epoch: int = 1
    sequence: int = 0
    """How many keys were typed: each prediction remembers its key's number."""
    screen: Snapshot | None = None
    """The remote's screen when last seen."""
    now: float = 0.0
    line_start: tuple[int, int] | None = None
    """Where typing on the current line began (x, y): backspace and left stop there, since
    what is left of it (a prompt) is not the line editor's to erase."""

    def become_tentative(self) -> None:
        """Start a new epoch: its guesses wait for the remote's echo of one of them."""
        self.epoch += 1

    def reset(self) -> None:
        """Drop every prediction; what comes next is tentative."""
        self.cells.clear()
        self.cursors.clear()
        self.become_tentative()


class KeyGuesser:
    """Predicts, key by key, what the remote's line editor will show."""

    def __init__(self, guesses: Guesses) -> None:
        self._guesses = guesses

    def key(self, text: str, index: int) -> int:
        """Predict the key at ``text[index]``; returns the index after it."""
        character = text[index]
        if character == "\x1b":
            return self._escape(text, index)
        if character in ("\x7f", "\x08"):
            self._backspace()
        elif character == "\r":
            # Where the next line starts is the remote's to say (a prompt, output first):
            # keys typed next start from its cursor, not from a guess.
            self._guesses.become_tentative()
            self._guesses.cursors.clear()
            self._guesses.line_start = None
        elif character < " " or "\x80" <= character <= "\x9f":
            self._guesses.become_tentative()
        else:
            width = char_width(character)
            if width == 0 or character == "\ufffd":
                self._guesses.become_tentative()
            else:
                self._print(character, width)
        return index + 1

    def _escape(self, text: str, index: int) -> int:
        """An escape sequence: left/right arrows move the cursor, anything else is unknown."""
        introducer = text[index + 1 : index + 2]
        if introducer not in ("[", "O"):
            # A lone Escape, or alt+key: nobody can guess what the remote makes of it.
            self._guesses.become_tentative()
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
            self._guesses.become_tentative()
        return end + 1

    def _cursor(self) -> CursorPrediction | None:
        """The cursor prediction of the current epoch, started from the last one or the screen."""
        screen = self._guesses.screen
        if screen is None:
            return None
        if self._guesses.cursors:
            last = self._guesses.cursors[-1]
            if not (0 <= last.x < screen.columns and 0 <= last.y < len(screen.rows)):
                return None
            if last.epoch != self._guesses.epoch:
                last = CursorPrediction(
                    last.x, last.y, self._guesses.epoch, self._guesses.now, self._guesses.sequence
                )
                self._guesses.cursors.append(last)
            return last
        position = screen_cursor(screen)
        if position is None or not (0 <= position[0] < screen.columns):
            return None
        x, y = position
        cursor = CursorPrediction(
            x, y, self._guesses.epoch, self._guesses.now, self._guesses.sequence
        )
        self._guesses.cursors.append(cursor)
        if self._guesses.line_start is None or self._guesses.line_start[1] != cursor.y:
            self._guesses.line_start = (x, cursor.y)
        return cursor

    def _at_line_start(self, cursor: CursorPrediction) -> bool:
        start = self._guesses.line_start
        if cursor.x == 0:
            return True
        return start is not None and cursor.y == start[1] and cursor.x <= start[0]

    def _print(self, character: str, width: int) -> None:
        cursor = self._cursor()
        screen = self._guesses.screen
        if cursor is None or screen is None:
            self._guesses.become_tentative()
            return
        columns = screen.columns
        if cursor.x + width > columns:
            # No room left: the remote wraps its own way (a shell, emacs' "\").
            self._guesses.become_tentative()
            if not self._newline():
                return
        if cursor.x + width >= columns:
            self._guesses.become_tentative()  # the last column: wrapping differs from app to app
        row = self._row(cursor.y)
        if cursor.x >= len(row):
            self._guesses.become_tentative()
            return
        style = row[cursor.x].style
        typed = [Column(character, width, style)]
        if width == 2:
            typed.append(Column("", 0, style))
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
        cursor.moved(self._guesses.now, self._guesses.sequence)
        if cursor.x >= columns:
            self._guesses.become_tentative()
            self._newline()

    def _backspace(self) -> None:
        cursor = self._cursor()
        if cursor is None or self._at_line_start(cursor):
            # At the start of a line the remote may go up to a wrapped line, or ring a bell.
            self._guesses.become_tentative()
            return
        row = self._row(cursor.y)
        start = cursor.x - 1
        if row[start].width == 0 and start > 0:
            start -= 1
        removed = cursor.x - start
        tail = row[cursor.x :]
        blank_style = row[-1].style
        edited = row[:start] + tail + [Column(BLANK, 1, blank_style) for _ in range(removed)]
        # What moves in at the end may come from a wrapped next row: unknown, unless the
        # line ends before the margin.
        known = len(row) if all(column.blank for column in row[-removed:]) else len(row) - removed
        self._predict_row(cursor.y, row, edited, known)
        cursor.x = start
        cursor.moved(self._guesses.now, self._guesses.sequence)

    def _move_left(self) -> None:
        cursor = self._cursor()
        if cursor is None or self._at_line_start(cursor):
            self._guesses.become_tentative()
            return
        row = self._row(cursor.y)
        cursor.x -= 1
        if row[cursor.x].width == 0 and cursor.x > 0:
            cursor.x -= 1
        cursor.moved(self._guesses.now, self._guesses.sequence)

    def _move_right(self) -> None:
        cursor = self._cursor()
        if cursor is None:
            self._guesses.become_tentative()
            return
        row = self._row(cursor.y)
        if cursor.x >= len(row) or row[cursor.x].blank:
            # Past the end of the text a line editor does not move; typed spaces look the
            # same as the end: nothing to guess.
            self._guesses.become_tentative()
            return
        step = max(row[cursor.x].width, 1)
        if cursor.x + step >= len(row):
            self._guesses.become_tentative()
            return
        cursor.x += step
        cursor.moved(self._guesses.now, self._guesses.sequence)

    def _newline(self) -> bool:
        """Move the predicted cursor to the start of the next row; False at the bottom."""
        cursor = self._cursor()
        screen = self._guesses.screen
        if cursor is None or screen is None:
            return False
        cursor.x = 0
        cursor.moved(self._guesses.now, self._guesses.sequence)
        if cursor.y + 1 >= len(screen.rows):
            return False  # the remote scrolls: too much to guess
        cursor.y += 1
        return True

    def _row(self, y: int) -> list[Column]:
        """Row ``y`` as it will look: the screen with every prediction applied."""
        screen = self._guesses.screen
        assert screen is not None
        row = screen.rows[y]
        columns = [
            Column(grapheme, width, style)
            for grapheme, width, style in zip(row.graphemes, row.widths, row.styles, strict=True)
        ]
        for (cell_y, x), cell in self._guesses.cells.items():
            if cell_y == y and x < len(columns):
                columns[x] = Column(cell.grapheme, cell.width, cell.style)
        return columns

    def _predict_row(
        self,
        y: int,
        before: Sequence[Column],
        after: list[Column],
        known: int,
        typed_at: int | None = None,
    ) -> None:
        """Predict every column of row ``y`` that the edit changes (the first ``known``)."""
        graphemes = [column.grapheme for column in after]
        widths = bytearray(column.width for column in after)
        repair_wide(graphemes, widths)
        screen = self._guesses.screen
        assert screen is not None
        for x, (old, grapheme, width) in enumerate(zip(before, graphemes, widths, strict=False)):
            if x >= known:
                self._guesses.cells.pop((y, x), None)
                continue
            if (grapheme, width) == old.content:
                continue
            earlier = {content_at(screen, x, y), old.content}
            previous = self._guesses.cells.get((y, x))
            if previous is not None:
                earlier |= previous.earlier
            self._guesses.cells[(y, x)] = CellPrediction(
                grapheme,
                width,
                after[x].style,
                self._guesses.epoch,
                self._guesses.now,
                self._guesses.sequence,
                earlier,
                typed=x == typed_at,
            )


def screen_cursor(screen: Snapshot) -> tuple[int, int] | None:
    """The remote's cursor (x, y); on the second half of a wide character, its first."""
    cursor = screen.cursor
    if cursor is None:
        return None
    return (cursor.x - 1 if cursor.at_wide_tail else cursor.x, cursor.y)


def screen_size(screen: Snapshot) -> tuple[int, int]:
    return (screen.columns, len(screen.rows))


def content_at(screen: Snapshot, x: int, y: int) -> Content:
    if not (0 <= y < len(screen.rows)):
        return ("", -1)
    row = screen.rows[y]
    if not (0 <= x < len(row.widths)):
        return ("", -1)
    return (row.graphemes[x], row.widths[x])
