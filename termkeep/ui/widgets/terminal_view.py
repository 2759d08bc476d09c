"""TerminalView: draws an Emulator with Textual's Line API and sends input back to the remote.

Output is cheap to draw: a frame (paced by FramePacer: at once after a quiet spell, at most
60 a second in a flood, the end of a burst as soon as it pauses) reads one Snapshot, reuses
the Strip of every row the engine reports unchanged (rows keep their identity, even when a
scroll moves them) and refreshes only lines whose row changed. The cursor and selection
are painted over the cached strips in `render_line`, so moving them rebuilds nothing.

With a Predictor, typed keys are guessed locally (predictive echo): the guessed cells are
drawn over the emulator's rows at paint time, only on the rows they touch, and checked
against every frame; the emulator itself never sees them.

The clipboard both ways goes through checks that may need the user: a remote's OSC 52 write
from a tab in the background (a ClipboardGate decides), and a paste that would run several
lines (``termkeep.terminal.paste``). The view asks by posting a message (ClipboardQuestion,
PasteQuestion) that the tab's pane answers with a question naming the tab; every write that
reaches the clipboard is posted as ClipboardSet, for the status line to announce.
"""

from __future__ import annotations

import functools
import itertools
import operator
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from termkeep.terminal.clipboard import ClipboardGate, ClipboardWrite, Verdict
from termkeep.terminal.emulator import (
    CellStyle,
    Colour,
    CursorShape,
    Emulator,
    MouseTracking,
    ScreenRow,
    Snapshot,
)
from termkeep.terminal.keys import InputEncoder, MouseAction, MouseButton, MouseModifiers
from termkeep.terminal.palette import RGB
from termkeep.terminal.paste import PasteCheck, line_count, paste_checks
from termkeep.terminal.predict import EMPTY_OVERLAY, Overlay, PredictedCell, Predictor, overlaid_row
from termkeep.ui.failures import TabBoundary
from termkeep.ui.typed_input import Typed, TypedKey, TypedListener, TypedPaste
from termkeep.ui.widgets.frame_pacer import FramePacer

MIN_TIMER_DELAY = 0.001
TIMER_SLACK = 0.001
"""Textual wakes a timer up to half a millisecond early (it allows for its own overhead); a
frame due within this much of now is drawn, not put off by another millisecond."""
SYNC_HOLD_TIMEOUT = 0.150  # how long a synchronized update (mode 2026) may hold frames
WHEEL_STEP = 3
# xterm's scrollback keys; shift+home / shift+end (top, live) can be added by the app.
DEFAULT_SCROLLBACK_KEYS = frozenset({"shift+pageup", "shift+pagedown"})
_UNDERLINE_KINDS = {1: "underline", 2: "underline2"}


