"""The Strips of the terminal's last frame, rebuilt only where rows changed.

A frame is one Snapshot of the emulator. The Strip of every row the engine reports unchanged
is reused (rows keep their identity, even when a scroll moves them), so a scroll rebuilds
one row, not the screen. Predicted cells (predictive echo) are drawn over copies of the rows
they touch; the selection and the cursor are painted over the cached Strips when a line is
asked for, so moving them rebuilds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.style import Style
from textual.strip import Strip

from termkeep.terminal.emulator import CursorShape, ScreenRow, Snapshot
from termkeep.terminal.palette import RGB
from termkeep.terminal.predict_overlay import EMPTY_OVERLAY, Overlay, PredictedCell, overlaid_row
from termkeep.ui.widgets.cells import (
    Selection,
    StyleResolver,
    restyle_cells,
    rgb_colour,
    row_strip,
)

_SELECTED = Style(reverse=True)
_PREDICTED = Style(underline=True)

type ChangedLines = set[int] | None
"""Lines whose Strip changed; None when every line did."""


class TerminalFrame:
    """The last frame drawn, as Strips, with the predicted cells drawn over it."""

    def __init__(self) -> None:
        self.resolver = StyleResolver()
        self.snapshot: Snapshot | None = None
        """What the last frame drew, or None before the first frame."""
        self.overlay: Overlay = EMPTY_OVERLAY
        """The predicted cells and cursor drawn over the last frame."""
        self.frames_drawn = 0
        self.strips_built = 0
        self._strips: list[Strip] = []
        self._strip_cache: dict[int, tuple[ScreenRow, Strip]] = {}
        self._overlay_strips: dict[int, Strip] = {}

    def draw(self, snapshot: Snapshot) -> ChangedLines:
        """Take ``snapshot`` as the new frame, rebuilding the Strips of changed rows; the
        lines to send to the screen again."""
        previous = self.snapshot
        if (
            self.resolver.update(snapshot)
            or previous is None
            or (previous.columns != snapshot.columns)
        ):
            self._strip_cache.clear()
            previous = None
        self._strips = self._build_strips(snapshot)
        self.snapshot = snapshot
        self.frames_drawn += 1
        return _changed_lines(previous, snapshot)

    def _build_strips(self, snapshot: Snapshot) -> list[Strip]:
        cache = self._strip_cache
        fresh: dict[int, tuple[ScreenRow, Strip]] = {}
        strips = []
        for row in snapshot.rows:
            entry = cache.get(id(row))
            if entry is None or entry[0] is not row:
                entry = (row, row_strip(row, snapshot.columns, snapshot.styles, self.resolver))
                self.strips_built += 1
            fresh[id(row)] = entry
            strips.append(entry[1])
        self._strip_cache = fresh
        return strips

    def predict(self, overlay: Overlay) -> set[int]:
        """Draw ``overlay`` over the frame; the lines that look different for it."""
        snapshot = self.snapshot
        assert snapshot is not None
        previous = self.overlay
        self.overlay = overlay
        # A row's strip may have been rebuilt by this frame: its overlay is rebuilt with it.
        self._overlay_strips = {
            y: self._overlay_strip(snapshot, y, cells)
            for y, cells in overlay.rows.items()
            if 0 <= y < len(snapshot.rows)
        }
        if overlay == previous:
            return set()
        lines = {*previous.rows, *overlay.rows}
        for cursor in (previous.cursor, overlay.cursor, snapshot.cursor):
            if cursor is not None:
                lines.add(cursor[1] if isinstance(cursor, tuple) else cursor.y)
        return lines

    def _overlay_strip(
        self, snapshot: Snapshot, y: int, cells: Mapping[int, PredictedCell]
    ) -> Strip:
        row = overlaid_row(snapshot.rows[y], cells)
        strip = row_strip(row, snapshot.columns, snapshot.styles, self.resolver)
        for x, cell in cells.items():
            if cell.underline and cell.width:
                strip = restyle_cells(strip, x, x + cell.width, _PREDICTED)
        return strip

    def line(
        self,
        y: int,
        width: int,
        selection: Selection | None,
        *,
        focused: bool,
        cursor_colour: Callable[[], RGB],
    ) -> Strip:
        """Line ``y``, ``width`` cells: the cached row strip with the selection and the
        cursor painted over it. ``cursor_colour`` is asked only for the cursor's row: every
        line of every frame comes through here."""
        if y >= len(self._strips):
            return Strip.blank(width, self.resolver.default)
        strip = self._overlay_strips.get(y) or self._strips[y]
        if selection is not None:
            span = selection.columns_on(y, strip.cell_length)
            if span is not None:
                strip = restyle_cells(strip, *span, _SELECTED)
        strip = self._paint_cursor(strip, y, focused=focused, colour=cursor_colour)
        if strip.cell_length != width:
            strip = strip.adjust_cell_length(width, self.resolver.default)
        return strip

    def _paint_cursor(
        self, strip: Strip, y: int, *, focused: bool, colour: Callable[[], RGB]
    ) -> Strip:
        snapshot = self.snapshot
        cursor = snapshot.cursor if snapshot is not None else None
        if snapshot is None or cursor is None:
            return strip
        x, cursor_y = cursor.x - 1 if cursor.at_wide_tail else cursor.x, cursor.y
        if self.overlay.cursor is not None:
            x, cursor_y = self.overlay.cursor
        if cursor_y != y:
            return strip
        row: ScreenRow = snapshot.rows[y]
        if y in self.overlay.rows:
            row = overlaid_row(row, self.overlay.rows[y])
        width = row.widths[x] if 0 <= x < len(row.widths) else 1
        cursor_colour = rgb_colour(colour())
        if focused and cursor.shape is not CursorShape.UNDERLINE:
            # A cell grid cannot draw a thin bar, so bar and block both show as a block.
            background = rgb_colour(self.resolver.background)
            style = Style(color=background, bgcolor=cursor_colour, reverse=False)
        else:
            style = Style(underline=True, color=cursor_colour)
        return restyle_cells(strip, x, x + max(width, 1), style)


def _changed_lines(previous: Snapshot | None, snapshot: Snapshot) -> ChangedLines:
    """The rows that are not the same objects as before, and the cursor's old and new rows."""
    if previous is None or len(previous.rows) != len(snapshot.rows):
        return None
    lines = {
        y
        for y, (old, new) in enumerate(zip(previous.rows, snapshot.rows, strict=True))
        if old is not new
    }
    if previous.cursor != snapshot.cursor:
        lines.update(cursor.y for cursor in (previous.cursor, snapshot.cursor) if cursor)
    return lines
