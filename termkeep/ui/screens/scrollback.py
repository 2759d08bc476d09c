"""The scrollback view: scroll, search and copy a tab's scrollback, the remote tmux pane's if any.

It is a screen over the tab: the tab's TerminalView keeps taking output underneath, so
leaving shows the live screen at once. Keys that mean nothing here leave the view and go on
to the remote, as typing in a scrolled-back terminal does.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from termkeep.terminal.emulator import CellStyle
from termkeep.terminal.history_lines import HistoryLine, match_spans, search_lines
from termkeep.tmux.scrollback import ScrollbackError
from termkeep.ui.scrollback_source import ScrollbackSource
from termkeep.ui.widgets.cells import Selection, StyleResolver, restyle_characters, styled_strip
from termkeep.ui.widgets.terminal_view import TerminalView

WHEEL_LINES = 3
FETCH_MARGIN = 40
"""Fetch the next older page when the top of the view comes this close to the first line."""
_MATCH = Style(bgcolor="#b58900", color="#000000")
_SELECTED = Style(reverse=True)
_CURSOR_LINE = Style(underline=True)
_RULER = Style(dim=True, bold=True)
_LEAVE_KEYS = frozenset({"q", "escape"})


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
        self._resolver = resolver

    @property
    def page(self) -> int:
        return max(1, self.size.height)

    def render_line(self, y: int) -> Strip:
        number = self.top + y
        width = self.size.width
        if not 0 <= number < len(self.lines):
            return Strip.blank(width, self._resolver.default)
        line = self.lines[number]
        if line.ruler:
            return Strip([Segment(f"── {line.text} ".ljust(width, "─")[:width], _RULER)])
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
            if self.lines[number].ruler:
                continue  # termkeep's own line, not the pane's
            span = self.selected_span(number)
            parts.append(self.lines[number].text[span[0] : span[1]] if span else "")
        return "\n".join(parts)

    def point_at(self, x: int, y: int) -> tuple[int, int]:
        """The (character, line) under cell (x, y) of the widget."""
        number = min(max(self.top + y, 0), max(0, len(self.lines) - 1))
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
        self._fill_screen()
        self.refresh()

    def _fill_screen(self) -> None:
        # Never leave empty rows below the last line while there are lines above.
        self.top = max(0, min(self.top, len(self.lines) - self.page))

    def on_resize(self) -> None:
        """Keep the screen full and the cursor on it at the new height."""
        self.show(self.cursor)

    def scroll_lines(self, delta: int) -> None:
        """Move the view (and the cursor with it) by ``delta`` lines."""
        highest = max(0, len(self.lines) - self.page)
        self.top = min(max(self.top + delta, 0), highest)
        self.cursor = min(max(self.cursor, self.top), self.top + self.page - 1)
        self.cursor = min(self.cursor, max(0, len(self.lines) - 1))
        self.refresh()

    def prepend(self, lines: list[HistoryLine]) -> None:
        """Older lines arrived: put them above, keeping what is on screen in place."""
        self.lines[:0] = lines
        shift = len(lines)
        self.top += shift
        self.cursor += shift
        if self.selection is not None:
            self.selection = self.selection.moved_down(shift)
        self.refresh()


class ScrollbackScreen(Screen[None]):
    """Scroll, search (``/``, ``?``, ``n``, ``N``), select (mouse or ``v``) and copy."""

    DEFAULT_CSS = """
    ScrollbackScreen { layout: vertical; }
    ScrollbackScreen #history-position { height: 1; background: $primary-background; }
    ScrollbackScreen #history-search { display: none; height: 1; border: none; padding: 0; }
    ScrollbackScreen #history-search.searching { display: block; }
    """

    def __init__(self, source: ScrollbackSource, terminal: TerminalView, label: str) -> None:
        super().__init__()
        self.source = source
        self.terminal = terminal
        self.label = label
        self.loaded = False
        self.fetching = False
        self.error: str | None = None
        self.search_text = ""
        self._forward = True
        self._selecting_keys = False
        self._dragging = False
        self._resolver = StyleResolver()
        self.lines_widget = ScrollbackLines(self._resolver)

    def compose(self) -> ComposeResult:
        yield self.lines_widget
        yield Input(id="history-search", compact=True)
        yield Static(id="history-position", markup=False)

    async def on_mount(self) -> None:
        self._resolver.update(self.terminal.port.snapshot())
        self.lines_widget.focus()
        self._update_position()
        self.run_worker(self._load_first(), exclusive=True, group="history")

    async def _load_first(self) -> None:
        try:
            lines = await self.source.first()
        except ScrollbackError as error:
            self.error = str(error)
            self._update_position()
            return
        view = self.lines_widget
        view.cell_styles = self.source.styles
        view.lines = lines
        view.scroll_lines(len(lines))
        view.show(len(lines) - 1)
        self.loaded = True
        self._update_position()
        await self._maybe_fetch_older()

    async def _maybe_fetch_older(self) -> None:
        view = self.lines_widget
        if self.fetching or not self.source.more_above or view.top > FETCH_MARGIN:
            return
        self.fetching = True
        self._update_position()
        try:
            older = await self.source.older()
        except ScrollbackError as error:
            self.error = str(error)
            older = []
        finally:
            self.fetching = False
        view.cell_styles = self.source.styles
        if older:
            view.prepend(older)
        self._update_position()

    def fetch_more(self) -> None:
        """Fetch the page above if the view is near the top (as a worker)."""
        if not self.fetching and self.source.more_above:
            self.run_worker(self._maybe_fetch_older(), group="history-older")

    async def fetch_all(self) -> None:
        """Fetch every page (for ``g`` and for searches past what is loaded)."""
        while self.source.more_above:
            older = await self.source.older()
            self.lines_widget.cell_styles = self.source.styles
            self.lines_widget.prepend(older)
        self._update_position()

    # -- position line ----------------------------------------------------------------

    def position_text(self) -> str:
        """Where the view is, and whose history this is."""
        view = self.lines_widget
        where = "remote tmux history" if self.source.remote else "termkeep scrollback (no tmux)"
        if self.error is not None:
            return f" {self.label}: {where} unavailable: {self.error}  q leaves"
        if not self.loaded:
            return f" {self.label}: {where}, loading…"
        total = len(view.lines)
        more = (
            " (fetching older…)"
            if self.fetching
            else " (more above)"
            if self.source.more_above
            else ""
        )
        search = f"  /{self.search_text}" if self.search_text else ""
        selecting = "  SELECT: y copies" if self._selecting_keys else ""
        return (
            f" {self.label}: {where} · line {view.cursor + 1} of {total}{more}{search}{selecting}"
            "  ·  / ? search  n N next  v select  g G  q leave"
        )

    def _update_position(self) -> None:
        if self.is_mounted:
            self.query_one("#history-position", Static).update(Content(self.position_text()))

    # -- keys -------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:  # noqa: PLR0912 - one branch per key
        """Navigation, search and selection; anything else leaves and goes to the remote
        (ctrl+b included, so tmux's own prefix and copy mode work from here too)."""
        if isinstance(self.focused, Input):
            if event.key == "escape":
                event.stop()
                self._close_search()
            return
        event.stop()
        event.prevent_default()
        view, key = self.lines_widget, event.key
        if key in _LEAVE_KEYS:
            self.dismiss()
        elif key in ("up", "k"):
            self._move(view.cursor - 1)
        elif key in ("down", "j"):
            self._move(view.cursor + 1)
        elif key in ("pageup", "shift+pageup"):
            self._move(view.cursor - view.page)
        elif key in ("pagedown", "shift+pagedown", "space"):
            self._move(view.cursor + view.page)
        elif key in {"g", "home"}:
            await self.fetch_all()
            self._move(0)
        elif key in {"G", "end"}:
            self._move(len(view.lines) - 1)
        elif event.character in ("/", "?"):
            self._open_search(forward=event.character == "/")
        elif key == "n":
            await self.search_next(forward=self._forward)
        elif key == "N":
            await self.search_next(forward=not self._forward)
        elif key == "v":
            self._toggle_keyboard_selection()
        elif key in ("y", "enter") and view.selection is not None:
            self.copy_selection()
        else:
            self._leave_with(key, event.character)

    def _leave_with(self, key: str, character: str | None) -> None:
        self.dismiss()
        self.terminal.send_key(key, character)

    def _move(self, number: int) -> None:
        view = self.lines_widget
        view.show(number)
        if self._selecting_keys and view.selection is not None:
            anchor = view.selection.anchor
            anchor_line = anchor[1]
            line = view.lines[view.cursor].text if view.lines else ""
            head = (len(line) if view.cursor >= anchor_line else 0, view.cursor)
            if view.cursor < anchor_line:
                anchor = (len(view.lines[anchor_line].text), anchor_line)
            elif anchor[0]:
                anchor = (0, anchor_line)
            view.selection = Selection(anchor, head)
        self._update_position()
        self.fetch_more()

    # -- search -----------------------------------------------------------------------

    def _open_search(self, *, forward: bool) -> None:
        self._forward = forward
        search = self.query_one("#history-search", Input)
        search.placeholder = "search forward" if forward else "search backward"
        search.value = ""
        search.add_class("searching")
        search.focus()

    def _close_search(self) -> None:
        search = self.query_one("#history-search", Input)
        search.remove_class("searching")
        self.lines_widget.focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Search for what was typed, from the cursor in the chosen direction."""
        event.stop()
        self._close_search()
        if event.value:
            self.search_text = event.value
            self.lines_widget.search_text = event.value
        await self.search_next(forward=self._forward)

    async def search_next(self, *, forward: bool) -> int | None:
        """Go to the next match; the whole history is fetched first, so none is missed."""
        view = self.lines_widget
        if self.source.more_above:
            await self.fetch_all()
        found = search_lines(view.lines, self.search_text, view.cursor, forward=forward)
        if found is None:
            if self.search_text:
                self.notify(f"Not found: {self.search_text}", markup=False, timeout=3)
        else:
            self._move(found)
        view.refresh()
        return found

    # -- selection and copy -----------------------------------------------------------

    def _toggle_keyboard_selection(self) -> None:
        view = self.lines_widget
        if self._selecting_keys:
            self._selecting_keys = False
            view.selection = None
        elif view.lines:
            self._selecting_keys = True
            line = view.lines[view.cursor].text
            view.selection = Selection((0, view.cursor), (len(line), view.cursor))
        view.refresh()
        self._update_position()

    def copy_selection(self) -> str:
        """Copy the selection to the clipboard (OSC 52 to the outer terminal)."""
        text = self.lines_widget.selected_text()
        if text:
            self.app.copy_to_clipboard(text)
            self.notify(f"Copied {len(text.splitlines())} line(s)", timeout=2)
        self._selecting_keys = False
        self.lines_widget.selection = None
        self.lines_widget.refresh()
        self._update_position()
        return text

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Start a selection at the character under the pointer."""
        offset = event.get_content_offset(self.lines_widget)
        if offset is None:
            return
        event.stop()
        point = self.lines_widget.point_at(offset.x, offset.y)
        self.lines_widget.selection = Selection(point, point)
        self._dragging = True
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Extend the selection being dragged."""
        view = self.lines_widget
        if self._dragging and view.selection is not None:
            offset = event.get_content_offset_capture(view)
            view.selection = Selection(view.selection.anchor, view.point_at(offset.x, offset.y))
            view.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """Copy what was dragged over."""
        if not self._dragging:
            return
        event.stop()
        self._dragging = False
        self.release_mouse()
        selection = self.lines_widget.selection
        if selection is not None and selection.anchor != selection.head:
            self.copy_selection()
        else:
            self.lines_widget.selection = None

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Wheel: scroll the scrollback."""
        event.stop()
        self.lines_widget.scroll_lines(-WHEEL_LINES)
        self._update_position()
        self.fetch_more()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Wheel: scroll the scrollback."""
        event.stop()
        self.lines_widget.scroll_lines(WHEEL_LINES)
        self._update_position()
