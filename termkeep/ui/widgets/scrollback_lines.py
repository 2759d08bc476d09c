"""The scrollback view's lines: history lines from ``top``, with search matches, the
selection, the cursor line, and the away ruler (a drawn row, not a line of the history)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from termkeep.terminal.emulator import CellStyle
from termkeep.terminal.history_lines import HistoryLine, match_spans
from termkeep.ui.plain_text import plain_str
from termkeep.ui.scrollback_source import AwayRuler
from termkeep.ui.widgets.cells import Selection, StyleResolver, restyle_characters, styled_strip

_MATCH = Style(bgcolor="#b58900", color="#000000")
_SELECTED = Style(reverse=True)
_CURSOR_LINE = Style(underline=True)
_RULER = Style(dim=True)


class ScrollbackLines(Widget, can_focus=True):
    """Draws history lines from ``top``, with matches, the selection and the cursor line."""

    DEFAULT_CSS = "ScrollbackLines { height: 1fr; width: 1fr; }"

    def __init__(self, resolver: StyleResolver) -> None:
        super().__init__()
        self.lines: list[HistoryLine] = []
        self.cell_styles: Sequence[CellStyle] = ()
        self.top = 0
        self.cursor = 0
        self.search_text = ""
        self.selection: Selection | None = None
        """From (character, line) to (character, line)."""
        self.ruler: AwayRuler | None = None
        """A row drawn above one line, not a line itself: copy and search never see it."""
        self._resolver = resolver

    @property
    def page(self) -> int:
        """Lines on screen (one row fewer while the ruler is drawn)."""
        height = max(1, self.size.height)
        return max(1, height - 1) if self._ruler_row(height) is not None else height

    def _ruler_row(self, height: int) -> int | None:
        """The screen row the ruler is drawn on, when it is on screen."""
        if self.ruler is None:
            return None
        row = self.ruler.index - self.top
        return row if 0 <= row < height else None

    def number_at(self, y: int) -> int | None:
        """The line drawn on screen row ``y`` (None: the ruler's row)."""
        ruler = self._ruler_row(max(1, self.size.height))
        if ruler is None or y < ruler:
            return self.top + y
        return None if y == ruler else self.top + y - 1

    def ruler_strip(self, width: int) -> Strip:
        """The ruler: a dim rule with the notice's words."""
        said = plain_str(self.ruler.text) if self.ruler else ""
        text = f"── {said} "
        text = text + "─" * max(0, width - cell_len(text))
        return Strip([Segment(text, _RULER)]).crop(0, width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        number = self.number_at(y)
        if number is None:
            return self.ruler_strip(width)
        if not 0 <= number < len(self.lines):
            return Strip.blank(width, self._resolver.default)
        line = self.lines[number]
        strip = styled_strip(line, self.cell_styles, self._resolver, width)
        for start, end in match_spans(line.text, self.search_text):
            strip = restyle_characters(strip, line.text, start, end, _MATCH)
        span = self.selected_span(number)
        if span is not None:
            strip = restyle_characters(strip, line.text, *span, _SELECTED)
        if number == self.cursor and self.has_focus:
            strip = restyle_characters(strip, line.text, 0, max(1, len(line.text)), _CURSOR_LINE)
        return strip

    def selected_span(self, number: int) -> tuple[int, int] | None:
        """The selected [start, end) characters of line ``number``."""
        if self.selection is None:
            return None
        return self.selection.characters_on(number, len(self.lines[number].text))

    def selected_text(self) -> str:
        """The selection's text, one line per line."""
        if self.selection is None:
            return ""
        (_, first), (_, last) = self.selection.ordered()
        parts = []
        for number in range(first, last + 1):
            span = self.selected_span(number)
            parts.append(self.lines[number].text[span[0] : span[1]] if span else "")
        return "\n".join(parts)

    def point_at(self, x: int, y: int) -> tuple[int, int]:
        """The (character, line) under cell (x, y) of the widget (the ruler's row: the line
        below it)."""
        at = self.number_at(y)
        number = self.top + y if at is None else at
        number = min(max(number, 0), max(0, len(self.lines) - 1))
        text = self.lines[number].text if self.lines else ""
        column, cells = 0, 0
        while column < len(text) and cells + cell_len(text[column]) <= x:
            cells += cell_len(text[column])
            column += 1
        return (column, number)

    def show(self, number: int) -> None:
        """Move the cursor to line ``number`` and scroll so it is visible."""
        last = max(0, len(self.lines) - 1)
        self.cursor = min(max(number, 0), last)
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.page:
            self.top = self.cursor - self.page + 1
            if self.cursor >= self.top + self.page:
                self.top += 1  # the ruler came on screen with the move and took a row
        self._fill_screen()
        self.refresh()

    def _fill_screen(self) -> None:
        # Never leave empty rows below the last line while there are lines above.
        self.top = max(0, min(self.top, self.last_top()))

    def last_top(self) -> int:
        """The first line shown when the last line is on the screen's last row."""
        top = max(0, len(self.lines) - max(1, self.size.height))
        if self.ruler is not None and top <= self.ruler.index:
            top += 1  # the ruler is on that screen and takes a row of it
        return min(top, max(0, len(self.lines) - 1))

    def on_resize(self) -> None:
        """Keep the screen full and the cursor on it at the new height."""
        self.show(self.cursor)

    def scroll_lines(self, delta: int) -> None:
        """Move the view (and the cursor with it) by ``delta`` lines."""
        self.top = min(max(self.top + delta, 0), self.last_top())
        self.cursor = min(max(self.cursor, self.top), self.top + self.page - 1)
        self.cursor = min(self.cursor, max(0, len(self.lines) - 1))
        self.refresh()

    @property
    def at_bottom(self) -> bool:
        """Whether the last line is on screen."""
        return self.top + self.page >= len(self.lines)

    def scroll_page(self, pages: int) -> None:
        """Move the view and the cursor by whole pages."""
        before = self.top
        self.scroll_lines(pages * self.page)
        moved = self.top - before
        self.cursor = min(max(self.cursor + moved, self.top), self.top + self.page - 1)
        self.cursor = max(0, min(self.cursor, len(self.lines) - 1))
        self.refresh()

    def replace_from(self, keep: int, lines: list[HistoryLine]) -> None:
        """The lines after the first ``keep`` changed (the pane's screen, new rows)."""
        follow = self.at_bottom
        del self.lines[keep:]
        self.lines.extend(lines)
        if self.selection is not None and self.selection.ordered()[1][1] >= len(self.lines):
            self.selection = None
        if follow:
            self.top = self.last_top()
            self.cursor = max(self.cursor, self.top)
        self.cursor = max(0, min(self.cursor, len(self.lines) - 1))
        self.refresh()

    def prepend(self, lines: list[HistoryLine]) -> None:
        """Older lines arrived: put them above, keeping what is on screen in place."""
        self.lines[:0] = lines
        shift = len(lines)
        self.top += shift
        self.cursor += shift
        if self.ruler is not None:
            self.ruler = AwayRuler(self.ruler.index + shift, self.ruler.text)
        if self.selection is not None:
            self.selection = self.selection.moved_down(shift)
        self.refresh()
