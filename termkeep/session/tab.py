"""A tab's terminal: the part of a session only the app's tabs have.

It owns the emulator (the remote's bytes are fed here, the size is set here), the predictor
of typed keys' echo (kept in step with the link: paused while keys are held, told each RTT)
and where the emulator's replies to the remote's queries go. The ui sees it as a
TerminalPort. Nothing here opens a connection: building a port loads no transport.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from termkeep.config.profile import Profile
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Update
from termkeep.terminal.clipboard import ClipboardWrite
from termkeep.terminal.emulator import Emulator, MouseTracking, ScreenRow, Snapshot
from termkeep.terminal.keys import InputEncoder
from termkeep.terminal.palette import RGB, Palette
from termkeep.terminal.predict import PredictMode, Predictor
from termkeep.terminal.predict_overlay import EMPTY_OVERLAY, Overlay


def predict_mode(profile: Profile, default: str) -> PredictMode:
    """The profile's ``predict`` if it sets one, else the app-wide ``default``."""
    return PredictMode(profile.predict or default)


type OutputListener = Callable[[], None]


class TerminalWatcher(Protocol):
    """Who shows a SessionTerminal (the ui's TerminalListener)."""

    def output_arrived(self) -> None: ...
    def title_changed(self, title: str) -> None: ...
    def bell(self) -> None: ...
    def clipboard_written(self, request: ClipboardWrite) -> None: ...


