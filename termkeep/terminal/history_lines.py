"""Lines for the scrollback view: text plus runs of style, and the search over them.

The lines come from the remote tmux pane (``tmux.sgr.SgrParser`` reads its captured output)
or from the Emulator's own rows (``line_of_row``); either way the view draws their styles
exactly as TerminalView draws the live screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from termkeep.terminal.emulator import ScreenRow

MAX_LINE_CHARACTERS = 10_000
"""A longer line (one 'line' of a binary file, say) is cut: nobody reads it in a pager."""


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One line: its text (one character per cell for most text) and where styles start.

    ``runs`` are (offset into ``text``, index into the style table); the first run starts
    at 0 when the line has any text.
    """

    text: str
    runs: tuple[tuple[int, int], ...]


def line_of_row(row: ScreenRow) -> HistoryLine:
    """An Emulator row as a HistoryLine (style indices into the emulator's table)."""
    pieces: list[str] = []
    runs: list[tuple[int, int]] = []
    length = 0
    for grapheme, width, style in zip(row.graphemes, row.widths, row.styles, strict=True):
        if not width:
            continue
        if not runs or runs[-1][1] != style:
            runs.append((length, style))
        pieces.append(grapheme)
        length += len(grapheme)
    text = "".join(pieces)
    stripped = text.rstrip(" ")
    runs = [run for run in runs if run[0] < len(stripped)] if stripped else []
    return HistoryLine(stripped, tuple(runs))


def search_lines(
    lines: Sequence[HistoryLine], query: str, start: int, *, forward: bool
) -> int | None:
    """The next line (after ``start`` going forward, before it going back, wrapping) whose
    text holds ``query``: case-insensitive unless the query has a capital (smartcase)."""
    if not query or not lines:
        return None
    fold = query == query.lower()
    needle = query.lower() if fold else query
    count = len(lines)
    step = 1 if forward else -1
    for offset in range(1, count + 1):
        number = (start + step * offset) % count
        text = lines[number].text
        if needle in (text.lower() if fold else text):
            return number
    return None


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where ``query`` occurs in ``text`` (smartcase), as [start, end) offsets."""
    if not query:
        return []
    haystack, needle = (text.lower(), query.lower()) if query == query.lower() else (text, query)
    spans = []
    position = haystack.find(needle)
    while position >= 0:
        spans.append((position, position + len(needle)))
        position = haystack.find(needle, position + len(needle))
    return spans
