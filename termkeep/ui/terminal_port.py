"""What a terminal view needs from the session it shows: a TerminalPort.

The session owns its emulator: it feeds it the remote's bytes, resizes it together with the
remote PTY, answers the remote's queries (those replies never pass through a view) and keeps
the predictor of typed keys in step with the link. A view only reads what to draw, asks for
a size, sends what the user types and draws the predictor's guesses over the frame; it hears
of new output, titles, bells and clipboard writes as a TerminalListener it registers with
``watch``. ``termkeep.session.tab.SessionTerminal`` is the implementation.
"""

from __future__ import annotations

from typing import Protocol

from termkeep.terminal.clipboard import ClipboardWrite
from termkeep.terminal.emulator import MouseTracking, ScreenRow, Snapshot
from termkeep.terminal.keys import InputEncoder
from termkeep.terminal.palette import RGB
from termkeep.terminal.predict_overlay import Overlay


class TerminalListener(Protocol):
    """What a port tells the view that watches it, on the event loop."""

    def output_arrived(self) -> None:
        """The screen changed (output, a new palette, a guess taken back): draw a frame."""
        ...

    def title_changed(self, title: str) -> None:
        """The remote set the window title (already sanitised)."""
        ...

    def bell(self) -> None:
        """The remote rang the bell."""
        ...

    def clipboard_written(self, request: ClipboardWrite) -> None:
        """The remote asked to set the local clipboard (OSC 52)."""
        ...


class TerminalPort(Protocol):
    """A session's terminal as a view sees it (see the module's notes)."""

    # -- the screen -------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        """The terminal's (columns, rows)."""
        ...

    def snapshot(self) -> Snapshot:
        """What the terminal shows now; unchanged rows are the same objects as before."""
        ...

    def history(self) -> tuple[ScreenRow, ...]:
        """The scrollback rows above the screen, oldest first."""
        ...

    @property
    def title(self) -> str:
        """The window title the remote set (sanitised), or an empty string."""
        ...

    @property
    def cursor_colour(self) -> RGB:
        """The theme's cursor colour."""
        ...

    # -- the remote's modes, on hot paths one at a time ------------------------------

    @property
    def bracketed_paste(self) -> bool:
        """Whether the remote asked for bracketed paste (mode 2004)."""
        ...

    @property
    def alternate_screen(self) -> bool:
        """Whether a full-screen program switched to the alternate screen."""
        ...

    @property
    def mouse_tracking(self) -> MouseTracking:
        """Which mouse events the remote asked to receive."""
        ...

    @property
    def synchronized_output(self) -> bool:
        """Whether the remote is in the middle of a synchronized update (mode 2026)."""
        ...

    # -- the viewport into the scrollback ----------------------------------------------

    @property
    def scroll_offset(self) -> int:
        """How many rows the viewport is scrolled back (0: the live screen)."""
        ...

    def scroll_viewport(self, delta: int) -> None:
        """Scroll the viewport by ``delta`` rows: negative goes back into the scrollback."""
        ...

    def scroll_to_bottom(self) -> None:
        """Show the live screen again."""
        ...

    # -- the session's side ------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """The remote's bytes: into the emulator, then the watchers hear of the output.
        The session calls it for what arrives; a view never does."""
        ...

    def resize(self, columns: int, rows: int) -> None:
        """The view's new size, for the emulator now and the remote PTY now or at reattach."""
        ...

    @property
    def encoder(self) -> InputEncoder:
        """Encodes keys, mouse events and pastes for this terminal's modes."""
        ...

    def send(self, data: bytes) -> None:
        """Bytes for the remote that no one typed (mouse reports, wheel arrows)."""
        ...

    def send_typed(self, data: bytes) -> None:
        """Bytes of a typed key or a paste: the predictor guesses their echo, then they go
        to the remote."""
        ...

    def prediction(self, frame: Snapshot, *, observe: bool) -> Overlay:
        """The guesses to draw over ``frame`` (the last one drawn), checked against it first
        when ``observe``."""
        ...

    def prediction_deadline(self) -> float | None:
        """When (monotonic time) the guesses should be checked again though nothing
        arrived, or None."""
        ...

    def watch(self, listener: TerminalListener) -> None:
        """Tell ``listener`` of output, titles, bells and clipboard writes from now on."""
        ...
