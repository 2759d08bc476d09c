"""Cell drawing shared by the terminal view and the scrollback view.

Both draw the same kind of thing: cells whose style is an index into a table of engine
``CellStyle``s (the Emulator's, or the SGR parser's for tmux's pane history). This module
turns them into Textual Strips with concrete RGB colours (``StyleResolver``, ``row_strip``,
``styled_strip``), restyles spans of a strip for selections, matches and the cursor
(``restyle_cells``), and keeps what a mouse drag selected (``Selection``).
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from termkeep.terminal.emulator import CellStyle, Colour, ScreenRow, Snapshot
from termkeep.terminal.history_lines import HistoryLine
from termkeep.terminal.palette import RGB

_UNDERLINE_KINDS = {1: "underline", 2: "underline2"}


@dataclass(frozen=True, slots=True)
class Selection:
    """A selection from where the drag began (``anchor``) to where it is (``head``), as
    (x, y) pairs: viewport cells in the terminal view, (character, line) in the scrollback
    view."""

    anchor: tuple[int, int]
    head: tuple[int, int]

    def ordered(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(start, end) in reading order, as (x, y) pairs."""
        start, end = sorted((self.anchor, self.head), key=lambda cell: (cell[1], cell[0]))
        return start, end

    def columns_on(self, y: int, width: int) -> tuple[int, int] | None:
        """The [start, end) cells selected on line `y`, or None: the terminal view's drag
        covers the cell under the pointer at both ends."""
        (start_x, start_y), (end_x, end_y) = self.ordered()
        if not start_y <= y <= end_y:
            return None
        first = start_x if y == start_y else 0
        last = end_x + 1 if y == end_y else width
        return (first, last) if last > first else None

    def characters_on(self, y: int, length: int) -> tuple[int, int] | None:
        """The [start, end) characters selected on line `y` of `length` characters, or
        None: the scrollback view selects between characters, as a text editor does."""
        (start_x, start_y), (end_x, end_y) = self.ordered()
        if not start_y <= y <= end_y:
            return None
        first = start_x if y == start_y else 0
        last = end_x if y == end_y else length
        return (first, last) if last > first else None

    def moved_down(self, lines: int) -> Selection:
        """The same selection, ``lines`` further down (lines were put above it)."""
        (anchor_x, anchor_y), (head_x, head_y) = self.anchor, self.head
        return Selection((anchor_x, anchor_y + lines), (head_x, head_y + lines))


@functools.lru_cache(maxsize=4096)
def rgb_colour(colour: RGB) -> Color:
    """The Rich Color of an RGB triple (cached: building one formats a hex name, and a
    screen repeats few colours)."""
    return Color.from_rgb(*colour)


class StyleResolver:
    """Turns engine cell styles into Rich styles with concrete RGB colours.

    Colours are always RGB so Textual never repaints ANSI colours with its own theme;
    the emulator's palette (the theme, plus any OSC 4 changes by the remote) decides them.
    """

    def __init__(self) -> None:
        self._key: tuple[bytes, RGB, RGB] | None = None
        self._cache: dict[int, Style] = {}
        self._palette = b""
        self.foreground: RGB = (255, 255, 255)
        self.background: RGB = (0, 0, 0)
        self.default = Style()

    def update(self, snapshot: Snapshot) -> bool:
        """Follow the snapshot's colours; True when they changed and strips must be rebuilt."""
        key = (snapshot.palette, snapshot.foreground, snapshot.background)
        if key == self._key:
            return False
        self._key = key
        self._palette, self.foreground, self.background = key
        self._cache.clear()
        self.default = Style(color=rgb_colour(self.foreground), bgcolor=rgb_colour(self.background))
        return True

    def style(self, index: int, styles: Sequence[CellStyle]) -> Style:
        """The Rich style for style number `index` of the emulator's table."""
        try:
            return self._cache[index]
        except KeyError:
            converted = self._cache[index] = self._convert(styles[index])
            return converted

    def styles_of(self, indices: list[int], styles: Sequence[CellStyle]) -> list[Style]:
        """The Rich styles for several style numbers, converting any not seen yet."""
        cache = self._cache
        for index in set(indices).difference(cache):
            cache[index] = self._convert(styles[index])
        return [cache[index] for index in indices]

    def colour(self, colour: Colour, default: RGB) -> RGB:
        """The RGB a cell colour stands for."""
        if colour is None:
            return default
        if isinstance(colour, int):
            offset = colour * 3
            red, green, blue = self._palette[offset : offset + 3]
            return (red, green, blue)
        return colour

    def _convert(self, cell: CellStyle) -> Style:
        foreground = self.colour(cell.foreground, self.foreground)
        background = self.colour(cell.background, self.background)
        if cell.inverse:
            foreground, background = background, foreground
        if cell.invisible:
            foreground = background
        underline = _UNDERLINE_KINDS.get(cell.underline, "underline") if cell.underline else None
        return Style(
            color=rgb_colour(foreground),
            bgcolor=rgb_colour(background),
            bold=cell.bold or None,
            dim=cell.faint or None,
            italic=cell.italic or None,
            blink=cell.blink or None,
            strike=cell.strikethrough or None,
            overline=cell.overline or None,
            underline=underline == "underline" or None,
            underline2=underline == "underline2" or None,
        )


