"""The scrollback view: scroll, search and copy a tab's scrollback, the remote tmux pane's if any.

It is a screen over the tab: the tab's TerminalView keeps taking output underneath, so
leaving shows the live screen at once. Keys that mean nothing here leave the view and go on
to the remote, as typing in a scrolled-back terminal does.

It opens where the key that opened it says (shift+PageUp: a page up; the wheel: three lines
up), drawn from the first fetch. While its last line is the pane's screen it follows the
pane: at the bottom it shows new output as it comes; scrolled up, it keeps its place and
counts the new lines below. A search asks the server (``ScrollbackSource.search``) and
jumps; the lines between come as the view scrolls. After a reattach that ended a long
outage, a ruler marks where the lines printed meanwhile start, and ``a`` goes to it.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from termkeep.tmux.scrollback import ScrollbackError
from termkeep.ui.scrollback_source import ScrollbackSource
from termkeep.ui.widgets.cells import Selection, StyleResolver
from termkeep.ui.widgets.scrollback_lines import ScrollbackLines
from termkeep.ui.widgets.terminal_view import TerminalView

WHEEL_LINES = 3
FOLLOW_CHECK = 0.05
"""How often (s) the view looks whether the tab drew new output, to follow the pane."""
PAGE_UP = -1
"""``start_up`` of a view that opens a whole page up (its height is known once shown)."""
FETCH_MARGIN = 40
"""Fetch the next older page when the top of the view comes this close to the first line."""
_LEAVE_KEYS = frozenset({"q", "escape"})


class ScrollbackScreen(Screen[None]):
    """Scroll, search (``/``, ``?``, ``n``, ``N``), select (mouse or ``v``) and copy."""

    DEFAULT_CSS = """
    ScrollbackScreen { layout: vertical; }
    ScrollbackScreen #history-position { height: 1; background: $primary-background; }
    ScrollbackScreen #history-search { display: none; height: 1; border: none; padding: 0; }
    ScrollbackScreen #history-search.searching { display: block; }
    """

    def __init__(
        self, source: ScrollbackSource, terminal: TerminalView, label: str, *, start_up: int = 0
    ) -> None:
        """``start_up``: lines above the bottom to open at (``PAGE_UP``: a page)."""
        super().__init__()
        self.source = source
        self.terminal = terminal
        self.label = label
        self.start_up = start_up
        self.loaded = False
        self.fetching = False
        self.following = False
        self.new_below = 0
        """Lines that arrived below since the view left the bottom."""
        self._frames_seen = terminal.frames_drawn
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
        self.set_interval(FOLLOW_CHECK, self._check_output, name="scrollback-follow")

    async def _load_first(self) -> None:
        view = self.lines_widget
        # The view may not be laid out yet: the app's height bounds its page.
        page = max(view.page, self.app.size.height)
        try:
            # Enough lines for the first screen to be drawn where it opens, from this fetch.
            lines = await self.source.first(2 * page + max(0, self.start_up))
        except ScrollbackError as error:
            self.error = str(error)
            self._update_position()
            return
        if self.start_up > 0 and self.source.full_screen:
            # Opened by the wheel over a full-screen program in the pane (less, vim without
            # the mouse), whose screen is no history. The tab could not tell: its alternate
            # screen is tmux's client's. The tick goes on as arrows, as in any terminal.
            self.dismiss()
            self.terminal.wheel_as_arrows("up")
            return
        view.cell_styles = self.source.styles
        view.lines = lines
        up = view.page if self.start_up == PAGE_UP else self.start_up
        view.top = max(0, len(lines) - view.page - up)
        view.cursor = max(0, min(len(lines), view.top + view.page) - 1)
        view.refresh()
        self.loaded = True
        self._update_position()
        await self._maybe_fetch_older()

    # -- following the live pane --------------------------------------------------------

    def _check_output(self) -> None:
        """The tab drew a frame since the last look: the pane changed; follow it."""
        frames = self.terminal.frames_drawn
        if frames == self._frames_seen or not self.loaded or self.following:
            return
        self._frames_seen = frames
        if not self.source.more_below:
            self.following = True
            self.run_worker(self._follow(), group="history-follow")

    async def _follow(self) -> None:
        view = self.lines_widget
        try:
            change = await self.source.follow(view.lines)
            if change is not None and change.reload:
                change = None
                lines = await self.source.first(view.page)
                view.selection = None
                view.lines = lines
                view.top = max(0, len(lines) - view.page)
                view.cursor = max(0, len(lines) - 1)
                view.refresh()
        except ScrollbackError as error:
            self.error = str(error)
            change = None
        finally:
            self.following = False
        if change is not None:
            at_bottom = view.at_bottom
            view.cell_styles = self.source.styles
            view.replace_from(change.keep, change.lines)
            if not at_bottom:
                self.new_below += change.new_rows
        self._update_position()

    async def _maybe_fetch_older(self) -> None:
        view = self.lines_widget
        if self.fetching or not self.source.more_above or view.top > FETCH_MARGIN:
            return
        self.fetching = True
        self._update_position()
        try:
            older = await self.source.older(view.lines)
        except ScrollbackError as error:
            self.error = str(error)
            older = []
        finally:
            self.fetching = False
        view.cell_styles = self.source.styles
        if older:
            view.prepend(older)
        self._update_position()
        self.fetch_newer()  # the view may have reached its bottom meanwhile

    def fetch_more(self) -> None:
        """Fetch the page above if the view is near the top (as a worker)."""
        if not self.fetching and self.source.more_above:
            self.run_worker(self._maybe_fetch_older(), group="history-older")

    def fetch_newer(self) -> None:
        """Fetch the page below if the view is near its bottom after a search's jump."""
        view = self.lines_widget
        near = view.top + view.page >= len(view.lines) - FETCH_MARGIN
        if near and not self.fetching and self.source.more_below:
            self.run_worker(self._fetch_newer(), group="history-newer")

    async def _fetch_newer(self) -> None:
        view = self.lines_widget
        self.fetching = True
        self._update_position()
        try:
            newer = await self.source.newer(view.lines)
        except ScrollbackError as error:
            self.error = str(error)
            newer = []
        finally:
            self.fetching = False
        view.cell_styles = self.source.styles
        if newer:
            view.lines.extend(newer)
            view.refresh()
        self._update_position()
        self.fetch_newer()  # still near the bottom: the next page

    async def fetch_all(self) -> None:
        """Fetch every page (for ``g`` and for searches past what is loaded)."""
        while self.source.more_above:
            older = await self.source.older(self.lines_widget.lines)
            self.lines_widget.cell_styles = self.source.styles
            self.lines_widget.prepend(older)
        self._update_position()

    # -- the away ruler ---------------------------------------------------------------

    def _place_ruler(self) -> None:
        """Put the ruler above the first line printed during the latest outage, if the view
        holds it (the view's lines changed, or the mark did)."""
        view = self.lines_widget
        ruler = self.source.away_ruler(view.lines) if self.loaded and self.error is None else None
        if ruler != view.ruler:
            at_bottom = view.at_bottom
            view.ruler = ruler
            if at_bottom:  # the ruler takes a row: the last line stays on screen
                view.top = view.last_top()
                view.cursor = max(view.cursor, view.top)
            view.refresh()

    async def to_away_mark(self) -> bool:
        """Go to the first line printed during the latest outage (older pages are fetched
        until it is there); False, with a notice, when the history no longer holds it."""
        view = self.lines_widget
        self._place_ruler()
        while view.ruler is None and self.source.more_above and self.source.away_above():
            older = await self.source.older(view.lines)
            if not older:
                break
            view.cell_styles = self.source.styles
            view.prepend(older)
            self._place_ruler()
        if view.ruler is None:
            self.notify("No lines from an outage in this history", timeout=3)
            self._update_position()
            return False
        index = view.ruler.index
        # The ruler near the top, with what came after it below.
        view.top = max(0, index - 2)
        self._move(index)
        return True

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
        if self.source.more_below:
            more += " (more below)"
        search = f"  /{self.search_text}" if self.search_text else ""
        selecting = "  SELECT: y copies" if self._selecting_keys else ""
        if view.at_bottom:
            self.new_below = 0
        below = f" · {self.new_below:,} new below" if self.new_below else ""
        note = self.source.limit_note
        kept = f" · {note}" if note else ""
        return (
            f" {self.label}: {where} · line {view.cursor + 1} of {total}{more}{below}{search}"
            f"{selecting}{kept}  ·  / ? search  n N next  v select  g G  q leave"
        )

    def _update_position(self) -> None:
        self._place_ruler()
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
            self._scroll_pages(-1)
        elif key == "shift+pagedown" and view.at_bottom and not self.source.more_below:
            self.dismiss()  # past the bottom: back to the live screen, as in any terminal
        elif key in ("pagedown", "shift+pagedown", "space"):
            self._scroll_pages(1)
        elif key in {"g", "home"}:
            await self.fetch_all()
            self._move(0)
        elif key in {"G", "end"}:
            await self._to_live_end()
        elif event.character in ("/", "?"):
            self._open_search(forward=event.character == "/")
        elif key == "n":
            await self.search_next(forward=self._forward)
        elif key == "N":
            await self.search_next(forward=not self._forward)
        elif key == "a":
            await self.to_away_mark()
        elif key == "v":
            self._toggle_keyboard_selection()
        elif key in ("y", "enter") and view.selection is not None:
            self.copy_selection()
        else:
            self._leave_with(key, event.character)

    def _scroll_pages(self, pages: int) -> None:
        self.lines_widget.scroll_page(pages)
        self._moved()

    async def _to_live_end(self) -> None:
        view = self.lines_widget
        if self.source.more_below:
            # After a search's jump: the pane's newest lines, as when the view opened.
            try:
                view.lines = await self.source.first(view.page)
            except ScrollbackError as error:
                self.error = str(error)
            view.selection = None
        self._move(len(view.lines) - 1)

    def _moved(self) -> None:
        self._update_position()
        self.fetch_more()
        self.fetch_newer()

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
        self._moved()

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
        """Go to the next match: from the lines held, else the server's answer (the whole
        history, in one request), whose match the view jumps to."""
        view = self.lines_widget
        if not self.search_text:
            return None
        try:
            jump = await self.source.search(
                view.lines, self.search_text, view.cursor, forward=forward, page=view.page
            )
        except ScrollbackError as error:
            self.error = str(error)
            jump = None
        if jump is None:
            self.notify(f"Not found: {self.search_text}", markup=False, timeout=3)
            view.refresh()
            self._update_position()
            return None
        if jump.lines is not None:
            view.selection = None
            self._selecting_keys = False
            view.cell_styles = self.source.styles
            view.lines = jump.lines
            view.top = max(0, jump.index - view.page // 2)
        self._move(jump.index)
        view.refresh()
        return jump.index

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
        self._moved()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Wheel: scroll the scrollback."""
        event.stop()
        view = self.lines_widget
        if view.at_bottom and not self.source.more_below:
            self.dismiss()  # wheeled past the bottom: back to the live screen
            return
        view.scroll_lines(WHEEL_LINES)
        self._moved()
