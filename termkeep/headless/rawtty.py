"""The headless commands' local terminal: ``platform.tty.RawTerminal`` plus termkeep's own
status lines, shown with ssh's rules."""

from __future__ import annotations

from termkeep.platform.tty import RawTerminal
from termkeep.terminal.ssh_text import ssh_visible


class LocalTerminal(RawTerminal):
    """stdin/stdout of this process; raw mode only when stdin is a terminal."""

    def message(self, text: str) -> None:
        """A status line of termkeep's own, on a line of its own (CR LF: raw mode). It may
        quote a server (a disconnect reason, a tmux error): shown with ssh's rules, so only
        the session's own stream reaches the terminal unfiltered."""
        shown = ssh_visible(text).replace("\n", "\r\n")
        self.write(f"\r\n[termkeep] {shown}\r\n".encode())