def row_strip(
    row: ScreenRow, columns: int, styles: Sequence[CellStyle], resolver: StyleResolver
) -> Strip:
    """One terminal row as a Strip exactly `columns` cells wide.

    This runs for every changed row, so the per-cell work is left to C-level loops:
    runs of equal style are found with map/compress, and their text is sliced from the
    row's joined text whenever every cell holds exactly one character.
    """
    graphemes = row.graphemes
    text = "".join(graphemes)
    # One width check for the whole row: Rich and the engine may disagree on some
    # grapheme's width (emoji sequences, mostly), and then the row is drawn cell by cell.
    if cell_len(text) != columns:
        aligned = Strip(_aligned_segments(row, styles, resolver))
        return aligned.adjust_cell_length(columns, resolver.default)
    starts, ends = _style_runs(row.styles)
    run_styles = resolver.styles_of([row.styles[start] for start in starts], styles)
    if len(text) == len(graphemes):
        texts = [text[start:end] for start, end in zip(starts, ends, strict=True)]
    else:
        texts = ["".join(graphemes[start:end]) for start, end in zip(starts, ends, strict=True)]
    return Strip(list(map(Segment, texts, run_styles)), columns)


def _style_runs(cell_styles: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """Where runs of equal style start and end (exclusive)."""
    count = len(cell_styles)
    if not count:
        return [], []
    if cell_styles.count(cell_styles[0]) == count:
        return [0], [count]
    changes = map(operator.ne, cell_styles[1:], cell_styles[:-1])
    starts = [0, *itertools.compress(range(1, count), changes)]
    return starts, [*starts[1:], count]


def _aligned_segments(
    row: ScreenRow, styles: Sequence[CellStyle], resolver: StyleResolver
) -> list[Segment]:
    segments = []
    for grapheme, width, style in zip(row.graphemes, row.widths, row.styles, strict=True):
        if width:
            segments.append(Segment(_fit_grapheme(grapheme, width), resolver.style(style, styles)))
    return segments


def _fit_grapheme(grapheme: str, width: int) -> str:
    """The grapheme padded, or replaced, so it takes exactly `width` cells."""
    drawn = cell_len(grapheme)
    if drawn < width:
        return grapheme + " " * (width - drawn)
    if drawn > width:
        return "\ufffd" * width
    return grapheme


def styled_strip(
    line: HistoryLine, styles: Sequence[CellStyle], resolver: StyleResolver, width: int
) -> Strip:
    """A history line as a Strip ``width`` cells wide (longer lines are cut)."""
    bounds = [start for start, _ in line.runs[1:]] + [len(line.text)]
    indices = [index for _, index in line.runs]
    rich = resolver.styles_of(indices, styles)
    segments = [
        Segment(line.text[start:end], style)
        for (start, _), end, style in zip(line.runs, bounds, rich, strict=True)
    ]
    return Strip(segments).adjust_cell_length(width, resolver.default)


def _restyle(strip: Strip, overlay: Style) -> Strip:
    """The strip with `overlay` applied on top of each segment's own style."""
    segments = [
        Segment(segment.text, (segment.style or Style()) + overlay, segment.control)
        for segment in strip
    ]
    return Strip(segments, strip.cell_length)


def restyle_cells(strip: Strip, start: int, end: int, overlay: Style) -> Strip:
    """The strip with cells [start, end) restyled by `overlay` on top of their own style."""
    return Strip.join(
        [strip.crop(0, start), _restyle(strip.crop(start, end), overlay), strip.crop(end)]
    )


def restyle_characters(strip: Strip, text: str, start: int, end: int, overlay: Style) -> Strip:
    """The strip of ``text`` with characters [start, end) restyled (wide characters take
    two cells: the text before them decides where they are)."""
    first, last = cell_len(text[:start]), cell_len(text[:end])
    if last <= first:
        return strip
    return restyle_cells(strip, first, last, overlay)


def selected_text(rows: Sequence[ScreenRow], selection: Selection, columns: int) -> str:
    """The text a selection covers, one line per row, trailing blanks trimmed."""
    lines = []
    for y in range(len(rows)):
        span = selection.columns_on(y, columns)
        if span is None:
            continue
        row = rows[y]
        start, end = span
        cells = zip(row.graphemes[start:end], row.widths[start:end], strict=True)
        lines.append("".join(grapheme for grapheme, width in cells if width).rstrip())
    return "\n".join(lines)
