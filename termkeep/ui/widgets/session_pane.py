"""One tab's content: the terminal body and its status line, following the session."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from termkeep.supervisor.phase import Phase
from termkeep.terminal.activity import Activity, DoneTimes, Mark
from termkeep.terminal.palette import Palette
from termkeep.terminal.paste import PasteCheck, dropped_files
from termkeep.ui import failures
from termkeep.ui.failures import TabBoundary
from termkeep.ui.plain_text import plain
from termkeep.ui.screens.clipboard import ClipboardWriteScreen, PasteConfirmScreen
from termkeep.ui.session_api import SessionLike, StatusSnapshot
from termkeep.ui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    # The view brings the terminal engine, loaded only when the first tab opens.
    from termkeep.ui.widgets.terminal_view import TerminalView

type TerminalFactory = Callable[[SessionLike], Widget]


@runtime_checkable
class ReportsOutput(Protocol):
    """A tab body that can tell of new output while the tab is in the background (the
    TerminalView; a body without it leaves the label unmarked)."""

    on_background_output: Callable[[], None] | None


_TROUBLE = frozenset({Phase.STALLED, Phase.RECONNECTING, Phase.NEEDS_USER, Phase.FAILED})

STATUS_TICK_SECONDS = 1.0
"""How often the status line re-reads the session, for contact age and retry countdown."""

FLASH_SECONDS = 10.0
"""How long a passing announcement (the clipboard was set) stays on the status line."""

DONE_TIMES = DoneTimes()
"""How long a background tab prints, then pauses, to be marked "done" (10 s, then 5 s)."""

REDRAW_SECONDS = 2.0
"""After an attach, tmux draws the whole screen again: output this soon after it is that
redraw, not news of the pane."""

MIN_TIMER_SECONDS = 0.001
"""Textual's timers reject a zero delay."""


