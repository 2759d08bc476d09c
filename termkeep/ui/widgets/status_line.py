"""The one-line status under each tab: who, what state and why, contact age, RTT, retries."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from termkeep.supervisor.phase import Phase
from termkeep.terminal.durations import STATUS, duration_text, milliseconds_text
from termkeep.ui.session_api import StatusSnapshot

MARKERS: dict[Phase, tuple[str, str]] = {
    Phase.IDLE: ("○", "$text-muted"),
    Phase.CONNECTING: ("○", "$accent"),
    Phase.ATTACHED: ("●", "$success"),
    Phase.STALLED: ("◐", "$warning"),
    Phase.RECONNECTING: ("↻", "$warning"),
    Phase.NEEDS_USER: ("?", "$accent"),
    Phase.DETACHED: ("◇", "$secondary"),
    Phase.ENDED: ("■", "$text-muted"),
    Phase.FAILED: ("✕", "$error"),
    Phase.CLOSED: ("■", "$text-muted"),
}
"""Glyph and theme colour per state: distinct shapes, so colour is never the only cue."""

_WORDS: dict[Phase, str] = {
    Phase.IDLE: "not started",
    Phase.NEEDS_USER: "waiting for you",
    Phase.DETACHED: "detached (tmux session kept on the server)",
}
"""The phases a status line words differently from their name."""


def marker(state: Phase) -> Content:
    """The coloured state glyph for a tab label or the status line."""
    glyph, colour = MARKERS[state]
    return Content.styled(glyph, f"bold {colour}")


def status_parts(status: StatusSnapshot) -> list[str]:
    """The status line's fields after the marker, in plain words."""
    state = _WORDS.get(status.state, status.state)
    if status.cause and status.state is not Phase.ATTACHED:
        state = f"{state}: {status.cause}"
    parts = [status.destination, state]
    if status.transfer:
        parts.append(status.transfer)
    age = status.last_contact_age
    if age is not None and _contact_worth_showing(status.state, age):
        parts.append(f"last contact {duration_text(age, STATUS)} ago")
    if status.rtt is not None:
        parts.append(f"rtt {milliseconds_text(status.rtt)}")
    if status.state is Phase.RECONNECTING:
        retry = f"attempt {status.attempt}"
        if status.retry_in is not None:
            retry += f", next try in {duration_text(status.retry_in, STATUS)}"
        parts.append(retry)
    if status.held:
        parts.append(f"{status.held} byte{'s' if status.held != 1 else ''} held")
    if status.tunnels:
        tunnels = f"{status.tunnels} tunnel{'s' if status.tunnels != 1 else ''}"
        if status.tunnels_down:
            tunnels += f", {status.tunnels_down} down"
        parts.append(tunnels)
    return parts


QUIET_CONTACT_SECONDS = 5.0
"""While attached, a last contact younger than this is normal keepalive rhythm: it is left
off, so a healthy tab's status line stays still (and costs no repaint every second)."""


def _contact_worth_showing(state: Phase, age: float) -> bool:
    return state is not Phase.ATTACHED or age >= QUIET_CONTACT_SECONDS


def status_content(
    status: StatusSnapshot,
    note: Content | None = None,
    flash: Content | None = None,
    marked: Content | None = None,
) -> Content:
    """The whole status line as styled content; ``note`` (broadcast input), ``flash`` (a
    passing announcement: the clipboard was set) and ``marked`` (other tabs with news) come
    first, so a narrow window never cuts them off."""
    parts = " · ".join(status_parts(status))
    pieces: list[Content | str] = [marker(status.state), " "]
    for piece in (note, flash, marked):
        if piece is not None:
            pieces += [piece, " · "]
    return Content.assemble(*pieces, parts)


class StatusLine(Widget):
    """Shows a StatusSnapshot; the owning pane calls ``show`` on every change and tick."""

    DEFAULT_CLASSES = "status-line"

    def __init__(self) -> None:
        super().__init__()
        self._content = Content("")
        self._shown: tuple[str, Phase] | None = None

    def show(
        self,
        status: StatusSnapshot,
        note: Content | None = None,
        flash: Content | None = None,
        marked: Content | None = None,
    ) -> None:
        """Repaint for ``status`` (with the tab's broadcast ``note``, a passing ``flash`` and
        the count of ``marked`` tabs) if the line changed; the state is also a CSS class, and
        so are a note (``-broadcast``) and a flash (``-flash``)."""
        for state in Phase:
            self.set_class(state is status.state, f"-{state.value}")
        self.set_class(note is not None, "-broadcast")
        self.set_class(flash is not None, "-flash")
        content = status_content(status, note, flash, marked)
        # Content equality ignores styles, so the state (which sets the colours) is compared too.
        shown = (content.plain, status.state)
        if shown != self._shown:
            self._shown = shown
            self._content = content
            # One line of fixed height: a repaint, never a layout of the whole screen.
            self.refresh()

    def render(self) -> Content:
        """The current line."""
        return self._content