@dataclass(frozen=True, slots=True)
class Selection:
    """A mouse selection in viewport cells, from where the drag began to where it is."""

    anchor: tuple[int, int]
    head: tuple[int, int]

    def ordered(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(start, end) in reading order, as (x, y) pairs; end is inclusive."""
        start, end = sorted((self.anchor, self.head), key=lambda cell: (cell[1], cell[0]))
        return start, end

    def columns_on(self, y: int, width: int) -> tuple[int, int] | None:
        """The [start, end) columns selected on line `y`, or None."""
        (start_x, start_y), (end_x, end_y) = self.ordered()
        if not start_y <= y <= end_y:
            return None
        first = start_x if y == start_y else 0
        last = end_x + 1 if y == end_y else width
        return (first, last) if last > first else None


@functools.lru_cache(maxsize=4096)
def _rgb(colour: RGB) -> Color:
    # Building a Rich Color is slow (it formats a hex name); a screen repeats few colours.
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
        self.default = Style(color=_rgb(self.foreground), bgcolor=_rgb(self.background))
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
            color=_rgb(foreground),
            bgcolor=_rgb(background),
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


def _restyle(strip: Strip, overlay: Style) -> Strip:
    """The strip with `overlay` applied on top of each segment's own style."""
    segments = [
        Segment(segment.text, (segment.style or Style()) + overlay, segment.control)
        for segment in strip
    ]
    return Strip(segments, strip.cell_length)


def _overlay(strip: Strip, start: int, end: int, overlay: Style) -> Strip:
    """The strip with cells [start, end) restyled."""
    return Strip.join(
        [strip.crop(0, start), _restyle(strip.crop(start, end), overlay), strip.crop(end)]
    )


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


_MOUSE_BUTTONS = {1: MouseButton.LEFT, 2: MouseButton.MIDDLE, 3: MouseButton.RIGHT}


def _modifiers(event: events.MouseEvent) -> MouseModifiers:
    return MouseModifiers(shift=event.shift, ctrl=event.ctrl, alt=event.meta)


class TerminalView(TabBoundary, Widget, can_focus=True):
    """Shows an Emulator and sends keys, mouse and pastes to `on_input` as bytes.

    Every key goes to the remote except the names in `app_keys` (left for the app's own
    bindings) and `scrollback_keys` (browse the scrollback). Data fed through `feed`, or
    announced with `output_arrived` after feeding the emulator elsewhere, is drawn when its
    FramePacer says. OSC 52 clipboard writes from the remote reach the local clipboard
    only with `allow_clipboard_write`, and then as `clipboard_gate` decides (without one,
    always); clipboard reads are never answered. With `confirm_paste_lines`, a paste that
    would press Enter in a program without bracketed paste waits for the user.
    """

    ALLOW_SELECT = False  # the view makes its own selection of terminal cells
    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
    }
    """

    class TitleChanged(Message):
        """The remote set the window title (already sanitized)."""

        def __init__(self, view: TerminalView, title: str) -> None:
            super().__init__()
            self.view = view
            self.title = title

    class Bell(Message):
        """The remote rang the bell."""

        def __init__(self, view: TerminalView) -> None:
            super().__init__()
            self.view = view

    class ClipboardQuestion(Message):
        """A background tab's program wants to set the clipboard: ask the user, then call
        ``view.clipboard_answered`` (the ClipboardGate asks once per tab)."""

        def __init__(self, view: TerminalView, text: str) -> None:
            super().__init__()
            self.view = view
            self.text = text

    class ClipboardSet(Message):
        """The remote's write reached the local clipboard: announce it."""

        def __init__(self, view: TerminalView, text: str) -> None:
            super().__init__()
            self.view = view
            self.text = text

    class PasteQuestion(Message):
        """A paste waits on ``check``: ask the user, then call ``view.paste_answered``."""

        def __init__(
            self, view: TerminalView, text: str, check: PasteCheck, rest: tuple[PasteCheck, ...]
        ) -> None:
            super().__init__()
            self.view = view
            self.text = text
            self.check = check
            self.rest = rest
            """The checks still to come once this one lets the paste go on."""

        @property
        def lines(self) -> int:
            """How many lines the paste holds."""
            return line_count(self.text)

    def __init__(
        self,
        emulator: Emulator,
        *,
        on_input: Callable[[bytes], object],
        on_resize: Callable[[int, int], object] | None = None,
        app_keys: Collection[str] = frozenset(),
        scrollback_keys: Collection[str] = DEFAULT_SCROLLBACK_KEYS,
        allow_clipboard_write: bool = False,
        clipboard_gate: ClipboardGate | None = None,
        confirm_paste_lines: bool = False,
        on_history: Callable[[], object] | None = None,
        predictor: Predictor | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.emulator = emulator
        self.allow_clipboard_write = allow_clipboard_write
        self.clipboard_gate = clipboard_gate
        self.confirm_paste_lines = confirm_paste_lines
        self._on_input = on_input
        self._on_resize = on_resize
        # Opens the history view; without it shift+PageUp and the wheel scroll locally.
        self._on_history = on_history
        self._app_keys = frozenset(app_keys)
        self._scrollback_keys = frozenset(scrollback_keys)
        self._encoder = InputEncoder(emulator)
        self._resolver = StyleResolver()
        self._snapshot: Snapshot | None = None
        self._strips: list[Strip] = []
        self._strip_cache: dict[int, tuple[ScreenRow, Strip]] = {}
        self._pacer = FramePacer()
        self._frame_timer: Timer | None = None
        self._sync_since: float | None = None
        self._selection: Selection | None = None
        self._selecting = False
        self._predictor = predictor
        self._overlay = EMPTY_OVERLAY
        self._overlay_strips: dict[int, Strip] = {}
        self._predict_timer: Timer | None = None
        self.on_typed: TypedListener | None = None
        """Told of every key and paste the user sends the remote (broadcast input)."""
        self.frames_drawn = 0
        self.strips_built = 0
        emulator.on_title = self._title_changed
        emulator.on_bell = self._bell
        emulator.on_clipboard_write = self._clipboard_written

    @property
    def snapshot(self) -> Snapshot | None:
        """What the last frame drew, or None before the first frame."""
        return self._snapshot

    # -- output: emulator -> screen ---------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Feed the remote's bytes to the emulator and schedule a frame."""
        self.emulator.feed(data)
        self.output_arrived()

    def output_arrived(self) -> None:
        """Mark the terminal changed; the frame pacer decides when it is drawn."""
        self._pacer.output(time.monotonic())
        self._arm_frame_timer()

    def _arm_frame_timer(self, delay: float | None = None) -> None:
        """Set the frame timer for the pacer's due time (or for ``delay``), unless set."""
        if self._frame_timer is not None or not self.is_mounted:
            return
        if delay is None:
            due = self._pacer.due()
            if due is None:
                return
            delay = due - time.monotonic()
        # Textual's timers reject a zero interval; a millisecond is "now" for a frame.
        delay = max(MIN_TIMER_DELAY, delay)
        self._frame_timer = self.set_timer(delay, self._frame_timer_fired, name="terminal-frame")

    def _frame_timer_fired(self) -> None:
        self._frame_timer = None
        due = self._pacer.due()
        if due is None:
            return
        now = time.monotonic()
        if due > now + TIMER_SLACK:
            # Output kept coming since the timer was set: the burst is not over yet.
            self._arm_frame_timer()
            return
        if self.holding_for_sync(now):
            self._arm_frame_timer(self._pacer.interval)
            return
        self._pacer.drawn(now)
        self.draw_frame()

    def holding_for_sync(self, now: float) -> bool:
        """Whether frames are held at monotonic time `now` for a synchronized update.

        The hold starts the first time a frame is due while mode 2026 is on and lasts at
        most SYNC_HOLD_TIMEOUT, so a remote that never ends its update cannot freeze us.
        """
        if not self.emulator.synchronized_output:
            self._sync_since = None
            return False
        if self._sync_since is None:
            self._sync_since = now
        return now - self._sync_since < SYNC_HOLD_TIMEOUT

    def draw_frame(self) -> None:
        """Read a snapshot, rebuild strips of changed rows and refresh only their lines."""
        snapshot = self.emulator.snapshot()
        previous = self._snapshot
        if (
            self._resolver.update(snapshot)
            or previous is None
            or (previous.columns != snapshot.columns)
        ):
            self._strip_cache.clear()
            previous = None
        self._strips = self._build_strips(snapshot)
        self._snapshot = snapshot
        self.frames_drawn += 1
        self._refresh_changed(previous, snapshot)
        self._update_predictions(observe=True)

    # -- predictive echo --------------------------------------------------------------

    @property
    def overlay(self) -> Overlay:
        """The predicted cells and cursor drawn over the last frame."""
        return self._overlay

    def _update_predictions(self, *, observe: bool) -> None:
        """Check the guesses against the drawn frame (``observe``) and repaint their rows."""
        predictor, snapshot = self._predictor, self._snapshot
        if predictor is None or snapshot is None:
            return
        if observe:
            predictor.observe(snapshot, time.monotonic())
        previous, overlay = self._overlay, predictor.overlay()
        self._overlay = overlay
        # A row's strip may have been rebuilt by this frame: its overlay is rebuilt with it.
        self._overlay_strips = {
            y: self._overlay_strip(snapshot, y, cells)
            for y, cells in overlay.rows.items()
            if 0 <= y < len(snapshot.rows)
        }
        if overlay != previous:
            lines = {*previous.rows, *overlay.rows}
            for cursor in (previous.cursor, overlay.cursor, snapshot.cursor):
                if cursor is not None:
                    lines.add(cursor[1] if isinstance(cursor, tuple) else cursor.y)
            self._refresh_lines(lines)
        self._arm_predict_timer()

    def _overlay_strip(
        self, snapshot: Snapshot, y: int, cells: Mapping[int, PredictedCell]
    ) -> Strip:
        row = overlaid_row(snapshot.rows[y], cells)
        strip = row_strip(row, snapshot.columns, snapshot.styles, self._resolver)
        for x, cell in cells.items():
            if cell.underline and cell.width:
                strip = _overlay(strip, x, x + cell.width, Style(underline=True))
        return strip

    def _arm_predict_timer(self) -> None:
        """Wake up when a guess may time out or turn into a glitch, though nothing arrived."""
        if self._predict_timer is not None:
            self._predict_timer.stop()
            self._predict_timer = None
        deadline = None if self._predictor is None else self._predictor.next_deadline()
        if deadline is None or not self.is_mounted:
            return
        delay = max(MIN_TIMER_DELAY, deadline - time.monotonic())
        self._predict_timer = self.set_timer(delay, self._predict_timer_fired, name="predict")

    def _predict_timer_fired(self) -> None:
        self._predict_timer = None
        self._update_predictions(observe=True)

    def _build_strips(self, snapshot: Snapshot) -> list[Strip]:
        cache = self._strip_cache
        fresh: dict[int, tuple[ScreenRow, Strip]] = {}
        strips = []
        for row in snapshot.rows:
            entry = cache.get(id(row))
            if entry is None or entry[0] is not row:
                entry = (row, row_strip(row, snapshot.columns, snapshot.styles, self._resolver))
                self.strips_built += 1
            fresh[id(row)] = entry
            strips.append(entry[1])
        self._strip_cache = fresh
        return strips

    def _refresh_changed(self, previous: Snapshot | None, snapshot: Snapshot) -> None:
        if previous is None or len(previous.rows) != len(snapshot.rows):
            self.refresh()
            return
        lines = {
            y
            for y, (old, new) in enumerate(zip(previous.rows, snapshot.rows, strict=True))
            if old is not new
        }
        if previous.cursor != snapshot.cursor:
            lines.update(cursor.y for cursor in (previous.cursor, snapshot.cursor) if cursor)
        self._refresh_lines(lines)

    def _refresh_lines(self, lines: Collection[int]) -> None:
        if len(lines) >= self.size.height:
            self.refresh()
            return
        width = self.size.width
        for y in lines:
            self.refresh(Region(0, y, width, 1))

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in ``crop``, straight from `render_line`.

        Textual asks for every line of the widget on each frame and, by default, runs each
        one through the widget's styles (padding, border, outline, tint, opacity): a fifth of
        the app's CPU in an output flood, for a widget that is the whole terminal, edge to
        edge, with none of those. Should CSS ever give it some, Textual's own path draws them.
        """
        try:
            return self._lines_of(crop)
        except Exception as error:
            # A render that raises would end the app at every frame: the tab takes it.
            tab = self.failing_tab()
            if tab is None:
                raise
            tab.fail(error, "drawing the terminal")
            return [Strip.blank(crop.width) for _ in crop.line_range]

    def _lines_of(self, crop: Region) -> list[Strip]:
        if not self._plainly_styled():
            return super().render_lines(crop)
        background = self.background_colors[1]
        filters = self.get_line_filters()
        x1, x2 = crop.column_span
        cropped = (x1, x2) != (0, self.size.width)
        strips = []
        for y in crop.line_range:
            strip = self.render_line(y)
            for line_filter in filters:  # the app's own, e.g. NO_COLOR's
                strip = strip.apply_filter(line_filter, background)
            strips.append(strip.crop(x1, x2) if cropped else strip)
        return strips

    def _plainly_styled(self) -> bool:
        styles = self.styles
        return not (
            self.gutter  # padding and border
            or any(edge for edge, _colour in styles.outline)
            or styles.tint.a
            or styles.opacity != 1.0
            or styles.text_opacity != 1.0
            or (styles.has_rule("hatch") and styles.hatch != "none")
        )

    def render_line(self, y: int) -> Strip:
        """Line `y`: the cached row strip with selection and cursor painted over it."""
        width = self.size.width
        if y >= len(self._strips):
            return Strip.blank(width, self._resolver.default)
        strip = self._overlay_strips.get(y) or self._strips[y]
        if self._selection is not None:
            span = self._selection.columns_on(y, strip.cell_length)
            if span is not None:
                strip = _overlay(strip, *span, Style(reverse=True))
        strip = self._paint_cursor(strip, y)
        if strip.cell_length != width:
            strip = strip.adjust_cell_length(width, self._resolver.default)
        return strip

    def _paint_cursor(self, strip: Strip, y: int) -> Strip:
        snapshot = self._snapshot
        cursor = snapshot.cursor if snapshot is not None else None
        if snapshot is None or cursor is None:
            return strip
        x, cursor_y = cursor.x - 1 if cursor.at_wide_tail else cursor.x, cursor.y
        if self._overlay.cursor is not None:
            x, cursor_y = self._overlay.cursor
        if cursor_y != y:
            return strip
        row: ScreenRow = snapshot.rows[y]
        if y in self._overlay.rows:
            row = overlaid_row(row, self._overlay.rows[y])
        width = row.widths[x] if 0 <= x < len(row.widths) else 1
        colour = _rgb(self.emulator.palette.cursor)
        if self.has_focus and cursor.shape is not CursorShape.UNDERLINE:
            # A cell grid cannot draw a thin bar, so bar and block both show as a block.
            style = Style(color=_rgb(self._resolver.background), bgcolor=colour, reverse=False)
        else:
            style = Style(underline=True, color=colour)
        return _overlay(strip, x, x + max(width, 1), style)

    # -- size -----------------------------------------------------------------------

    def on_mount(self) -> None:
        """Size the emulator to the widget and draw the first frame."""
        self._fit_emulator()
        self.output_arrived()

    def on_resize(self, event: events.Resize) -> None:
        """Resize the emulator with the widget and tell the remote the new size."""
        event.stop()
        self._fit_emulator()
        self.output_arrived()

    def _fit_emulator(self) -> None:
        columns, rows = self.size.width, self.size.height
        if columns < 1 or rows < 1 or (columns, rows) == self.emulator.size:
            return
        self.emulator.resize(columns, rows)
        if self._on_resize is not None:
            self._on_resize(columns, rows)

    # -- input: keyboard, paste, mouse -> remote -----------------------------------

    def on_key(self, event: events.Key) -> None:
        """Every key belongs to the remote, except the app's own and the scrollback keys."""
        if event.key in self._app_keys:
            return
        event.stop()
        event.prevent_default()
        if event.key in self._scrollback_keys:
            if event.key == "shift+pageup" and self._on_history is not None:
                self._on_history()
                return
            self._scroll_by_key(event.key)
            return
        self.send_key(event.key, event.character)
        if self.on_typed is not None:
            self.on_typed(TypedKey(event.key, event.character))

    def send_key(self, key: str, character: str | None) -> None:
        """Encode a key for the remote and send it (the history view passes keys on)."""
        data = self._encoder.key(key, character)
        if data:
            self._send(data)

    def on_paste(self, event: events.Paste) -> None:
        """Send pasted text, bracketed when the remote asked for it, once its checks pass."""
        event.stop()
        if event.text:
            self.offer_paste(event.text)

    def offer_paste(self, text: str) -> None:
        """The user pasted ``text``: it goes through its checks in order (each may ask the
        user, see ``termkeep.terminal.paste``), then to the remote."""
        checks = paste_checks(
            text, bracketed=self.emulator.bracketed_paste, confirm_lines=self.confirm_paste_lines
        )
        self._paste_through(text, checks)

    def paste_answered(self, question: PasteQuestion, go_on: bool) -> None:
        """The user answered ``question``: the paste goes on to its next check, or stops."""
        if go_on:
            self._paste_through(question.text, question.rest)

    def _paste_through(self, text: str, checks: tuple[PasteCheck, ...]) -> None:
        if checks:
            self.post_message(self.PasteQuestion(self, text, checks[0], checks[1:]))
            return
        self.send_paste(text)
        if self.on_typed is not None:
            self.on_typed(TypedPaste(text))

    def send_paste(self, text: str) -> None:
        """Send ``text`` as a paste, bracketed when this remote asked for it (mode 2004)."""
        self._send(self._encoder.paste(text))

    def receive_typed(self, typed: Typed) -> None:
        """Typing from another tab (broadcast input), encoded for this remote's modes."""
        if isinstance(typed, TypedKey):
            self.send_key(typed.key, typed.character)
        elif typed.text:
            self.send_paste(typed.text)

    def _send(self, data: bytes) -> None:
        # Typing returns to the live screen, as every terminal does.
        if self.emulator.scroll_offset:
            self.emulator.scroll_to_bottom()
            self.output_arrived()
        self._clear_selection()
        if self._predictor is not None:
            self._predictor.typed(data, self.emulator.snapshot(), time.monotonic())
        self._on_input(data)
        self._update_predictions(observe=False)

    def _scroll_by_key(self, key: str) -> None:
        page = max(1, self.emulator.size[1] - 1)
        if key == "shift+end":
            self.emulator.scroll_to_bottom()
        elif key == "shift+home":
            self.emulator.scroll_viewport(-(1 << 30))
        else:
            self.emulator.scroll_viewport(-page if key == "shift+pageup" else page)
        self.output_arrived()

    def _remote_tracks_mouse(self, event: events.MouseEvent) -> bool:
        # Shift lets the user select locally even when the remote tracks the mouse (xterm).
        tracking = self.emulator.mouse_tracking
        return tracking is not MouseTracking.NONE and not event.shift

    def _cell(self, event: events.MouseEvent) -> tuple[int, int]:
        offset = event.get_content_offset_capture(self)
        columns, rows = self.emulator.size
        return min(max(offset.x, 0), columns - 1), min(max(offset.y, 0), rows - 1)

    def _send_mouse(
        self, event: events.MouseEvent, action: MouseAction, button: MouseButton
    ) -> None:
        x, y = self._cell(event)
        data = self._encoder.mouse(action, x, y, button, _modifiers(event))
        if data:
            self._on_input(data)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Report the press to a tracking remote, or start a local selection."""
        event.stop()
        self.focus()
        self.capture_mouse()
        if self._remote_tracks_mouse(event):
            button = _MOUSE_BUTTONS.get(event.button, MouseButton.NONE)
            self._send_mouse(event, MouseAction.PRESS, button)
            return
        cell = self._cell(event)
        self._set_selection(Selection(cell, cell))
        self._selecting = True

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Report motion to a tracking remote, or extend the selection being dragged."""
        if self._selecting and self._selection is not None:
            event.stop()
            self._set_selection(Selection(self._selection.anchor, self._cell(event)))
        elif self._remote_tracks_mouse(event):
            event.stop()
            button = _MOUSE_BUTTONS.get(event.button, MouseButton.NONE)
            self._send_mouse(event, MouseAction.MOTION, button)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """Finish: report the release, or copy the selection to the clipboard."""
        event.stop()
        self.release_mouse()
        if self._selecting:
            self._selecting = False
            self._copy_selection()
        elif self._remote_tracks_mouse(event):
            button = _MOUSE_BUTTONS.get(event.button, MouseButton.NONE)
            self._send_mouse(event, MouseAction.RELEASE, button)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Wheel up: to a tracking remote, else arrows in full-screen apps, else scrollback."""
        event.stop()
        self._wheel(event, MouseButton.WHEEL_UP, "up", -WHEEL_STEP)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Wheel down: the mirror of wheel up."""
        event.stop()
        self._wheel(event, MouseButton.WHEEL_DOWN, "down", WHEEL_STEP)

    def _wheel(self, event: events.MouseEvent, button: MouseButton, arrow: str, rows: int) -> None:
        if self._remote_tracks_mouse(event):
            self._send_mouse(event, MouseAction.PRESS, button)
        elif self.emulator.alternate_screen:
            # Full-screen programs (less, man) have no scrollback: xterm's alternateScroll
            # sends arrow keys instead.
            self._on_input(self._encoder.key(arrow, None) * WHEEL_STEP)
        elif rows < 0 and self._on_history is not None:
            self._on_history()
        else:
            self.emulator.scroll_viewport(rows)
            self.output_arrived()

    # -- selection ------------------------------------------------------------------

    def _set_selection(self, selection: Selection | None) -> None:
        self._selection = selection
        self.refresh()

    def _clear_selection(self) -> None:
        if self._selection is not None:
            self._set_selection(None)

    def _copy_selection(self) -> None:
        selection, snapshot = self._selection, self._snapshot
        if selection is None or snapshot is None or selection.anchor == selection.head:
            self._clear_selection()
            return
        text = selected_text(snapshot.rows, selection, snapshot.columns)
        if text:
            self.app.copy_to_clipboard(text)

    # -- events from the remote -----------------------------------------------------

    def _title_changed(self, title: str) -> None:
        self.post_message(self.TitleChanged(self, title))

    def _bell(self) -> None:
        self.post_message(self.Bell(self))

    def _clipboard_written(self, request: ClipboardWrite) -> None:
        if not (self.allow_clipboard_write and request.text and self.is_attached):
            return
        gate = self.clipboard_gate
        verdict = Verdict.WRITE if gate is None else gate.request(request.text, shown=self.shown)
        if verdict is Verdict.WRITE:
            self._set_clipboard(request.text)
        elif verdict is Verdict.ASK:
            self.post_message(self.ClipboardQuestion(self, request.text))

    def clipboard_answered(self, allowed: bool) -> None:
        """The user answered a ClipboardQuestion; the answer holds for this tab."""
        if self.clipboard_gate is None:
            return
        text = self.clipboard_gate.answered(allowed)
        if text:
            self._set_clipboard(text)

    def _set_clipboard(self, text: str) -> None:
        self.app.copy_to_clipboard(text)
        self.post_message(self.ClipboardSet(self, text))

    @property
    def shown(self) -> bool:
        """Whether this view is on screen: in the active tab (inactive tabs are hidden)."""
        return self.is_attached and all(node.display for node in self.ancestors_with_self)

    def on_focus(self) -> None:
        """Redraw the cursor as focused."""
        self.refresh()

    def on_blur(self) -> None:
        """Redraw the cursor as unfocused."""
        self.refresh()