class SessionPane(TabBoundary, Vertical):
    """Shows a session and tells the app when its state or title changes."""

    DEFAULT_CLASSES = "session-pane"

    class Changed(Message):
        """The session's state or title changed: what the tab label shows."""

        def __init__(self, pane: SessionPane, previous: Phase) -> None:
            super().__init__()
            self.pane = pane
            self.previous = previous

    class MarksChanged(Message):
        """The tab's marks (activity, bell, done) changed: its label and the count on the
        shown tab's status line follow."""

        def __init__(self, pane: SessionPane) -> None:
            super().__init__()
            self.pane = pane

    class Alert(Message):
        """A bell rang in this tab (``shown``: it is the tab in front), or its long output
        ended while it was in the background (``Mark.DONE``)."""

        def __init__(self, pane: SessionPane, what: Mark, *, shown: bool) -> None:
            super().__init__()
            self.pane = pane
            self.what = what
            self.shown = shown

    class ClipboardSet(Message):
        """This tab's remote set the local clipboard: the tab on screen announces it."""

        def __init__(self, pane: SessionPane, characters: int) -> None:
            super().__init__()
            self.pane = pane
            self.characters = characters

    def __init__(
        self,
        session: SessionLike,
        terminal_factory: TerminalFactory,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.session = session
        self.custom_label: str | None = None
        """Set by "rename"; wins over the remote's title."""
        self._terminal_factory = terminal_factory
        self._status = session.status()
        self._status_ticker: Timer | None = None
        self._ticking = True
        self.failure: str | None = None
        """Set when one of the tab's parts failed unexpectedly: what the tab shows."""
        self._recorded: set[str] = set()
        self.broadcast_note: Content | None = None
        """What the status line says of broadcast input for this tab (sending or receiving)."""
        self.broadcast_mark: Content | None = None
        """The tab label's broadcast mark (this tab sends, or receives, typing)."""
        self._flash: Content | None = None
        self._flash_timer: Timer | None = None
        self.activity = Activity(DONE_TIMES)
        """What the tab did while in the background, for its label (cleared when shown)."""
        self.marked_note: Content | None = None
        """What the status line says of the other tabs' marks (on the shown tab only)."""
        self._shown = False
        self._done_timer: Timer | None = None
        self._attached_at = float("-inf")

    @property
    def status(self) -> StatusSnapshot:
        """The last status read from the session."""
        return self._status

    @property
    def label(self) -> str:
        """Rename, else the remote's title, else the session's own label (the profile name,
        numbered from the profile's second tab on)."""
        return self.custom_label or self._status.title or self.session.label

    def compose(self) -> ComposeResult:
        yield self._terminal_factory(self.session)
        yield StatusLine()

    def on_mount(self) -> None:
        self.query_one(StatusLine).show(
            self._status, self.broadcast_note, self._flash, self.marked_note
        )
        self.session.add_listener(self._guarded(self._session_changed, "the status listener"))
        self.session.add_notice_listener(self._guarded(self.announce, "the notice listener"))
        self._status_ticker = self.set_interval(
            STATUS_TICK_SECONDS, self.refresh_status, pause=not self._ticking
        )
        self.set_shown(self._shown)  # the body exists now: it reports output if in the back
        # Start after the first layout, so the terminal has told the session its size and
        # the remote PTY opens at the size the tab really has.
        self.call_after_refresh(self._start_session)

    def set_ticking(self, ticking: bool) -> None:
        """Tick the status line (contact age, retry countdown) only while the tab is shown.

        A background tab needs no tick: the session's listener still reports every change
        of state or title (all its label shows), and ``refresh_status`` brings the line up
        to date when the tab is shown. Ten idle tabs then wake the app once a second, not
        ten times.
        """
        self._ticking = ticking
        if self._status_ticker is None:
            return  # on_mount starts the ticker as asked
        if ticking:
            self._status_ticker.resume()
        else:
            self._status_ticker.pause()

    # -- background tabs: activity, bell, done --------------------------------------------

    @property
    def shown(self) -> bool:
        """Whether this is the tab in front."""
        return self._shown

    def set_shown(self, shown: bool) -> None:
        """The tab came to the front (its marks clear: the user sees it) or went to the
        background (its terminal reports new output from now on). Nothing runs for a tab
        that prints nothing: the body reports output as frames are drawn, and a check for
        the end of a run is set only while output flows."""
        self._shown = shown
        body = self.body
        if isinstance(body, ReportsOutput):
            body.on_background_output = None if shown else self._background_output
        if shown:
            if self._done_timer is not None:
                self._done_timer.stop()
                self._done_timer = None
            if self.activity.clear():
                self.post_message(self.MarksChanged(self))

    def _background_output(self) -> None:
        now = time.monotonic()
        if self._status.state is not Phase.ATTACHED or now - self._attached_at < REDRAW_SECONDS:
            return  # a (re)attach's redraw, not the pane's output
        if self.activity.output(now):
            self.post_message(self.MarksChanged(self))
        if self._done_timer is None:
            self._arm_done_check(now)

    def _arm_done_check(self, now: float) -> None:
        due = self.activity.done_check_at()
        if due is None:
            return
        delay = max(MIN_TIMER_SECONDS, due - now)
        self._done_timer = self.set_timer(delay, self._check_done, name="done-check")

    def _check_done(self) -> None:
        self._done_timer = None
        now = time.monotonic()
        if self.activity.check_done(now):
            self.post_message(self.MarksChanged(self))
            self.post_message(self.Alert(self, Mark.DONE, shown=False))
        else:
            self._arm_done_check(now)  # output went on since the timer was set

    def on_terminal_view_bell(self, message: TerminalView.Bell) -> None:
        """The remote rang the bell: the app rings it for the tab in front; a background tab
        is marked, and the app may notify, once until the tab is shown (a program ringing
        in a loop must not flood the desktop)."""
        message.stop()
        if self._shown:
            self.post_message(self.Alert(self, Mark.BELL, shown=True))
        elif self.activity.bell():
            self.post_message(self.MarksChanged(self))
            self.post_message(self.Alert(self, Mark.BELL, shown=False))

    def _start_session(self) -> None:
        # A failed start is this tab's problem, not the app's (on_worker_state_changed).
        self.run_worker(self.session.start(), exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker of this tab ended with an error: the tab shows it."""
        error = event.worker.error
        if event.state is WorkerState.ERROR and isinstance(error, Exception):
            self.fail(error, f"the worker {event.worker.name or 'of the session'}")

    def fail(self, error: Exception, where: str) -> None:
        """Something of this tab raised unexpectedly: log it with its traceback, show it on
        the tab (once), and keep the app and the other tabs running."""
        if where not in self._recorded:  # a render fails every frame: log it once
            self._recorded.add(where)
            failures.record(error, where)
        if self.failure is not None:
            return
        self.failure = failures.short_description(error)
        self.notify(
            f"{self.label}: internal error ({self.failure}); details in {failures.log_file()}",
            severity="error",
            timeout=30,
        )
        self.refresh_status()

    def _guarded[*Args](
        self, callback: Callable[[*Args], None], where: str
    ) -> Callable[[*Args], None]:
        """``callback``, with what it raises handed to ``fail`` (the session calls it from
        its own code, where an exception would stop the session's loop)."""

        def guarded(*args: *Args) -> None:
            try:
                callback(*args)
            except Exception as error:
                self.fail(error, where)

        return guarded

    @property
    def body(self) -> Widget | None:
        """The terminal body (None until the pane is composed)."""
        return self.children[0] if self.children else None

    def focus_terminal(self) -> None:
        """Give the keyboard to the terminal body."""
        self.children[0].focus()

    def apply_palette(self, palette: Palette) -> None:
        """A new theme: the session paints with its colours and the body redraws."""
        self.session.set_palette(palette)
        if self.children:
            self.children[0].refresh()

    def announce(self, text: str) -> None:
        """Show a notice of the session (drops, reattaches with their duration, endings)."""
        trouble = self.session.status().state in _TROUBLE
        self.notify(f"{self.label}: {text}", severity="warning" if trouble else "information")

    def flash(self, text: str) -> None:
        """Show ``text`` on the status line for FLASH_SECONDS (a clipboard write)."""
        self._flash = plain(text)
        if self._flash_timer is not None:
            self._flash_timer.stop()
        self._flash_timer = self.set_timer(FLASH_SECONDS, self._flash_over, name="flash")
        self.refresh_status()

    def _flash_over(self) -> None:
        self._flash = None
        self._flash_timer = None
        self.refresh_status()

    # -- the clipboard, both ways: questions name this tab ------------------------------

    def on_terminal_view_clipboard_question(self, message: TerminalView.ClipboardQuestion) -> None:
        """This tab, in the background, wants to set the clipboard: ask (once per tab)."""
        message.stop()
        view = message.view

        def answered(allowed: bool | None) -> None:
            view.clipboard_answered(bool(allowed))

        self.app.push_screen(ClipboardWriteScreen(self.label, message.text), answered)

    def on_terminal_view_clipboard_set(self, message: TerminalView.ClipboardSet) -> None:
        """The remote's write reached the clipboard: the tab on screen says so."""
        message.stop()
        self.post_message(self.ClipboardSet(self, len(message.text)))

    def on_terminal_view_paste_question(self, message: TerminalView.PasteQuestion) -> None:
        """A paste waits on a question before it goes to the remote."""
        message.stop()

        def answered(go_on: bool | None) -> None:
            message.view.paste_answered(message, bool(go_on))

        if message.check is PasteCheck.UPLOAD_FILES:
            self.run_worker(self._offer_upload(message), exit_on_error=False)
        elif message.check is PasteCheck.SEVERAL_LINES:
            screen = PasteConfirmScreen(self.label, message.text, message.lines)
            self.app.push_screen(screen, answered)

    async def _offer_upload(self, message: TerminalView.PasteQuestion) -> None:
        """A paste of local file paths: upload them to where the shell is, or paste the
        text? Only at a shell prompt; anywhere else the paste goes on as text."""
        from termkeep.ui import transfer_flow  # noqa: PLC0415 - with the first paste of files
        from termkeep.ui.screens.transfers import PasteChoice, PasteUploadScreen  # noqa: PLC0415

        transfers = self.session.transfers
        paths = dropped_files(message.text, os.path.isfile, str(Path.home()))
        full_screen = message.view.port.alternate_screen  # what counts without tmux
        target = await transfer_flow.paste_target(self.session, full_screen=full_screen)
        if transfers is None or target is None or not paths:
            message.view.paste_answered(message, True)
            return
        question = PasteUploadScreen(self.label, paths, target.words, target.note)
        choice = await self.app.push_screen_wait(question)
        if choice == PasteChoice.UPLOAD:
            local = [Path(path) for path in paths]
            transfer_flow.queue_upload(self.app, transfers, self.label, local, target)
        message.view.paste_answered(message, choice == PasteChoice.PASTE)

    def on_terminal_view_title_changed(self) -> None:
        """The remote set a title: the label shows it (unless the tab was renamed)."""
        self.refresh_status()

    def _session_changed(self) -> None:
        """The session published a new status. A change of the round-trip time alone (every
        keystroke's ping brings one) waits for the next tick: repainting the status line
        just as the echo arrives would hold the terminal's frame back by up to two Textual
        refresh periods (Textual's screen timer runs one to two periods behind a repaint)."""
        if _only_rtt_moved(self._status, self.session.status()):
            return
        self.refresh_status()

    def refresh_status(self) -> None:
        """Re-read the session; tell the app when anything changed. The app and the tab bar
        call this too, so what it raises stops here, at the tab."""
        try:
            self._refresh_status()
        except Exception as error:
            self.fail(error, "showing the status")

    def _refresh_status(self) -> None:
        previous = self._status
        self._status = self._with_failure(self.session.status())
        if self._status.state is Phase.ATTACHED and previous.state is not Phase.ATTACHED:
            self._attached_at = time.monotonic()
        if not self.is_mounted:
            return
        # The label (and the app) only hear of what the label shows: state and title. They
        # hear first, so a tab whose status line fails still gets its label.
        if (previous.state, previous.title) != (self._status.state, self._status.title):
            self.post_message(self.Changed(self, previous.state))
        # Only the active tab's status line is on screen; hidden ones are brought up to date
        # when their tab is shown, so background tabs cost no repaints.
        if self.parent is not None and self.parent.display:
            self.query_one(StatusLine).show(
                self._status, self.broadcast_note, self._flash, self.marked_note
            )

    def _with_failure(self, status: StatusSnapshot) -> StatusSnapshot:
        if self.failure is None:
            return status
        return dataclasses.replace(
            status, state=Phase.FAILED, cause=f"internal error: {self.failure}"
        )


def _only_rtt_moved(shown: StatusSnapshot, new: StatusSnapshot) -> bool:
    """Whether ``new`` differs from ``shown`` only in the RTT and the ages (which the tick
    shows anyway)."""
    unchanged = dataclasses.replace(
        shown, rtt=new.rtt, last_contact_age=new.last_contact_age, retry_in=new.retry_in
    )
    return unchanged == new and shown.rtt is not None
