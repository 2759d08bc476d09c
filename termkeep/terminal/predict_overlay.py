"""What predictive echo draws over the emulator's screen: predicted cells and the cursor.

The Predictor (predict.py) makes an Overlay; the view draws ``overlaid_row`` of each row it
touches. Pure: no clock, no engine.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from termkeep.terminal.emulator import ScreenRow

BLANK = " "


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
    repair_wide(graphemes, widths)
    return OverlaidRow(tuple(graphemes), bytes(widths), tuple(styles))


def repair_wide(graphemes: list[str], widths: bytearray) -> None:
    """Blank out halves of wide characters whose other half was drawn over."""
    count = len(widths)
    for x in range(count):
        lead_ok = widths[x] != 2 or (x + 1 < count and widths[x + 1] == 0)
        tail_ok = widths[x] != 0 or (x > 0 and widths[x - 1] == 2)
        if not (lead_ok and tail_ok):
            graphemes[x], widths[x] = BLANK, 1
