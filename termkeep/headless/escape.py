"""ssh-style escape sequences on the keyboard input: Enter ``~`` ``.`` quits.

Like OpenSSH, the escape character is only special right after a newline (or at the very
start), so a ``~`` in the middle of a line goes to the remote untouched. ``~~`` sends one
``~``; ``~?`` lists the escapes; ``~.`` disconnects; ``~R`` reconnects at once; any other
character after ``~`` is sent along with the ``~``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

ESCAPE_CHAR = ord("~")
_LINE_ENDS = frozenset({ord("\r"), ord("\n")})

HELP_TEXT = (
    "Supported escape sequences (after Enter):\r\n"
    " ~.  - disconnect\r\n"
    " ~R  - reconnect now\r\n"
    " ~?  - this message\r\n"
    " ~~  - send the escape character\r\n"
)


class EscapeCommand(Enum):
    """What the user asked for with an escape sequence."""

    DISCONNECT = auto()
    RECONNECT = auto()
    HELP = auto()


@dataclass(slots=True)
class EscapeResult:
    """Bytes to send to the remote, and the commands found, in order."""

    to_remote: bytes = b""
    commands: list[EscapeCommand] = field(default_factory=list)


_COMMANDS = {
    ord("."): EscapeCommand.DISCONNECT,
    ord("R"): EscapeCommand.RECONNECT,
    ord("?"): EscapeCommand.HELP,
}


class EscapeScanner:
    """Scans keyboard input chunk by chunk; a sequence may be split across chunks."""

    def __init__(self) -> None:
        self._at_line_start = True
        self._escape_pending = False

    def feed(self, data: bytes) -> EscapeResult:
        """Split ``data`` into what goes to the remote and the escape commands typed."""
        result = EscapeResult()
        out = bytearray()
        for byte in data:
            if self._escape_pending:
                self._escape_pending = False
                command = _COMMANDS.get(byte)
                if command is not None:
                    result.commands.append(command)
                    self._at_line_start = command is EscapeCommand.HELP
                    continue
                if byte != ESCAPE_CHAR:
                    out.append(ESCAPE_CHAR)
                out.append(byte)
            elif byte == ESCAPE_CHAR and self._at_line_start:
                self._escape_pending = True
                continue
            else:
                out.append(byte)
            self._at_line_start = byte in _LINE_ENDS
        result.to_remote = bytes(out)
        return result
