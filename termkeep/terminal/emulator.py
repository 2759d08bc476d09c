"""The Emulator: a small facade over libghostty-vt (`evp`) so the engine can be swapped.

Bytes from the remote go in through `feed`; what to draw comes out as a `Snapshot` of
rows whose identity tells what changed. Replies the remote asked for (DA1/DA2/DSR/CPR/
XTVERSION/DECRQM) are written through the `write` callback synchronously inside `feed`,
so they are never queued behind rendering.

The window title and icon label reports (XTWINOPS `CSI 21 t` and `CSI 20 t`) are answered
empty, as PuTTY does: the engine would answer 21 with the title the remote set, so a
remote could set a title such as a command line and have the report type it at the shell.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Protocol

import evp

from termkeep.terminal.clipboard import ClipboardWrite, Osc52Filter
from termkeep.terminal.display_text import safe_text
from termkeep.terminal.palette import DEFAULT_PALETTE, RGB, Palette

DEFAULT_SCROLLBACK_LINES = 10_000
# The engine bounds scrollback in bytes, not lines. It stores about 9 bytes per cell of
# plain text (measured: 16 MB held 22,342 rows at 80 columns and 7,403 at 240), so the
# bound is lines x columns x 10, plus one MiB because the engine frees whole pages (a few
# hundred KB) at a time and would otherwise keep fewer lines than asked for small bounds.
# It is fixed when the engine is made, so it is sized for SCROLLBACK_REFERENCE_COLUMNS or
# the initial width if wider: a window widened later keeps proportionally fewer lines.
SCROLLBACK_BYTES_PER_CELL = 10
SCROLLBACK_PAGE_SLACK = 1 << 20
SCROLLBACK_REFERENCE_COLUMNS = 120
TITLE_MAX_LENGTH = 256

# DECSCUSR (`CSI Ps SP q`) is the only cursor-shape control; the engine does not expose
# the shape it sets, so the facade follows it. RIS (`ESC c`) and DECSTR reset it.
_CURSOR_SHAPE_CONTROL = re.compile(rb"\x1b\[([0-6]?) q|\x1bc|\x1b\[!p")
_SHAPE_CONTROL_MAX_LENGTH = 5
_KITTY_FLAGS = re.compile(r"\x1b\[=(\d+);1u")
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")

EMPTY_TITLE_REPORT = b"\x1b]l\x1b\\"
"""The answer to `CSI 21 t`: a title report with no title."""
EMPTY_ICON_REPORT = b"\x1b]L\x1b\\"
"""The answer to `CSI 20 t`: an icon label report with no label."""
_TITLE_REPORT_START = b"\x1b]l"
_ICON_REPORT_START = b"\x1b]L"
_ICON_REPORT_REQUEST = b"\x1b[20t"


class CursorShape(Enum):
    """How the cursor is drawn."""

    BLOCK = "block"
    UNDERLINE = "underline"
    BAR = "bar"


class MouseTracking(IntEnum):
    """Which mouse events the remote asked to receive (DEC private mode number)."""

    NONE = 0
    X10 = 9
    PRESS_RELEASE = 1000
    BUTTON_MOTION = 1002
    ANY_MOTION = 1003


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the cursor is on the screen and how it looks."""

    x: int
    y: int
    shape: CursorShape
    blinking: bool
    at_wide_tail: bool


@dataclass(frozen=True, slots=True)
class Modes:
    """The remote's terminal modes that decide how input is encoded and frames drawn."""

    cursor_keys_application: bool
    keypad_application: bool
    bracketed_paste: bool
    mouse_tracking: MouseTracking
    mouse_sgr: bool
    focus_reports: bool
    synchronized_output: bool
    alternate_screen: bool
    kitty_keyboard_flags: int


type Colour = int | RGB | None
"""A cell colour: None for the default, a palette index 0-255, or truecolor RGB."""


@dataclass(frozen=True, slots=True)
class CellStyle:
    """How a cell is drawn: colours and attributes, independent of the engine."""

    foreground: Colour
    background: Colour
    bold: bool
    faint: bool
    italic: bool
    underline: int
    blink: bool
    inverse: bool
    invisible: bool
    strikethrough: bool
    overline: bool