class SessionTerminal:
    """A session's terminal side, what a view shows (the ui's TerminalPort).

    It is the emulator's one owner: the remote's bytes are fed here, the size is set here
    (and passed on to ``on_resize``, the remote PTY's), the emulator's events go to the
    watchers from here. Typed bytes go through the predictor, if any, before ``send``. The
    emulator's replies to the remote's queries go where its ``write`` was pointed when it
    was made, never through a view.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        send: Callable[[bytes], object],
        predictor: Predictor | None = None,
        on_resize: Callable[[int, int], object] | None = None,
    ) -> None:
        self.emulator = emulator
        self.predictor = predictor
        self.encoder = InputEncoder(emulator)
        self._send = send
        self._on_resize = on_resize
        self._output_listeners: list[OutputListener] = []
        self._last_rtt: float | None = None
        self._watchers: list[TerminalWatcher] = []
        emulator.on_title = self._title_changed
        emulator.on_bell = self._bell
        emulator.on_clipboard_write = self._clipboard_written

    @classmethod
    def for_tab(
        cls,
        *,
        size: tuple[int, int],
        scrollback_lines: int,
        palette: Palette,
        predict: PredictMode,
        send: Callable[[bytes], object],
        reply: Callable[[bytes], object],
        on_resize: Callable[[int, int], object],
    ) -> SessionTerminal:
        """A tab's terminal: a fresh emulator whose replies go to ``reply`` (the session
        sends them to the connection that asked), and a predictor that waits for the
        first attach (keys typed before it are held, not echoed)."""
        predictor = Predictor(predict)
        predictor.pause()
        emulator = Emulator(*size, write=reply, scrollback_lines=scrollback_lines, palette=palette)
        return cls(emulator, send=send, predictor=predictor, on_resize=on_resize)

    # -- the screen -------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.emulator.size

    def snapshot(self) -> Snapshot:
        return self.emulator.snapshot()

    def history(self) -> tuple[ScreenRow, ...]:
        return self.emulator.history()

    @property
    def title(self) -> str:
        return self.emulator.title

    @property
    def cursor_colour(self) -> RGB:
        return self.emulator.palette.cursor

    @property
    def bracketed_paste(self) -> bool:
        return self.emulator.bracketed_paste

    @property
    def alternate_screen(self) -> bool:
        return self.emulator.alternate_screen

    @property
    def mouse_tracking(self) -> MouseTracking:
        return self.emulator.mouse_tracking

    @property
    def synchronized_output(self) -> bool:
        return self.emulator.synchronized_output

    @property
    def scroll_offset(self) -> int:
        return self.emulator.scroll_offset

    def scroll_viewport(self, delta: int) -> None:
        self.emulator.scroll_viewport(delta)

    def scroll_to_bottom(self) -> None:
        self.emulator.scroll_to_bottom()

    def set_palette(self, palette: Palette) -> None:
        """Paint with a new theme's terminal colours: a fresh frame, since cached rows
        carry the old ones."""
        self.emulator.palette = palette
        self.output_changed()

    # -- bytes in, size, bytes out -----------------------------------------------------

    def feed(self, data: bytes) -> None:
        """The remote's bytes: into the emulator (replies go out meanwhile), then the
        watchers redraw."""
        self.emulator.feed(data)
        self.output_changed()

    def resize(self, columns: int, rows: int) -> None:
        """The view's new size, for the emulator now and the remote PTY now or at reattach."""
        if (columns, rows) != self.emulator.size:
            self.emulator.resize(columns, rows)
        if self._on_resize is not None:
            self._on_resize(columns, rows)

    def send(self, data: bytes) -> None:
        """Bytes for the remote that no one typed (mouse reports, wheel arrows)."""
        self._send(data)

    def send_typed(self, data: bytes) -> None:
        """A typed key or a paste: its echo is guessed on the screen as it is, then it goes."""
        if self.predictor is not None:
            self.predictor.typed(data, self.emulator.snapshot(), time.monotonic())
        self._send(data)

    # -- predictive echo ---------------------------------------------------------------

    def prediction(self, frame: Snapshot, *, observe: bool) -> Overlay:
        """The guesses to draw over ``frame``, checked against it first when ``observe``."""
        predictor = self.predictor
        if predictor is None:
            return EMPTY_OVERLAY
        if observe:
            predictor.observe(frame, time.monotonic())
        return predictor.overlay()

    def prediction_deadline(self) -> float | None:
        return None if self.predictor is None else self.predictor.next_deadline()

    # -- the link, as the predictor needs it -------------------------------------------

    def follow_link(self, update: Update) -> None:
        """Keep the predictor in step with the link: its RTT, and whether keys are held
        (a supervisor's listener)."""
        predictor = self.predictor
        if predictor is None or not isinstance(update, Status):
            return
        if update.rtt is not None and update.rtt != self._last_rtt:
            self._last_rtt = update.rtt
            predictor.rtt_sample(update.rtt)
        attached = update.state is Phase.ATTACHED
        if attached == predictor.paused:
            if attached:
                predictor.resume(time.monotonic())
            else:
                predictor.pause()
            self.output_changed()

    def held_keys_fate(self, delivered: bool) -> None:
        """Keys held during an outage were delivered, or discarded: their guesses go with
        them, in the same step as the notice that says so (a supervisor's listener)."""
        predictor = self.predictor
        if predictor is None:
            return
        if not delivered:
            predictor.discard()
        predictor.resume(time.monotonic())
        self.output_changed()

    # -- who listens -------------------------------------------------------------------

    def watch(self, watcher: TerminalWatcher) -> None:
        """Tell ``watcher`` of output, titles, bells and clipboard writes from now on."""
        self._watchers.append(watcher)

    def on_output(self, listener: OutputListener) -> None:
        """Call ``listener`` after the screen changed (new bytes, a palette, a guess)."""
        self._output_listeners.append(listener)

    def output_changed(self) -> None:
        """Tell every watcher and listener that the screen changed."""
        for watcher in self._watchers:
            watcher.output_arrived()
        for listener in self._output_listeners:
            listener()

    def _title_changed(self, title: str) -> None:
        for watcher in self._watchers:
            watcher.title_changed(title)

    def _bell(self) -> None:
        for watcher in self._watchers:
            watcher.bell()

    def _clipboard_written(self, request: ClipboardWrite) -> None:
        for watcher in self._watchers:
            watcher.clipboard_written(request)
