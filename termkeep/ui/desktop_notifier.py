"""Bells and desktop notifications, written to the terminal termkeep runs in.

A bell of the tab in front rings as the terminal's own bell. A bell or the end of a long
output in a background tab becomes a desktop notification when the ``notify`` setting (or
the tab's profile) asks for it: one escape sequence (``terminal.desktop_notify``), wrapped in
tmux's passthrough when termkeep runs inside tmux. The first time it is, the outer tmux is
asked whether it lets the sequence through; if not, the user is told once how to allow it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from termkeep.config.profile import Profile
from termkeep.config.settings import Notify, NotifyVia, Settings
from termkeep.platform.outer_tmux import outer_tmux_socket, passthrough_allowed
from termkeep.terminal.activity import Mark
from termkeep.terminal.desktop_notify import Escape, escape_for, notification, tmux_passthrough

PHRASES = {Mark.BELL: "bell rang", Mark.DONE: "output finished"}
"""The fixed words after the tab label: never anything the remote printed."""

PASSTHROUGH_OFF = (
    "Desktop notifications cannot leave the tmux termkeep runs in: its allow-passthrough "
    "option is off. Turn it on with: tmux set -g allow-passthrough on"
)

_WANTED = {
    Mark.BELL: frozenset({Notify.BELL, Notify.ALL}),
    Mark.DONE: frozenset({Notify.DONE, Notify.ALL}),
}


def notify_mode(profile: Profile | None, settings: Settings) -> Notify:
    """The profile's ``notify`` if it sets one, else the app-wide setting."""
    own = profile.notify if profile is not None else None
    return Notify(own or settings.notify)


def wanted(mode: Notify, what: Mark) -> bool:
    """Whether ``mode`` asks for a notification of ``what``."""
    return mode in _WANTED.get(what, frozenset())


class DesktopNotifier:
    """Writes bells and notifications to the outer terminal through ``write``; ``say`` tells
    the user something once (the app's own notification)."""

    def __init__(
        self,
        write: Callable[[str], None],
        say: Callable[[str], None],
        via: NotifyVia,
        environ: Mapping[str, str],
    ) -> None:
        self._write = write
        self._say = say
        self._environ = dict(environ)
        self.escape = (
            escape_for(environ.get("TERM_PROGRAM"), environ.get("TERM"))
            if via is NotifyVia.AUTO
            else Escape(via.value)
        )
        self.in_tmux = outer_tmux_socket(environ) is not None
        self._checking: asyncio.Task[bool | None] | None = None

    def bell(self) -> None:
        """Ring the outer terminal's bell (the tab in front rang)."""
        self._write("\x07")

    def notify(self, label: str, what: Mark) -> None:
        """Send one desktop notification: ``label`` and the fixed phrase for ``what``."""
        sequence = notification(self.escape, label, PHRASES[what])
        if self.in_tmux:
            sequence = tmux_passthrough(sequence)
            self._check_passthrough()
        self._write(sequence)

    def passthrough_checked(self) -> bool:
        """Whether the outer tmux has answered (or failed to) the passthrough question."""
        return self._checking is not None and self._checking.done()

    def _check_passthrough(self) -> None:
        if self._checking is not None:
            return  # asked once per run
        self._checking = asyncio.get_running_loop().create_task(passthrough_allowed(self._environ))
        self._checking.add_done_callback(self._checked)

    def _checked(self, task: asyncio.Task[bool | None]) -> None:
        if not task.cancelled() and task.exception() is None and task.result() is False:
            self._say(PASSTHROUGH_OFF)