class ScreenRow(Protocol):
    """One row of cells as parallel sequences, one entry per column.

    A wide character takes its first column with width 2; the next column holds an empty
    grapheme of width 0. Rows are immutable: a row that did not change between two
    snapshots is the same object, even when a scroll moved it.
    """

    @property
    def graphemes(self) -> tuple[str, ...]:
        """Each column's grapheme cluster; a space where blank, empty after a wide one."""
        ...

    @property
    def widths(self) -> bytes:
        """How many columns each grapheme takes: 1, 2 if wide, 0 after a wide one."""
        ...

    @property
    def styles(self) -> tuple[int, ...]:
        """Each column's style, an index into `Snapshot.styles`."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the terminal shows at one moment.

    `styles` is the emulator's style table, indexed by `ScreenRow.styles`; `palette` is
    the 256 colours as 768 bytes of RGB as the remote left them (OSC 4 included).
    `cursor` is None when hidden or when the viewport is scrolled back.
    """

    columns: int
    rows: tuple[ScreenRow, ...]
    styles: Sequence[CellStyle]
    cursor: Cursor | None
    foreground: RGB
    background: RGB
    palette: bytes


def scrollback_bytes(lines: int, columns: int) -> int:
    """The engine's byte bound that keeps about `lines` rows of `columns` cells."""
    if lines <= 0:
        return 0
    width = max(columns, SCROLLBACK_REFERENCE_COLUMNS)
    return lines * width * SCROLLBACK_BYTES_PER_CELL + SCROLLBACK_PAGE_SLACK


def sanitize_title(title: str) -> str:
    """A title safe to show in a tab: control characters removed (a title is one short
    line), bidi and zero-width tricks neutralised, length capped."""
    return safe_text(_CONTROL_CHARACTERS.sub("", title), limit=TITLE_MAX_LENGTH)


def _weakly[**P](method: Callable[P, object]) -> Callable[P, None]:
    """A callback that calls a bound `method` while its object lives, without keeping it.

    The engine's C objects take no part in garbage collection, so a callback bound to
    the Emulator would make a cycle nothing can collect: every closed tab would leak its
    emulator (measured: 300 emulators kept 630 MB of address space).
    """
    reference = weakref.WeakMethod(method)

    def call(*args: P.args, **kwargs: P.kwargs) -> None:
        bound = reference()
        if bound is not None:
            bound(*args, **kwargs)

    return call


def _check_size(columns: int, rows: int) -> None:
    if columns < 1 or rows < 1:
        raise ValueError(f"terminal size must be at least 1x1, got {columns}x{rows}")


def _cell_style(style: evp.Style) -> CellStyle:
    return CellStyle(
        foreground=style.foreground,
        background=style.background,
        bold=style.bold,
        faint=style.faint,
        italic=style.italic,
        underline=style.underline,
        blink=style.blink,
        inverse=style.inverse,
        invisible=style.invisible,
        strikethrough=style.strikethrough,
        overline=style.overline,
    )


