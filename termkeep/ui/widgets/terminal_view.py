"""TerminalView: draws a session's terminal with Textual's Line API and sends input back.

The view talks to the session through a TerminalPort (ui/terminal_port.py): it never feeds
or resizes the emulator itself. It hears of output as the port's listener and draws a frame
when its FramePacer says (at once after a quiet spell, at most 60 a second in a flood, the
end of a burst as soon as it pauses): one Snapshot, turned into Strips by TerminalFrame,
which rebuilds only rows that changed; only their lines are refreshed. The cursor and the
selection are painted over the cached strips in `render_line`, so moving them rebuilds
nothing.

Typed keys go to the port, whose predictor guesses their echo (predictive echo): the
guessed cells are drawn over the rows they touch, checked against every frame; the
emulator itself never sees them.

The clipboard both ways goes through checks that may need the user: a remote's OSC 52 write
from a tab in the background (a ClipboardGate decides), and a paste that would run several
lines (``termkeep.terminal.paste``). The view asks by posting a message (ClipboardQuestion,
PasteQuestion) that the tab's pane answers with a question naming the tab; every write that
reaches the clipboard is posted as ClipboardSet, for the status line to announce.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeAlias

from textual import events
from textual.actions import SkipAction
from textual.geometry import Region
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from termkeep.terminal.activity import pane_output
from termkeep.terminal.clipboard import ClipboardGate, ClipboardWrite, Verdict
from termkeep.terminal.emulator import MouseTracking, Snapshot
from termkeep.terminal.keys import MouseAction, MouseButton
from termkeep.terminal.paste import PasteCheck, paste_checks
from termkeep.terminal.predict_overlay import Overlay
from termkeep.ui.failures import TabBoundary
from termkeep.ui.terminal_port import TerminalPort
from termkeep.ui.typed_input import Typed, TypedKey, TypedListener, TypedPaste
from termkeep.ui.widgets import terminal_messages
from termkeep.ui.widgets.cells import Selection, selected_text
from termkeep.ui.widgets.frame_pacer import FramePacer
from termkeep.ui.widgets.mouse import mouse_button, mouse_modifiers
from termkeep.ui.widgets.terminal_frame import ChangedLines, TerminalFrame

MIN_TIMER_DELAY = 0.001
TIMER_SLACK = 0.001
"""Textual wakes a timer up to half a millisecond early (it allows for its own overhead); a
frame due within this much of now is drawn, not put off by another millisecond."""
SYNC_HOLD_TIMEOUT = 0.150  # how long a synchronized update (mode 2026) may hold frames
BELL_GAP = 0.1
"""Bells closer than this to the last one told are told as one, at the end of the gap: a
program ringing in a loop (``yes $'\\a'``) must not post a message, or ring the outer
terminal, per byte."""
WHEEL_STEP = 3
# xterm's scrollback keys; shift+home / shift+end (top, live) can be added by the app.
DEFAULT_SCROLLBACK_KEYS = frozenset({"shift+pageup", "shift+pagedown"})
HISTORY_PAGE_UP = -1
"""What ``on_history`` is given for a view that opens a whole page up (shift+PageUp)."""

type OpenHistory = Callable[[int], object]
"""Opens the scrollback view this many lines up from the bottom (``HISTORY_PAGE_UP``: a
page; 0: at the bottom, as the app's key does)."""


class TerminalView(TabBoundary, Widget, can_focus=True):
    """Shows a session's terminal (a TerminalPort) and sends it keys, mouse and pastes.

    Every key goes to the remote except the names in `app_keys` (left for the app's own
    bindings) and `scrollback_keys` (browse the scrollback). Output the port announces
    (`output_arrived`) is drawn when the FramePacer says. OSC 52 clipboard writes from the
    remote reach the local clipboard only with `allow_clipboard_write`, and then as
    `clipboard_gate` decides (without one, always); clipboard reads are never answered.
    With `confirm_paste_lines`, a paste that would press Enter in a program without
    bracketed paste waits for the user; with `offer_upload`, a paste of local file paths
    is first handed to the pane, which offers an upload at a shell prompt.
    """

    ALLOW_SELECT = False  # the view makes its own selection of terminal cells
    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
    }
    """

    # Posted by the view; defined in terminal_messages (handlers: on_terminal_view_*). Plain
    # class attributes (TypeAlias, not `type X =`): Textual and callers use the classes.
    TitleChanged: TypeAlias = terminal_messages.TitleChanged  # noqa: UP040
    Bell: TypeAlias = terminal_messages.Bell  # noqa: UP040
    ClipboardQuestion: TypeAlias = terminal_messages.ClipboardQuestion  # noqa: UP040
    ClipboardSet: TypeAlias = terminal_messages.ClipboardSet  # noqa: UP040
    PasteQuestion: TypeAlias = terminal_messages.PasteQuestion  # noqa: UP040

    def __init__(
        self,
        port: TerminalPort,
        *,
        app_keys: Collection[str] = frozenset(),
        scrollback_keys: Collection[str] = DEFAULT_SCROLLBACK_KEYS,
        allow_clipboard_write: bool = False,
        clipboard_gate: ClipboardGate | None = None,
        confirm_paste_lines: bool = False,
        offer_upload: bool = False,
        on_history: OpenHistory | None = None,
        history_is_tmux: Callable[[], bool] | None = None,
        status_rows: int = 0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.port = port
        self.allow_clipboard_write = allow_clipboard_write
        self.clipboard_gate = clipboard_gate
        self.confirm_paste_lines = confirm_paste_lines
        self.offer_upload = offer_upload
        """A paste of existing local file paths at a prompt (not full-screen) is offered as
        an upload first (``paste_upload = "ask"``)."""
        # Opens the scrollback view; without it shift+PageUp and the wheel scroll locally.
        self._on_history = on_history
        # Whether the tab shows a tmux client: its alternate screen is tmux's, not a
        # full-screen program's, so the wheel opens the pane's history instead of sending
        # arrows (the view sends them on when it finds such a program in the pane; tmux with
        # ``mouse on`` tracks the mouse and gets the wheel itself).
        self._history_is_tmux = history_is_tmux or (lambda: False)
        self._app_keys = frozenset(app_keys)
        self._scrollback_keys = frozenset(scrollback_keys)
        self._frame = TerminalFrame()
        self._pacer = FramePacer()
        self._frame_timer: Timer | None = None
        self._sync_since: float | None = None
        self._selection: Selection | None = None
        self._selecting = False
        self._predict_timer: Timer | None = None
        self.on_typed: TypedListener | None = None
        """Told of every key and paste the user sends the remote (broadcast input)."""
        self.on_background_output: Callable[[], None] | None = None
        """Set by the tab while it is in the background: told when a frame shows new
        output of the remote's pane (the tab label marks it)."""
        # The bottom rows that are tmux's status line (redrawn every status-interval, a clock
        # in it): what changes there is not the pane's output.
        self._status_rows = status_rows
        self._last_bell = float("-inf")
        self._bell_timer: Timer | None = None
        port.watch(self)

    @property
    def snapshot(self) -> Snapshot | None:
        """What the last frame drew, or None before the first frame."""
        return self._frame.snapshot

    @property
    def frames_drawn(self) -> int:
        """Frames drawn so far."""
        return self._frame.frames_drawn

    @property
    def strips_built(self) -> int:
        """Row strips built so far (a row unchanged since the last frame is not rebuilt)."""
        return self._frame.strips_built

    # -- output: port -> screen -------------------------------------------------------

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
        if not self.port.synchronized_output:
            self._sync_since = None
            return False
        if self._sync_since is None:
            self._sync_since = now
        return now - self._sync_since < SYNC_HOLD_TIMEOUT

    def draw_frame(self) -> None:
        """Read a snapshot, rebuild strips of changed rows and refresh only their lines."""
        previous = self._frame.snapshot
        self._refresh_lines(self._frame.draw(self.port.snapshot()))
        self._update_predictions(observe=True)
        if self.on_background_output is not None and pane_output(
            previous, self._frame.snapshot, self._status_rows
        ):
            self.on_background_output()

    # -- predictive echo --------------------------------------------------------------

    @property
    def overlay(self) -> Overlay:
        """The predicted cells and cursor drawn over the last frame."""
        return self._frame.overlay

    def _update_predictions(self, *, observe: bool) -> None:
        """Check the guesses against the drawn frame (``observe``) and repaint their rows."""
        snapshot = self._frame.snapshot
        if snapshot is None:
            return
        lines = self._frame.predict(self.port.prediction(snapshot, observe=observe))
        if lines:
            self._refresh_lines(lines)
        self._arm_predict_timer()

    def _arm_predict_timer(self) -> None:
        """Wake up when a guess may time out or turn into a glitch, though nothing arrived."""
        if self._predict_timer is not None:
            self._predict_timer.stop()
            self._predict_timer = None
        deadline = self.port.prediction_deadline()
        if deadline is None or not self.is_mounted:
            return
        delay = max(MIN_TIMER_DELAY, deadline - time.monotonic())
        self._predict_timer = self.set_timer(delay, self._predict_timer_fired, name="predict")

    def _predict_timer_fired(self) -> None:
        self._predict_timer = None
        self._update_predictions(observe=True)

    def _refresh_lines(self, lines: ChangedLines) -> None:
        """Send ``lines`` to the screen again (None, or most of them: the whole widget)."""
        if lines is None or len(lines) >= self.size.height:
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
        return self._frame.line(
            y,
            self.size.width,
            self._selection,
            focused=self.has_focus,
            cursor_colour=lambda: self.port.cursor_colour,
        )

    # -- size -----------------------------------------------------------------------

    def on_mount(self) -> None:
        """Ask the session for the widget's size and draw the first frame."""
        self._fit_terminal()
        self.output_arrived()

    def on_resize(self, event: events.Resize) -> None:
        """Ask the session for the widget's new size (its emulator and the remote's)."""
        event.stop()
        self._fit_terminal()
        self.output_arrived()

    def _fit_terminal(self) -> None:
        columns, rows = self.size.width, self.size.height
        if columns < 1 or rows < 1 or (columns, rows) == self.port.size:
            return
        self.port.resize(columns, rows)

    # -- input: keyboard, paste, mouse -> remote -----------------------------------

    def on_key(self, event: events.Key) -> None:
        """Every key belongs to the remote, except the app's own and the scrollback keys."""
        if event.key in self._app_keys:
            return
        event.stop()
        event.prevent_default()
        if event.key in self._scrollback_keys:
            if event.key == "shift+pageup" and self._on_history is not None:
                # Already a page up, as shift+PageUp moves in any terminal.
                self._on_history(HISTORY_PAGE_UP)
                return
            self._scroll_by_key(event.key)
            return
        self.send_key(event.key, event.character)
        if self.on_typed is not None:
            self.on_typed(TypedKey(event.key, event.character))

    def action_open_scrollback(self) -> None:
        """Open the scrollback view over this terminal (the app's prefix action); skipped,
        so the app can say so, when this tab has none."""
        if self._on_history is None:
            raise SkipAction()
        self._on_history(0)

    def send_key(self, key: str, character: str | None) -> None:
        """Encode a key for the remote and send it (the scrollback view passes keys on)."""
        data = self.port.encoder.key(key, character)
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
            text,
            bracketed=self.port.bracketed_paste,
            confirm_lines=self.confirm_paste_lines,
            # Whether a full-screen program runs is the pane's business (the session asks
            # tmux: under tmux this emulator is always on the alternate screen).
            offer_upload=self.offer_upload,
            is_file=os.path.isfile,
            home=str(Path.home()),
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
        self._send(self.port.encoder.paste(text))

    def receive_typed(self, typed: Typed) -> None:
        """Typing from another tab (broadcast input), encoded for this remote's modes."""
        if isinstance(typed, TypedKey):
            self.send_key(typed.key, typed.character)
        elif typed.text:
            self.send_paste(typed.text)

    def _send(self, data: bytes) -> None:
        # Typing returns to the live screen, as every terminal does.
        if self.port.scroll_offset:
            self.port.scroll_to_bottom()
            self.output_arrived()
        self._clear_selection()
        self.port.send_typed(data)
        self._update_predictions(observe=False)

    def _scroll_by_key(self, key: str) -> None:
        page = max(1, self.port.size[1] - 1)
        if key == "shift+end":
            self.port.scroll_to_bottom()
        elif key == "shift+home":
            self.port.scroll_viewport(-(1 << 30))
        else:
            self.port.scroll_viewport(-page if key == "shift+pageup" else page)
        self.output_arrived()

    def _remote_tracks_mouse(self, event: events.MouseEvent) -> bool:
        # Shift lets the user select locally even when the remote tracks the mouse (xterm).
        tracking = self.port.mouse_tracking
        return tracking is not MouseTracking.NONE and not event.shift

    def _cell(self, event: events.MouseEvent) -> tuple[int, int]:
        offset = event.get_content_offset_capture(self)
        columns, rows = self.port.size
        return min(max(offset.x, 0), columns - 1), min(max(offset.y, 0), rows - 1)

    def _send_mouse(
        self, event: events.MouseEvent, action: MouseAction, button: MouseButton
    ) -> None:
        x, y = self._cell(event)
        data = self.port.encoder.mouse(action, x, y, button, mouse_modifiers(event))
        if data:
            self.port.send(data)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Report the press to a tracking remote, or start a local selection."""
        event.stop()
        self.focus()
        self.capture_mouse()
        if self._remote_tracks_mouse(event):
            button = mouse_button(event)
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
            button = mouse_button(event)
            self._send_mouse(event, MouseAction.MOTION, button)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """Finish: report the release, or copy the selection to the clipboard."""
        event.stop()
        self.release_mouse()
        if self._selecting:
            self._selecting = False
            self._copy_selection()
        elif self._remote_tracks_mouse(event):
            button = mouse_button(event)
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
        elif rows < 0 and self._on_history is not None and self._history_is_tmux():
            self._on_history(-rows)  # the first tick already shows its lines up
        elif self.port.alternate_screen:
            # Full-screen programs (less, man) have no scrollback: xterm's alternateScroll
            # sends arrow keys instead.
            self.wheel_as_arrows(arrow)
        elif rows < 0 and self._on_history is not None:
            self._on_history(-rows)  # the first tick already shows its lines up
        else:
            self.port.scroll_viewport(rows)
            self.output_arrived()

    def wheel_as_arrows(self, arrow: str) -> None:
        """Send one wheel tick as xterm's alternateScroll does: ``WHEEL_STEP`` arrow keys."""
        self.port.send(self.port.encoder.key(arrow, None) * WHEEL_STEP)

    # -- selection ------------------------------------------------------------------

    def _set_selection(self, selection: Selection | None) -> None:
        self._selection = selection
        self.refresh()

    def _clear_selection(self) -> None:
        if self._selection is not None:
            self._set_selection(None)

    def _copy_selection(self) -> None:
        selection, snapshot = self._selection, self._frame.snapshot
        if selection is None or snapshot is None or selection.anchor == selection.head:
            self._clear_selection()
            return
        text = selected_text(snapshot.rows, selection, snapshot.columns)
        if text:
            self.app.copy_to_clipboard(text)

    # -- events from the remote (the port's TerminalListener) -----------------------

    def title_changed(self, title: str) -> None:
        """The remote set the title: the tab hears of it as a message."""
        self.post_message(self.TitleChanged(self, title))

    def bell(self) -> None:
        """The remote rang the bell: the app hears of it as a message, at most once per
        BELL_GAP; bells within the gap become one more, at its end (none is lost, a flood
        costs ten messages a second)."""
        now = time.monotonic()
        if now - self._last_bell >= BELL_GAP:
            self._ring(now)
        elif self._bell_timer is None and self.is_mounted:
            delay = max(MIN_TIMER_DELAY, self._last_bell + BELL_GAP - now)
            self._bell_timer = self.set_timer(delay, self._deferred_bell, name="bell")

    def _deferred_bell(self) -> None:
        self._bell_timer = None
        self._ring(time.monotonic())

    def _ring(self, now: float) -> None:
        self._last_bell = now
        self.post_message(self.Bell(self))

    def clipboard_written(self, request: ClipboardWrite) -> None:
        """The remote asked to set the clipboard: allowed, asked about, or ignored."""
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
