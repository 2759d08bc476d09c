"""What a tmux pane did while termkeep was away: how many lines it printed, and whether the
command in front changed, in one line of plain words.

The count starts from the last lines termkeep showed before the drop, found again in the
pane's history after the reattach, never from the history's size: that stops growing once
the history is full (tmux then drops its oldest lines). The lines seen are the screen rows
above the cursor, matched as one block, so a repeated last line (``ok``, ``ok``) is placed
by the lines before it. When the block is not found, or found more than once, the notice
says the count is unknown instead of giving a wrong number.

Rows are the pane's rows (``capture-pane`` without ``-J``), the rows termkeep's screen
shows: a line longer than the pane counts once per row it takes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from termkeep.terminal.durations import NOTICE, duration_text
from termkeep.tmux.shell import remote_command, shell_words

SAFE_COMMAND = "s/[^A-Za-z0-9._+-]/_/"
"""tmux's substitution modifier: a command's name (any bytes a program chose) becomes
characters that need no quoting and cannot end a report line."""
FOREGROUND_FORMAT = f"#{{{SAFE_COMMAND}:pane_current_command}}"
SHELL_FORMAT = f"#{{{SAFE_COMMAND}:#{{b:default-shell}}}}"
AWAY_HEADER = " ".join(
    (
        "#{history_size} #{history_limit} #{cursor_y} #{alternate_on} #{pane_in_mode}",
        FOREGROUND_FORMAT,
        SHELL_FORMAT,
    )
)
AWAY_ROWS = 4000
"""History rows read after a reattach (a page, at most MAX_PAGE_LINES with the screen):
a last line seen further up than this is reported as not found."""
AWAY_MAX_BYTES = 8 * 1024 * 1024
_SCREEN_LAST_ROW = 999  # tmux clamps -E to the screen's last row
_TRAILING_BLANKS = re.compile(r"[^\S\n]+$", re.MULTILINE)
"""What ``str.rstrip`` cuts from each row (the same whitespace), without splitting them."""


@dataclass(frozen=True, slots=True)
class SeenScreen:
    """What termkeep showed when the link dropped: the screen rows above the cursor (the
    lines complete then). Whether a full-screen program had the pane then cannot be told
    from here (tmux keeps its client on the alternate screen whatever the pane does); its
    rows are not in the history, so they are not found."""

    rows: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaneRows:
    """A pane's rows, trailing blanks cut, held as one string with a row a line.

    A read is up to AWAY_ROWS rows, and every tab reads at once after an outage that took
    them all: as one string each it is one allocation, given back whole, where a tuple of
    rows made thousands of small strings per tab at once, and the Python heap they grew
    stayed with the app (a step of its resident memory after each long outage)."""

    text: str
    count: int

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < self.count:
            raise IndexError(index)
        start = _nth_newline(self.text, index - 1) + 1
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def block_ends(self, block: Sequence[str], before: int) -> list[int]:
        """Every row index where ``block`` (rows, compared whole) ends, among the rows
        before index ``before``, from the last; at most two: two are already too many."""
        rows = f"\n{self.text}\n" if self.count else "\n"
        # Row r starts after newline r of ``rows``; the block must end before row ``before``.
        limit = _nth_newline(rows, min(before, self.count)) + 1
        needle = "\n" + "\n".join(block) + "\n"
        ends: list[int] = []
        found = rows.rfind(needle, 0, limit)
        while found >= 0 and len(ends) < 2:
            ends.append(rows.count("\n", 0, found) + len(block) - 1)
            # The next one may overlap this one (``ok ok`` in ``ok ok ok``) but not be it.
            found = rows.rfind(needle, 0, found + len(needle) - 1)
        return ends


def _nth_newline(text: str, number: int) -> int:
    """The position of newline ``number`` (0 the first) of ``text``; -1 for number -1."""
    position = -1
    for _ in range(number + 1):
        position = text.find("\n", position + 1)
    return position


@dataclass(frozen=True, slots=True)
class PaneNow:
    """The pane after the reattach: its history and screen rows (``rows[0]`` is tmux row
    ``-len(rows) + height``, the last is the screen's last row), where the cursor is, and
    what runs in front."""

    history: int
    limit: int
    cursor_y: int
    alternate: bool
    in_mode: bool
    """The pane is in copy mode (or another mode): what it shows is history, not output."""
    foreground: str
    default_shell: str
    """The name of tmux's ``default-shell``: a pane back at its shell shows this."""
    rows: PaneRows
    above: int
    """How many of ``rows`` are history (the rest are the screen)."""

    @property
    def cursor_index(self) -> int:
        """The cursor's row as an index into ``rows``."""
        return self.above + self.cursor_y


class CountKind(StrEnum):
    COUNTED = "counted"
    NOT_FOUND = "not found"
    REPEATED = "repeated"
    FULL_SCREEN = "full screen"
    IN_MODE = "in mode"
    NOTHING_SEEN = "nothing seen"


@dataclass(frozen=True, slots=True)
class LineCount:
    """The verdict: ``lines`` printed since the last line seen (COUNTED only), and
    ``first_unseen``, the tmux row (0 the screen's top, negative the history) of the first
    line not seen, when the pane was read."""

    kind: CountKind
    lines: int | None = None
    first_unseen: int | None = None
    history_full: bool = False
    limit: int = 0


def away_command(session: str, rows: int = AWAY_ROWS, *, max_bytes: int = AWAY_MAX_BYTES) -> str:
    """One line of ``AWAY_HEADER``, then the pane's last ``rows`` history rows and its
    screen as plain text, one row a line (not joined: rows as the screen shows them)."""
    target = f"={session}:"
    display = shell_words("tmux", "display-message", "-p", "-t", target, AWAY_HEADER)
    capture = shell_words(
        "tmux", "capture-pane", "-p", "-t", target, "-S", str(-rows), "-E", str(_SCREEN_LAST_ROW)
    )
    head = shell_words("head", "-c", str(max_bytes))
    return remote_command(f"{display} && {capture} | {head}")


def parse_away(output: bytes, rows: int = AWAY_ROWS) -> PaneNow:
    """The pane from ``away_command``'s output; ValueError when it is not one."""
    header, _, data = output.partition(b"\n")
    fields = header.decode("ascii", "replace").split()
    if len(fields) != 7:
        raise ValueError(f"not a pane report: {header[:80]!r}")
    try:
        history, limit, cursor_y, alternate, in_mode = (int(field) for field in fields[:5])
    except ValueError:
        raise ValueError(f"not a pane report: {header[:80]!r}") from None
    text = data.decode("utf-8", "replace")
    text = text.removesuffix("\n")  # the newline after the last row
    count = text.count("\n") + 1 if data else 0
    above = min(history, rows)
    return PaneNow(
        history=history,
        limit=limit,
        cursor_y=cursor_y,
        alternate=alternate == 1,
        in_mode=in_mode == 1,
        foreground=fields[5],
        default_shell=fields[6],
        rows=PaneRows(_TRAILING_BLANKS.sub("", text), count),
        above=above,
    )


def count_new_lines(seen: SeenScreen, now: PaneNow) -> LineCount:
    """How many rows the pane printed after the last row seen (see the module's notes)."""
    full = now.history >= now.limit > 0
    if now.alternate:
        return LineCount(CountKind.FULL_SCREEN)
    if now.in_mode:
        # Copy mode shows history: the rows seen may have been old lines scrolled back to.
        return LineCount(CountKind.IN_MODE)
    anchor = _without_leading_blanks(seen.rows)
    if not anchor:
        return LineCount(CountKind.NOTHING_SEEN)
    # The whole block first; then without its top row once, which may be a status line at
    # the top or a pane's border rather than the pane's own text.
    for block in (anchor, anchor[1:]):
        if not block:
            break
        ends = now.rows.block_ends(block, now.cursor_index)
        if len(ends) > 1:
            return LineCount(CountKind.REPEATED)
        if ends:
            first_unseen = ends[0] + 1
            return LineCount(
                CountKind.COUNTED,
                lines=now.cursor_index - first_unseen,
                first_unseen=first_unseen - now.above,
                history_full=full,
                limit=now.limit,
            )
    return LineCount(CountKind.NOT_FOUND, history_full=full, limit=now.limit)


def _without_leading_blanks(rows: Sequence[str]) -> tuple[str, ...]:
    start = 0
    while start < len(rows) and not rows[start].strip():
        start += 1
    return tuple(row.rstrip() for row in rows[start:])


_NOT_COUNTED = {
    CountKind.REPEATED: "the output repeats the last lines seen",
    CountKind.FULL_SCREEN: "a full-screen program is in front",
    CountKind.IN_MODE: "the pane is in copy mode",
    CountKind.NOTHING_SEEN: "the screen was empty",
    CountKind.NOT_FOUND: "the last line seen is not in the history",
}


def lines_text(count: LineCount) -> str:
    """The line count in words (or why there is none)."""
    if count.kind is CountKind.COUNTED:
        lines = count.lines or 0
        if lines == 0:
            return "no new output"
        return f"{lines} line{'s' if lines != 1 else ''} printed"
    if count.kind is CountKind.NOT_FOUND and count.history_full:
        return (
            "new lines not counted: the last line seen is no longer in the history "
            f"(full at {count.limit} lines: more may have scrolled past)"
        )
    return f"new lines not counted: {_NOT_COUNTED[count.kind]}"


def foreground_text(before: str | None, now: str | None, shell: str | None) -> str:
    """Whether the command in front changed or ended; "" when there is nothing to say (not
    known, or the shell before and after)."""
    if not before or not now:
        return ""
    if before == now:
        return "" if now == shell else f"{now} still running"
    if now == shell:
        return f"{before} ended"
    if before == shell:
        return f"{now} started"
    return f"{before} ended, {now} in front"


def away_text(seconds: float, lines: str, foreground: str) -> str:
    """The one notice: ``while you were away (42 s): 340 lines printed, seq ended``."""
    said = ", ".join(part for part in (lines, foreground) if part)
    away = f"while you were away ({duration_text(seconds, NOTICE)})"
    return f"{away}: {said}" if said else away