class Emulator:
    """A terminal emulator: remote bytes in, rows of styled cells out.

    `write` receives the terminal's replies to the remote's queries, during `feed`.
    The `on_title`, `on_bell` and `on_clipboard_write` attributes may be set at any time
    by whoever shows the terminal; they run during `feed` too.
    """

    def __init__(
        self,
        columns: int,
        rows: int,
        *,
        write: Callable[[bytes], object],
        scrollback_lines: int = DEFAULT_SCROLLBACK_LINES,
        palette: Palette = DEFAULT_PALETTE,
    ) -> None:
        _check_size(columns, rows)
        self.on_title: Callable[[str], object] | None = None
        self.on_bell: Callable[[], object] | None = None
        self.on_clipboard_write: Callable[[ClipboardWrite], object] | None = None
        self._write = write
        self._title = ""
        self._cursor_shape = CursorShape.BLOCK
        self._cursor_blinking = True
        self._shape_tail = b""
        self._icon_request_tail = b""
        self._scroll_offset = 0
        self._history_rows = 0
        self._styles: list[CellStyle] = []
        self._clipboard = Osc52Filter(self._clipboard_written)
        self._terminal = evp.Terminal(
            columns,
            rows,
            max_scrollback_bytes=scrollback_bytes(scrollback_lines, columns),
            on_write_pty=_weakly(self._reply),
            on_bell=_weakly(self._bell),
            on_title_changed=_weakly(self._title_changed),
        )
        self._render = evp.RenderState(self._terminal)
        self._escape_probe = evp.KeyEncoder(self._terminal)
        self.palette = palette

    @property
    def engine(self) -> evp.Terminal:
        """The engine itself, for the input encoders in this package only."""
        return self._terminal

    # -- input from the remote -------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Process bytes the remote wrote; replies go out through `write` before return."""
        data = self._clipboard.filter(data)
        if not data:
            return
        self._follow_cursor_shape(data)
        self._feed_answering_icon_reports(data)

    def _feed_answering_icon_reports(self, data: bytes) -> None:
        """Feed the engine, answering each `CSI 20 t` in its place among the replies.

        The engine sends nothing for it, so the answer is written right after the engine has
        read the request: replies to the queries around it keep their order.
        """
        window = self._icon_request_tail + data
        tail_length = len(self._icon_request_tail)
        self._icon_request_tail = window[-(len(_ICON_REPORT_REQUEST) - 1) :]
        if b"20t" not in window:  # the hot path: one substring search
            self._terminal.feed(data)
            return
        fed = 0
        found = window.find(_ICON_REPORT_REQUEST)
        while found >= 0:
            end = found + len(_ICON_REPORT_REQUEST) - tail_length
            if end > 0:  # a request wholly in the tail was answered last time
                self._terminal.feed(data[fed:end])
                self._write(EMPTY_ICON_REPORT)
                fed = end
            found = window.find(_ICON_REPORT_REQUEST, found + 1)
        self._terminal.feed(data[fed:])

    def _reply(self, data: bytes) -> None:
        if data.startswith(_TITLE_REPORT_START):
            # The engine reports the title the remote set: a remote could type with it.
            data = EMPTY_TITLE_REPORT
        elif data.startswith(_ICON_REPORT_START):
            return  # answered by _feed_answering_icon_reports, should the engine learn it
        self._write(data)

    def _bell(self) -> None:
        if self.on_bell is not None:
            self.on_bell()

    def _title_changed(self, title: str) -> None:
        self._title = sanitize_title(title)
        if self.on_title is not None:
            self.on_title(self._title)

    def _clipboard_written(self, request: ClipboardWrite) -> None:
        if self.on_clipboard_write is not None:
            self.on_clipboard_write(request)

    def _follow_cursor_shape(self, data: bytes) -> None:
        # A control split across feeds is found by searching the previous tail too;
        # a match that lies wholly in the tail was applied last time.
        window = self._shape_tail + data
        tail_length = len(self._shape_tail)
        self._shape_tail = window[-(_SHAPE_CONTROL_MAX_LENGTH - 1) :]
        if b" q" not in window:
            # One substring check is far cheaper than the regex on bulk output. A reset
            # (RIS, DECSTR) alone is noticed with the next DECSCUSR; tmux, our usual
            # remote, sends DECSCUSR itself whenever a pane's cursor changes.
            return
        for match in _CURSOR_SHAPE_CONTROL.finditer(window):
            if match.end() > tail_length:
                self._apply_cursor_shape(match.group(1))

    def _apply_cursor_shape(self, parameter: bytes | None) -> None:
        value = int(parameter) if parameter else 0
        shapes = {0: CursorShape.BLOCK, 1: CursorShape.BLOCK, 2: CursorShape.BLOCK}
        shapes |= {3: CursorShape.UNDERLINE, 4: CursorShape.UNDERLINE}
        shapes |= {5: CursorShape.BAR, 6: CursorShape.BAR}
        self._cursor_shape = shapes[value]
        self._cursor_blinking = value in (0, 1, 3, 5)

    # -- size, palette and viewport -------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        """The terminal's (columns, rows)."""
        return self._terminal.size()

    def resize(self, columns: int, rows: int) -> None:
        """Resize the screen, rewrapping it and the scrollback as a window resize does."""
        _check_size(columns, rows)
        if (columns, rows) != self.size:
            self._terminal.resize(columns, rows)

    @property
    def palette(self) -> Palette:
        """The theme colours the remote's default and ANSI colours stand for."""
        return self._palette

    @palette.setter
    def palette(self, palette: Palette) -> None:
        self._palette = palette
        self._terminal.set_default_colors(palette.foreground, palette.background)
        self._terminal.set_default_palette(palette.as_256_bytes())

    @property
    def scroll_offset(self) -> int:
        """How many rows the viewport is scrolled back into the scrollback (0: live)."""
        return self._scroll_offset

    def scroll_viewport(self, delta: int) -> None:
        """Scroll the viewport by `delta` rows: negative goes back into the scrollback."""
        target = self._scroll_offset - delta
        if target <= 0:
            self.scroll_to_bottom()
            return
        if target > self._history_rows:
            # Counting the scrollback reads every row, so it is done only when the
            # cached count could be too small, not on every step.
            self._history_rows = len(self._read_history())
        target = min(target, self._history_rows)
        if target != self._scroll_offset:
            self._terminal.scroll_viewport(self._scroll_offset - target)
            self._scroll_offset = target

    def scroll_to_bottom(self) -> None:
        """Show the live screen again."""
        self._terminal.scroll_viewport_to_bottom()
        self._scroll_offset = 0

    def history(self) -> tuple[ScreenRow, ...]:
        """The scrollback rows above the screen, oldest first (style indices as in
        ``snapshot().styles``)."""
        return self._read_history()

    def _read_history(self) -> tuple[ScreenRow, ...]:
        history = self._render.history()
        self._learn_styles(history.new_styles)
        return history.rows

    # -- reading what to draw -------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """What the terminal shows now; unchanged rows are the same objects as before."""
        frame = self._render.frame()
        self._learn_styles(frame.new_styles)
        return Snapshot(
            columns=frame.size[0],
            rows=frame.rows,
            styles=self._styles,
            cursor=self._cursor(frame.cursor),
            foreground=frame.foreground,
            background=frame.background,
            palette=frame.palette,
        )

    def _learn_styles(self, new_styles: tuple[evp.Style, ...]) -> None:
        self._styles.extend(_cell_style(style) for style in new_styles)

    def _cursor(self, position: tuple[int, int, bool] | None) -> Cursor | None:
        if position is None or self._scroll_offset:
            return None
        x, y, at_wide_tail = position
        return Cursor(x, y, self._cursor_shape, self._cursor_blinking, at_wide_tail)

    def text(self) -> str:
        """The screen as plain text, one line per row with trailing blanks trimmed."""
        rows = self.snapshot().rows
        return "\n".join(row_text(row) for row in rows)

    # -- state ----------------------------------------------------------------------

    @property
    def title(self) -> str:
        """The window title the remote set (sanitized), or an empty string."""
        return self._title

    def modes(self) -> Modes:
        """The remote's current input and drawing modes, all at once.

        The engine shows the kitty keyboard flags only through its formatter, which
        formats the whole screen (hundreds of microseconds at 240x60): on hot paths use
        the single-mode properties below instead.
        """
        mode = self._terminal.mode
        return Modes(
            cursor_keys_application=mode(1),
            keypad_application=mode(66),
            bracketed_paste=self.bracketed_paste,
            mouse_tracking=self.mouse_tracking,
            mouse_sgr=mode(1006),
            focus_reports=mode(1004),
            synchronized_output=self.synchronized_output,
            alternate_screen=self.alternate_screen,
            kitty_keyboard_flags=self._kitty_keyboard_flags(),
        )

    @property
    def bracketed_paste(self) -> bool:
        """Whether the remote asked for bracketed paste (mode 2004)."""
        return self._terminal.mode(2004)

    @property
    def alternate_screen(self) -> bool:
        """Whether a full-screen program switched to the alternate screen."""
        mode = self._terminal.mode
        return mode(1049) or mode(1047) or mode(47)

    @property
    def kitty_keyboard_active(self) -> bool:
        """Whether the remote's kitty keyboard flags change what keys send.

        Asked cheaply by encoding Escape, which only the protocol's disambiguating
        flags (1, 8) change; flags that only add reports leave legacy keys as they are.
        """
        return self._escape_probe.encode(evp.Key.ESCAPE) != b"\x1b"

    def _kitty_keyboard_flags(self) -> int:
        # The engine shows the flags only in its VT formatter's output, as `CSI = flags;1 u`
        # (absent when 0). Screen cells cannot hold ESC, so the match is the real one.
        formatted = evp.Formatter(
            self._terminal, format=evp.FormatterFormat.VT, kitty_keyboard=True
        ).format()
        matches = _KITTY_FLAGS.findall(formatted)
        return int(matches[-1]) if matches else 0

    @property
    def mouse_tracking(self) -> MouseTracking:
        """Which mouse events the remote asked to receive."""
        # Several may be set at once; the most inclusive one wins.
        for tracking in (
            MouseTracking.ANY_MOTION,
            MouseTracking.BUTTON_MOTION,
            MouseTracking.PRESS_RELEASE,
            MouseTracking.X10,
        ):
            if self._terminal.mode(tracking.value):
                return tracking
        return MouseTracking.NONE

    @property
    def synchronized_output(self) -> bool:
        """Whether the remote is in the middle of a synchronized update (mode 2026)."""
        return self._terminal.mode(2026)


def row_text(row: ScreenRow) -> str:
    """A row's text: the tail columns of wide characters skipped, trailing blanks trimmed."""
    return "".join(
        grapheme for grapheme, width in zip(row.graphemes, row.widths, strict=True) if width
    ).rstrip()
